// Knowledge-base editor: open a record, check it with the dialogue's validator (errors at their line),
// save it (previous version kept), retrain in the background with progress, reload the kiosks.
"use strict";

(async () => {
  const { el, api, dateTime } = Dash;
  const me = await Dash.start("/kb");
  const LINE_PX = 20; // keep in step with .editor textarea line-height in dashboard.css
  const PAD_PX = 6;
  const editor = document.getElementById("kb-editor");
  const gutter = document.getElementById("gutter");
  const box = document.getElementById("editor-box");
  const result = document.getElementById("kb-result");
  const errorList = document.getElementById("kb-errors");
  const buttons = { validate: document.getElementById("kb-validate"), save: document.getElementById("kb-save"),
    train: document.getElementById("kb-train") };
  const canEdit = me.role === "technician" || me.role === "admin";
  let current = null; // {id, sha256}
  let errors = [];
  editor.setAttribute("wrap", "off");

  function drawGutter() {
    const count = editor.value.split("\n").length;
    const bad = new Map(errors.filter((e) => e.line).map((e) => [e.line, e]));
    gutter.replaceChildren(...Array.from({ length: count }, (_, i) => {
      const e = bad.get(i + 1);
      return el("span", { class: e ? "bad" : "", title: e ? `${e.field}: ${e.reason}` : null,
        text: `${e ? "⚠ " : ""}${i + 1}\n` });
    }));
    gutter.scrollTop = editor.scrollTop;
    for (const old of box.querySelectorAll(".inline-error")) old.remove();
    for (const e of errors.filter((x) => x.line)) {
      const top = PAD_PX + (e.line - 1) * LINE_PX - editor.scrollTop;
      if (top < 0 || top > editor.clientHeight - LINE_PX) continue;
      box.append(el("div", { class: "inline-error", "data-testid": "inline-error", "data-field": e.field,
        "data-line": String(e.line), style: null, text: `⚠ ${e.field}: ${e.reason}` }));
      box.lastChild.style.top = `${top}px`;
    }
  }

  function showErrors(list) {
    errors = list.filter((e) => e.in_candidate !== false);
    const elsewhere = list.filter((e) => e.in_candidate === false);
    errorList.replaceChildren(...errors.map((e) => el("li", { "data-testid": "kb-error", "data-field": e.field,
      "data-line": e.line ? String(e.line) : "", onclick: () => goTo(e.line) },
    el("strong", { text: e.line ? `Dòng ${e.line}` : "Tệp" }), ` · ${e.field}: ${e.reason}`)),
    ...elsewhere.map((e) => el("li", { class: "muted", text: `${e.file}: ${e.field}: ${e.reason}` })));
    drawGutter();
    if (errors.length && errors[0].line) goTo(errors[0].line);
  }

  function goTo(line) {
    if (!line) return;
    const lines = editor.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    editor.focus();
    editor.setSelectionRange(start, start + lines[line - 1].length);
    editor.scrollTop = Math.max(0, (line - 4) * LINE_PX);
    drawGutter();
  }

  async function open(id) {
    const record = await api("GET", `/api/kb/records/${encodeURIComponent(id)}`);
    current = { id, sha256: record.sha256 };
    editor.value = record.yaml;
    editor.disabled = !canEdit;
    buttons.validate.disabled = buttons.save.disabled = !canEdit;
    document.getElementById("record-title").textContent = `Thủ tục: ${id}`;
    result.textContent = canEdit ? "" : "Chỉ kỹ thuật viên hoặc quản trị được sửa hồ sơ.";
    document.getElementById("history").replaceChildren(...record.history.map((h) =>
      el("li", { text: `${h.version} · ${dateTime(h.saved_unix_s)} · ${h.bytes} byte` })));
    for (const item of document.querySelectorAll("#records li")) item.classList.toggle("active", item.dataset.id === id);
    showErrors([]);
  }

  async function validate() {
    result.textContent = "Đang kiểm tra…";
    const r = await api("POST", `/api/kb/records/${encodeURIComponent(current.id)}/validate`, { yaml: editor.value });
    showErrors(r.errors);
    result.textContent = r.ok ? "✔ Hợp lệ" : `✖ ${r.errors.length} lỗi`;
    result.dataset.ok = String(r.ok);
    return r.ok;
  }

  async function save() {
    result.textContent = "Đang lưu…";
    try {
      const r = await api("PUT", `/api/kb/records/${encodeURIComponent(current.id)}`,
        { yaml: editor.value, base_sha256: current.sha256 });
      showErrors(r.errors);
      result.dataset.ok = String(r.ok);
      if (r.ok) {
        current.sha256 = r.sha256;
        result.textContent = "✔ Đã lưu (bản trước được giữ lại). Bấm “Huấn luyện lại” để kiosk dùng nội dung mới.";
        await open(current.id);
        result.textContent = "✔ Đã lưu (bản trước được giữ lại). Bấm “Huấn luyện lại” để kiosk dùng nội dung mới.";
      } else {
        result.textContent = `✖ Chưa lưu: ${r.errors.length} lỗi`;
      }
    } catch (error) {
      result.textContent = `✖ ${error.message}`;
    }
  }

  function showTraining(t) {
    const box = document.getElementById("train");
    box.dataset.state = t.state;
    document.getElementById("train-progress").value = t.progress || 0;
    const labels = { idle: "", running: "Đang huấn luyện", succeeded: "✔ Xong", failed: "✖ Thất bại" };
    document.getElementById("train-text").textContent =
      `${labels[t.state] || t.state}${t.stage ? ` · ${t.stage}` : ""} ${Math.round((t.progress || 0) * 100)}%` +
      (t.message ? ` — ${t.message}` : "");
    const details = [];
    for (const [kiosk, r] of Object.entries(t.reload || {})) details.push(`${kiosk}: ${r.success ? "✔" : "✖"} ${r.message}`);
    if (t.state === "failed") details.push(...(t.log || []));
    document.getElementById("train-details").replaceChildren(...details.map((d) => el("li", { text: d })));
    buttons.train.disabled = !canEdit || t.state === "running";
  }

  async function train() {
    try { showTraining(await api("POST", "/api/kb/train")); } catch (error) { result.textContent = `✖ ${error.message}`; }
  }

  buttons.validate.addEventListener("click", validate);
  buttons.save.addEventListener("click", save);
  buttons.train.addEventListener("click", train);
  editor.addEventListener("scroll", drawGutter);
  editor.addEventListener("input", () => { errors = []; errorList.replaceChildren(); drawGutter(); });

  const records = await api("GET", "/api/kb/records");
  const list = document.getElementById("records");
  function drawList(filter) {
    const f = filter.toLowerCase();
    list.replaceChildren(...records.filter((r) => !f || r.id.includes(f) || r.name.toLowerCase().includes(f))
      .map((r) => el("li", { "data-testid": "kb-record", "data-id": r.id, onclick: () => open(r.id) },
        el("strong", { text: r.name }), el("small", { text: r.id }))));
  }
  drawList("");
  document.getElementById("filter").addEventListener("input", (e) => drawList(e.target.value));
  showTraining(await api("GET", "/api/kb/train"));
  Dash.live((event) => {
    if (event.kind === "training") showTraining(event.training);
    if (event.kind === "snapshot" && event.training) showTraining(event.training);
  }, () => {});
  const wanted = new URLSearchParams(location.search).get("record");
  if (wanted) await open(wanted);
})();
