// Kiosk touchscreen page. Plain JS, no build step. All text goes through textContent (never
// innerHTML), so markup typed by a visitor or sent by any node shows as text.
(() => {
  "use strict";

  const cfg = JSON.parse(document.getElementById("kiosk-config").textContent || "{}");
  const $ = (id) => document.getElementById(id);
  const conv = $("conversation");
  const welcome = $("welcome");
  const input = $("ask-text");

  const TEXT = {
    idle: "Mời bà con nói hoặc chạm để hỏi",
    offline: "Mất kết nối, đang kết nối lại…",
    notHeard: "Xin lỗi, robot chưa nghe rõ. Xin bà con nói lại hoặc chạm để hỏi.",
    timeout: "Xin lỗi, robot chưa trả lời kịp. Xin bà con hỏi lại, hoặc bấm «Gọi cán bộ» để được hỗ trợ.",
    escalation: "Đã gọi cán bộ hỗ trợ, xin bà con chờ trong giây lát",
    empty: "Xin bà con nhập câu hỏi rồi bấm Gửi.",
    sendFailed: "Chưa gửi được câu hỏi. Xin bà con thử lại hoặc bấm «Gọi cán bộ».",
  };
  const COPY_KIND = {
    original: "Bản chính",
    copy: "Bản sao",
    certified_copy: "Bản sao có chứng thực",
    original_or_copy: "Bản chính hoặc bản sao",
    present: "Xuất trình bản chính để đối chiếu",
  };
  const METHOD = { in_person: "Nộp trực tiếp", online: "Nộp trực tuyến", post: "Qua bưu chính" };
  const FOCUS_SECTION = { papers: "papers", fee: "methods", time: "methods", where: "counter", online: "online" };

  let ws = null;
  let connected = false;
  let retryMs = 500;
  let replayLeft = 0;
  let waitTimer = null;
  let refCounter = 0;
  const escalated = new Set();

  // ---------- small DOM helpers (text only) ----------
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
    return node;
  }
  function str(value) {
    return value === undefined || value === null ? "" : String(value);
  }
  function list(value) {
    return Array.isArray(value) ? value : [];
  }

  // ---------- status line, indicators, notices ----------
  function setConnected(ok) {
    connected = ok;
    const status = $("status");
    status.textContent = ok ? TEXT.idle : TEXT.offline;
    status.classList.toggle("offline", !ok);
  }
  function setState(name, value) {
    const on = Boolean(value);
    if (name === "visitor_speaking" || name === "listening") $("ind-listening").hidden = !on;
    if (name === "robot_speaking" || name === "speaking") $("ind-speaking").hidden = !on;
  }
  let noticeTimer = null;
  function showNotice(text, seconds) {
    const notice = $("notice");
    notice.textContent = str(text);
    notice.hidden = !text;
    clearTimeout(noticeTimer);
    if (text && seconds) noticeTimer = setTimeout(() => { notice.hidden = true; }, seconds * 1000);
  }

  // ---------- waiting for a reply ----------
  function startWaiting() {
    clearTimeout(waitTimer);
    $("waiting").hidden = false;
    waitTimer = setTimeout(() => {
      stopWaiting();
      addTurn("system", "", TEXT.timeout);
      scrollToEnd();
    }, (Number(cfg.reply_timeout_s) || 15) * 1000);
  }
  function stopWaiting() {
    clearTimeout(waitTimer);
    waitTimer = null;
    $("waiting").hidden = true;
  }

  // ---------- conversation ----------
  function clearConversation() {
    conv.replaceChildren(welcome);
    welcome.hidden = false;
    escalated.clear();
  }
  function addTurn(who, label, text) {
    welcome.hidden = true;
    const turn = el("div", "turn " + who);
    if (label) turn.append(el("div", "who", label));
    turn.append(el("div", "bubble", text));
    conv.append(turn);
    return turn;
  }
  function scrollToEnd() {
    conv.scrollTop = conv.scrollHeight;
  }
  function scrollToTurn(turn) {
    conv.scrollTop = Math.max(0, turn.offsetTop - conv.offsetTop - 16);
  }

  // The visitor's question right above a reply, so both show together when they fit.
  function questionBefore(turn) {
    const prev = turn.previousElementSibling;
    const fits = prev && prev.classList.contains("visitor") &&
      turn.offsetTop + Math.min(turn.offsetHeight, conv.clientHeight / 2) - prev.offsetTop < conv.clientHeight;
    return fits ? prev : turn;
  }

  function escalationNote(key) {
    if (key && escalated.has(key)) return null;
    if (key) escalated.add(key);
    return el("div", "escalation-note", TEXT.escalation);
  }

  function choiceButtons(choices) {
    const box = el("div", "choices");
    for (const choice of list(choices)) {
      const text = str(choice && (choice.text || choice.label));
      if (!text) continue;
      const button = el("button", "btn choice", str(choice.label) || text);
      button.type = "button";
      button.addEventListener("click", () => send(text));
      box.append(button);
    }
    return box.childElementCount ? box : null;
  }

  function section(key, title) {
    const box = el("section", "section");
    box.dataset.section = key;
    box.append(el("h3", "", title));
    return box;
  }

  function procedureSections(proc) {
    const parts = [];
    const steps = list(proc.steps);
    if (steps.length) {
      const box = section("steps", "Các bước thực hiện");
      const ol = el("ol");
      for (const step of steps) ol.append(el("li", "", step));
      box.append(ol);
      parts.push(box);
    }
    const papers = list(proc.papers);
    if (papers.length) {
      const box = section("papers", "Giấy tờ cần mang");
      const ul = el("ul");
      for (const paper of papers) {
        const li = el("li");
        li.append(el("div", "paper-name", paper.name));
        const meta = [];
        const kind = str(paper.original_or_copy);
        if (kind) meta.push(COPY_KIND[kind] || kind);
        if (paper.quantity) meta.push("Số lượng: " + paper.quantity);
        if (paper.form) meta.push("Mẫu: " + paper.form);
        if (meta.length) li.append(el("div", "paper-meta", meta.join(" · ")));
        ul.append(li);
      }
      box.append(ul);
      parts.push(box);
    }
    const methods = list(proc.methods);
    if (methods.length) {
      const box = section("methods", "Thời gian và lệ phí");
      const ul = el("ul");
      for (const m of methods) {
        const li = el("li");
        li.append(el("div", "paper-name", METHOD[m.method] || m.method));
        if (m.processing_time) li.append(el("div", "", "Thời gian: " + m.processing_time));
        if (m.fee) li.append(el("div", "", "Lệ phí: " + m.fee));
        ul.append(li);
      }
      box.append(ul);
      parts.push(box);
    }
    const counter = proc.counter;
    if (counter && (counter.number || counter.label)) {
      const box = section("counter", "Nơi nộp hồ sơ");
      if (counter.number) box.append(el("div", "counter-big", "Quầy " + counter.number));
      if (counter.label) box.append(el("div", "", counter.label));
      parts.push(box);
    }
    const online = proc.online;
    if (online) {
      const box = section("online", "Làm trực tuyến");
      if (online.available) {
        box.append(el("div", "", "Có thể nộp trực tuyến" + (online.portal ? " trên " + online.portal : "")));
        if (online.url) box.append(el("div", "url", online.url));
        if (online.vneid) box.append(el("div", "", "Có thể làm trên ứng dụng VNeID."));
      } else {
        box.append(el("div", "", "Thủ tục này chưa nộp trực tuyến được, xin bà con nộp tại quầy."));
      }
      if (online.note) box.append(el("div", "small", online.note));
      parts.push(box);
    }
    if (proc.result) {
      const box = section("result", "Kết quả nhận được");
      box.append(el("div", "", proc.result));
      parts.push(box);
    }
    const focusKey = FOCUS_SECTION[str(proc.focus)];
    const focused = parts.find((p) => p.dataset.section === focusKey);
    if (focused) {
      focused.classList.add("focus");
      focused.insertBefore(el("div", "focus-tag", "Bà con đang hỏi phần này"), focused.firstChild);
      parts.splice(parts.indexOf(focused), 1);
      parts.unshift(focused);
    }
    return parts;
  }

  function legalBlock(proc) {
    const box = el("div", "legal");
    const laws = list(proc.legal_basis);
    if (laws.length) box.append(el("p", "", "Căn cứ pháp lý: " + laws.join("; ")));
    for (const src of list(proc.sources)) {
      const title = str(src && src.title);
      const url = str(src && src.url);
      box.append(el("p", "", "Nguồn: " + [title, url].filter(Boolean).join(" – ")));
    }
    if (proc.date_checked) box.append(el("p", "", "Thông tin kiểm tra ngày " + proc.date_checked));
    return box.childElementCount ? box : null;
  }

  function renderCard(card, reply) {
    if (!card || typeof card !== "object" || !card.type) return null;
    const box = el("article", "card card-" + str(card.type));
    const proc = card.type === "procedure" && card.procedure ? card.procedure : null;
    const title = str(card.title) || (proc ? str(proc.name) : "");
    const counter = proc && proc.counter && proc.counter.number ? "Quầy " + proc.counter.number : "";
    if (title || counter) {
      const head = el("div", "card-head");
      head.append(el("h2", "", title));
      if (counter) head.append(el("div", "counter-badge", counter));
      box.append(head);
    }
    if (proc) {
      if (proc.name && proc.name !== title) box.append(el("div", "lead", proc.name));
      const meta = [proc.code ? "Mã thủ tục: " + proc.code : "", str(proc.field), str(proc.agency)];
      const line = meta.filter(Boolean).join(" · ");
      if (line) box.append(el("div", "code", line));
    }
    if (card.text && card.text !== reply.reply_voice) box.append(el("p", "lead", card.text));
    if (proc) {
      for (const part of procedureSections(proc)) box.append(part);
    }
    if (card.type === "address" && card.address) renderAddress(box, card.address);
    if (card.type === "escalation") {
      const note = escalationNote(reply.reply_id);
      if (note) box.append(note);
    }
    const choices = choiceButtons(card.choices);
    if (choices) box.append(choices);
    if (proc) {
      const legal = legalBlock(proc);
      if (legal) box.append(legal);
    }
    return box;
  }

  function renderAddress(box, addr) {
    if (addr.query) box.append(el("div", "small", "Địa chỉ bà con hỏi: " + addr.query));
    if (addr.found && addr.new_ward) {
      box.append(el("div", "", "Nay thuộc:"));
      box.append(el("div", "address-new", [addr.new_ward, addr.new_province].filter(Boolean).join(", ")));
      if (addr.old_ward) box.append(el("div", "", "Trước đây: " + addr.old_ward));
    }
    const candidates = list(addr.candidates);
    if (candidates.length) {
      const sec = section("candidates", "Có thể thuộc một trong các đơn vị:");
      const ul = el("ul");
      for (const c of candidates) ul.append(el("li", "", c));
      sec.append(ul);
      box.append(sec);
    }
    if (addr.message) box.append(el("p", "lead", addr.message));
  }

  // ---------- events from the server ----------
  function handle(event, live) {
    switch (event.kind) {
      case "hello": // sent after the server subscribed this page: from now on nothing is missed
        document.body.dataset.connected = "true";
        clearConversation();
        replayLeft = Number(event.replay) || 0;
        return;
      case "clear":
        clearConversation();
        stopWaiting();
        return;
      case "state":
        setState(event.name, event.value);
        return;
      case "status": {
        const text = str(event.text || event.message);
        if (text) showNotice(text, event.level === "error" ? 0 : 10);
        return;
      }
      case "ack":
        return;
      case "error":
        stopWaiting();
        showNotice(event.message, 10);
        return;
      case "user_input":
        if (event.action && event.action !== "text") return;
        addTurn("visitor", "Bà con hỏi:", event.text);
        if (live) startWaiting();
        break;
      case "transcript":
        if (event.accepted === false) {
          addTurn("system", "", TEXT.notHeard);
        } else {
          addTurn("visitor", "Bà con nói:", event.text);
          if (live) startWaiting();
        }
        break;
      case "reply": {
        if (live) stopWaiting();
        const turn = addTurn("robot", "Robot trả lời:", event.reply_voice);
        const card = renderCard(event.reply_screen, event);
        if (card) turn.append(card);
        if (event.escalate && !(event.reply_screen && event.reply_screen.type === "escalation")) {
          const note = escalationNote(event.reply_id);
          if (note) turn.append(note);
        }
        if (live) scrollToTurn(questionBefore(turn));
        return;
      }
      case "escalation": {
        if (live) stopWaiting();
        const note = escalationNote(event.reply_id);
        if (note) {
          welcome.hidden = true;
          const turn = el("div", "turn system");
          turn.append(note);
          conv.append(turn);
        }
        break;
      }
      default:
        return; // spoken, utterance and unknown kinds: nothing to show
    }
    if (live) scrollToEnd();
  }

  function onMessage(raw) {
    let event;
    try {
      event = JSON.parse(raw);
    } catch (err) {
      console.warn("kiosk: not JSON", err);
      return;
    }
    if (!event || typeof event !== "object") return;
    const replaying = replayLeft > 0 && event.kind !== "hello";
    if (replaying) replayLeft -= 1;
    try {
      handle(event, !replaying);
    } catch (err) {
      console.error("kiosk: cannot show event", event.kind, err);
    }
    if (replaying && replayLeft === 0) {
      const replies = conv.querySelectorAll(".turn.robot");
      if (replies.length) scrollToTurn(questionBefore(replies[replies.length - 1]));
      else scrollToEnd();
    }
  }

  // ---------- connection ----------
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws");
    ws = socket;
    socket.onopen = () => {
      retryMs = 500;
      setConnected(true);
    };
    socket.onmessage = (msg) => onMessage(msg.data);
    socket.onclose = () => {
      if (ws !== socket) return;
      ws = null;
      document.body.dataset.connected = "false";
      setConnected(false);
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, (Number(cfg.reconnect_max_s) || 5) * 1000);
    };
    socket.onerror = () => socket.close();
  }

  // ---------- sending ----------
  async function send(rawText) {
    const text = str(rawText).trim();
    if (!text) {
      showNotice(TEXT.empty, 6);
      input.focus();
      return false;
    }
    showNotice("");
    const frame = { kind: "user_input", text, client_ref: ++refCounter };
    if (cfg.session_id) frame.session_id = cfg.session_id;
    startWaiting();
    if (ws && connected && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(frame));
      return true;
    }
    try {
      const res = await fetch("/api/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text, session_id: cfg.session_id || null }),
      });
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        stopWaiting();
        showNotice(str(body.message || body.detail) || TEXT.sendFailed, 10);
        return false;
      }
      return true;
    } catch (err) {
      stopWaiting();
      showNotice(TEXT.sendFailed, 10);
      return false;
    }
  }

  $("ask-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value;
    send(text).then((ok) => {
      if (ok && input.value === text) input.value = "";
    });
  });
  $("call-staff").addEventListener("click", () => send(cfg.staff_request_text || "cho tôi gặp cán bộ"));
  $("restart").addEventListener("click", () => {
    stopWaiting();
    input.value = "";
    fetch("/api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ action: "end", session_id: cfg.session_id || null }),
    }).catch(() => clearConversation());
  });
  for (const button of welcome.querySelectorAll("button[data-text]")) {
    button.addEventListener("click", () => send(button.dataset.text));
  }

  setConnected(false);
  $("status").textContent = TEXT.idle;
  connect();
})();
