// Live view: every kiosk's health and visit in progress; escalations with a visible and audible alert.
"use strict";

(async () => {
  const { el, api, time, ago } = Dash;
  await Dash.start("/");
  const kiosks = new Map(); // kiosk -> {health, conversation}
  const escalations = new Map(); // escalation_id -> row (open or acknowledged)
  const REASONS = { visitor_request: "Người dân muốn gặp cán bộ", repeated_failures: "Kiosk không hiểu nhiều lần",
    dialogue_error: "Kiosk gặp lỗi" };
  const LEVEL_VI = { OK: "Tốt", WARN: "Cảnh báo", ERROR: "Lỗi", STALE: "Mất tín hiệu" };

  // ---- sound: a short two-tone beep made with WebAudio (no sound file) ------------------------
  let audio = null;
  let beeps = 0;
  const soundButton = document.getElementById("sound");
  function audioContext() {
    if (!audio) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
      audio.addEventListener("statechange", () => { soundButton.hidden = audio.state === "running"; });
    }
    soundButton.hidden = audio.state === "running";
    return audio;
  }
  soundButton.addEventListener("click", async () => { await audioContext().resume(); soundButton.hidden = true; });
  document.addEventListener("click", () => { if (audio && audio.state !== "running") audio.resume(); });
  function beep() {
    const ctx = audioContext();
    if (ctx.state !== "running") ctx.resume();
    const start = ctx.currentTime + 0.01;
    [880, 660].forEach((freq, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = freq;
      const t = start + i * 0.25;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.22);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + 0.23);
    });
    beeps += 1;
    document.body.dataset.beeps = String(beeps);
    document.body.dataset.audioState = ctx.state;
  }
  setInterval(() => { // keep reminding while someone waits and nobody acknowledged
    if ([...escalations.values()].some((e) => e.status === "open")) beep();
  }, 15000);

  // ---- rendering --------------------------------------------------------------------------------
  function levelBadge(name, testid) {
    return el("span", { class: `badge ${name}`, "data-testid": testid, "data-level": name,
      text: LEVEL_VI[name] || name });
  }

  function hostLine(host) {
    if (!host || !Object.keys(host).length) return el("p", { class: "muted", text: "Chưa có số liệu máy" });
    return el("p", { class: "host", "data-testid": "host" },
      el("span", { text: `Máy ${host.hostname || "?"}` }),
      el("span", { "data-testid": "host-cpu", text: `CPU ${host.host_cpu_percent ?? "?"}%` }),
      el("span", { "data-testid": "host-ram", text: `RAM ${host.host_mem_used_percent ?? "?"}%` +
        (host.host_mem_available_mb ? ` (còn ${host.host_mem_available_mb} MB)` : "") }),
      el("span", { text: `tải ${host.host_load_1m ?? "?"}` }));
  }

  const SHOWN_VALUES = ["procedures", "model_sha256", "replies", "last_intent", "device", "model", "voice", "url",
    "session", "process_rss_mb"];

  function nodeRow(node) {
    const values = SHOWN_VALUES.filter((k) => node.values[k] !== undefined).map((k) => `${k}=${node.values[k]}`);
    return el("tr", { "data-testid": "node-row", "data-node": node.name, "data-level": node.level_name },
      el("td", { text: node.name }),
      el("td", {}, levelBadge(node.level_name, "node-level")),
      el("td", { text: node.lifecycle_state || "—" }),
      el("td", { class: "message" }, node.message, values.length ? el("small", { text: values.join(" · ") }) : null),
      el("td", { class: "muted", text: ago(node.last_heard_unix_s) }));
  }

  function conversationView(conversation) {
    const lines = (conversation && conversation.lines) || [];
    const box = el("div", { class: "conversation", "data-testid": "conversation" },
      el("h3", { text: conversation && conversation.session_id ? `Lượt tiếp đang diễn ra · ${conversation.session_id}`
        : "Không có người đang hỏi" }));
    for (const line of lines.slice(-12)) {
      box.append(el("p", { class: `line role-${line.role}${line.answered === false ? " unanswered" : ""}`,
        "data-testid": "line", "data-role": line.role },
        el("span", { class: "who", text: line.role === "citizen" ? (line.source === "voice" ? "Người dân (nói):"
          : "Người dân (gõ):") : "Kiosk:" }),
        el("span", { class: "text", text: line.text })));
    }
    return box;
  }

  function escalationCard(esc) {
    const waiting = Math.round(Date.now() / 1000 - esc.created_unix_s);
    const card = el("div", { class: `escalation ${esc.status}`, "data-testid": "escalation",
      "data-escalation-id": esc.escalation_id, "data-kiosk": esc.kiosk, "data-status": esc.status,
      "data-shown-unix-ms": String(esc.shownMs || Date.now()) },
      el("strong", { text: `${esc.kiosk}: ${REASONS[esc.reason] || esc.reason}` }),
      el("span", { class: "muted", text: ` · ${time(esc.created_unix_s)} (chờ ${waiting} giây)` }),
      esc.user_text ? el("p", { class: "quote", text: `“${esc.user_text}”` }) : null,
      esc.status === "acknowledged" ? el("p", { text: `✔ ${esc.acknowledged_by} đang đến` }) : null);
    const actions = el("div", { class: "actions" });
    if (esc.status === "open") {
      actions.append(el("button", { type: "button", "data-testid": "ack", text: "Tôi đang đến",
        onclick: () => act(esc, "acknowledge") }));
    }
    actions.append(el("button", { type: "button", class: "secondary", "data-testid": "resolve", text: "Đã xong",
      onclick: () => act(esc, "resolve") }));
    card.append(actions);
    return card;
  }

  async function act(esc, action) {
    try {
      const row = await api("POST", `/api/escalations/${encodeURIComponent(esc.escalation_id)}/${action}`, {});
      upsertEscalation(row);
      renderEscalations();
    } catch (error) {
      alert(`Không gửi được: ${error.message}`);
    }
  }

  function renderKiosks() {
    const grid = document.getElementById("kiosks");
    document.getElementById("no-kiosks").hidden = kiosks.size > 0;
    grid.replaceChildren(...[...kiosks.entries()].sort().map(([name, k]) => {
      const h = k.health || { nodes: [], level_name: "STALE" };
      return el("article", { class: "kiosk", "data-testid": "kiosk-card", "data-kiosk": name },
        el("header", {}, el("h2", { text: name }), levelBadge(h.level_name, "kiosk-level"),
          el("span", { class: "muted", text: `nghe thấy ${ago(h.last_heard_unix_s)}` })),
        hostLine(h.host),
        el("table", { class: "nodes" },
          el("thead", {}, el("tr", {}, ...["Node", "Trạng thái", "Vòng đời", "Thông báo", "Lần cuối"]
            .map((t) => el("th", { text: t })))),
          el("tbody", {}, ...(h.nodes || []).map(nodeRow))),
        conversationView(k.conversation));
    }));
  }

  function renderEscalations() {
    const open = [...escalations.values()].sort((a, b) => a.created_unix_s - b.created_unix_s);
    document.getElementById("escalations").replaceChildren(...open.map(escalationCard));
    const banner = document.getElementById("alert-banner");
    const waiting = open.filter((e) => e.status === "open");
    banner.hidden = waiting.length === 0;
    banner.textContent = waiting.length ? `⚠ ${waiting.length} người dân đang cần cán bộ hỗ trợ: ` +
      waiting.map((e) => e.kiosk).join(", ") : "";
    document.title = (waiting.length ? `(${waiting.length}) Cần hỗ trợ · ` : "") + "Trực tiếp · Bảng điều khiển cán bộ";
  }

  function kiosk(name) {
    if (!kiosks.has(name)) kiosks.set(name, { health: null, conversation: { lines: [] } });
    return kiosks.get(name);
  }

  function upsertEscalation(row, isNew) {
    if (row.status === "resolved") escalations.delete(row.escalation_id);
    else {
      const before = escalations.get(row.escalation_id);
      escalations.set(row.escalation_id, { ...row, shownMs: before ? before.shownMs : Date.now() });
      if (isNew && !before) beep();
    }
  }

  // ---- events -------------------------------------------------------------------------------------
  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    setTimeout(() => { renderQueued = false; renderKiosks(); }, 50);
  }

  function onEvent(event) {
    switch (event.kind) {
      case "snapshot":
        kiosks.clear();
        for (const k of event.kiosks) {
          kiosks.set(k.kiosk, { health: k, conversation: k.conversation });
          for (const e of k.escalations) upsertEscalation(e, false);
        }
        Dash.storageBanner(event.storage);
        renderEscalations();
        break;
      case "kiosk_health":
        kiosk(event.health.kiosk).health = event.health;
        break;
      case "turn": { // topics are not ordered with each other: a visit's line may come before its start
        const k = kiosk(event.kiosk);
        const sid = event.line.session_id || "";
        k.ended = k.ended || new Set();
        if (sid && k.ended.has(sid)) break; // a late line of a visit that already ended
        if (sid && sid !== k.conversation.session_id) k.conversation = { session_id: sid, lines: [] };
        const c = k.conversation;
        if (!c.lines.some((l) => l.id === event.line.id)) c.lines.push(event.line);
        break;
      }
      case "visit": { // the same rules as the server's LiveState.session
        const k = kiosk(event.kiosk);
        k.ended = k.ended || new Set();
        if (event.event === "started") {
          if (k.conversation.session_id !== event.session_id) {
            const kept = k.conversation.lines.filter((l) => l.session_id === event.session_id);
            k.conversation = { session_id: event.session_id, lines: kept };
          }
        } else {
          k.ended.add(event.session_id);
          if (["", event.session_id].includes(k.conversation.session_id)) k.conversation = { session_id: "", lines: [] };
        }
        break;
      }
      case "escalation_state":
        upsertEscalation(event.escalation, event.new);
        renderEscalations(); // at once: the alert must not wait for the next frame in a background tab
        return;
      case "storage":
        Dash.storageBanner(event.storage);
        break;
      default:
        return;
    }
    scheduleRender();
  }

  Dash.live(onEvent, (connected) => {
    document.body.dataset.connected = String(connected);
    const state = document.getElementById("link-state");
    state.className = `badge ${connected ? "OK" : "STALE"}`;
    state.textContent = connected ? "trực tuyến" : "mất kết nối, đang thử lại…";
  });
  audioContext();
  setInterval(() => { scheduleRender(); renderEscalations(); }, 5000); // "heard N s ago", waiting times
})();
