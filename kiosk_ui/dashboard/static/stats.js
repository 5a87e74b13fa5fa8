// Statistics: figures, server-side SVG charts, CSV exports, unanswered questions → KB examples.
"use strict";

(async () => {
  const { el, api, dateTime } = Dash;
  await Dash.start("/stats");
  const kioskSelect = document.getElementById("kiosk");
  const daysSelect = document.getElementById("days");
  let procedures = [];
  const CHARTS = ["by_day", "by_hour", "procedures", "sources", "ratings", "escalations"];
  const DATASETS = [["daily", "Theo ngày"], ["hourly", "Theo giờ"], ["procedures", "Thủ tục"],
    ["escalations", "Gặp cán bộ"], ["ratings", "Đánh giá"], ["unanswered", "Câu chưa trả lời"]];

  function query() {
    const q = new URLSearchParams({ days: daysSelect.value });
    if (kioskSelect.value) q.set("kiosk", kioskSelect.value);
    return q.toString();
  }

  function figure(label, value, testid) {
    return el("div", { class: "figure", "data-testid": testid }, el("span", { class: "value", text: value ?? "—" }),
      el("span", { class: "label", text: label }));
  }

  async function load() {
    const s = await api("GET", `/api/stats/summary?${query()}`);
    const known = new Set([...kioskSelect.options].map((o) => o.value));
    for (const k of s.kiosks) if (!known.has(k)) kioskSelect.append(el("option", { value: k, text: k }));
    const ack = s.time_to_acknowledge;
    document.getElementById("figures").replaceChildren(
      figure("câu hỏi", s.questions, "fig-questions"),
      figure("lượt tiếp", s.visits, "fig-visits"),
      figure("nói / gõ", `${s.spoken} / ${s.typed}`, "fig-sources"),
      figure("chưa trả lời được", s.unanswered, "fig-unanswered"),
      figure("gặp cán bộ", Object.values(s.escalations).reduce((a, b) => a + b, 0), "fig-escalations"),
      figure("thời gian đến (trung vị)", ack.median_s === null ? "—" : `${ack.median_s} s`, "fig-ack"),
      figure("hài lòng (1–5)", s.rating_mean, "fig-rating"));
    const stamp = Date.now();
    document.getElementById("charts").replaceChildren(...CHARTS.map((name) =>
      el("img", { src: `/api/stats/chart/${name}.svg?${query()}&t=${stamp}`, alt: name, "data-testid": `chart-${name}` })));
    document.getElementById("per-kiosk").replaceChildren(
      el("tr", {}, ...["Kiosk", "Câu hỏi", "Chưa trả lời", "Gặp cán bộ", "Lượt tiếp", "Hài lòng"].map((t) => el("th", { text: t }))),
      ...s.per_kiosk.map((r) => el("tr", {}, ...[r.kiosk, r.question, r.unanswered, r.escalation, r.visit,
        r.rating_mean ?? "—"].map((v) => el("td", { text: v })))));
    document.getElementById("exports").replaceChildren(...DATASETS.map(([name, label]) =>
      el("a", { href: `/api/stats/export.csv?dataset=${name}&${query()}`, class: "button secondary", text: label })));
    await loadUnanswered();
  }

  async function loadUnanswered() {
    const rows = await api("GET", `/api/stats/unanswered?${query()}&limit=50`);
    const table = document.getElementById("unanswered");
    table.replaceChildren(el("tr", {}, ...["Lúc", "Kiosk", "Câu hỏi", "Thêm làm ví dụ của thủ tục"]
      .map((t) => el("th", { text: t }))));
    for (const row of rows) {
      const select = el("select", { "data-testid": "example-procedure" },
        el("option", { value: "", text: "— chọn thủ tục —" }),
        ...procedures.map((p) => el("option", { value: p.id, text: p.name })));
      const status = el("span", { class: "muted", text: row.added_to ? `đã thêm vào ${row.added_to}` : "" });
      const button = el("button", { type: "button", "data-testid": "add-example", text: "Thêm", disabled: !!row.added_to,
        onclick: async () => {
          if (!select.value) { status.textContent = "Chọn thủ tục trước"; return; }
          button.disabled = true;
          try {
            const result = await api("POST", "/api/kb/examples", { procedure_id: select.value, message_id: row.message_id });
            status.textContent = result.ok ? (result.added ? "Đã thêm; cần huấn luyện lại" : "Đã có sẵn")
              : result.errors.map((e) => `${e.field}: ${e.reason}`).join("; ");
          } catch (error) { status.textContent = error.message; button.disabled = false; }
        } });
      table.append(el("tr", { "data-testid": "unanswered-row", "data-message-id": row.message_id },
        el("td", { text: dateTime(row.unix_s) }), el("td", { text: row.kiosk }), el("td", { text: row.user_text }),
        el("td", {}, select, button, status)));
    }
  }

  procedures = await api("GET", "/api/kb/records");
  kioskSelect.addEventListener("change", load);
  daysSelect.addEventListener("change", load);
  await load();
})();
