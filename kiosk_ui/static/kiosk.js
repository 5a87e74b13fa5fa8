// Kiosk touchscreen page. Plain JS, no build step. All text goes through textContent (never
// innerHTML), so markup typed by a visitor or sent by any node shows as text.
// Views: home (categories, search) → list → card; hours; address; conversation. The page never
// navigates away: no links are followed, browser history is never added to.
(() => {
  "use strict";

  const cfg = JSON.parse(document.getElementById("kiosk-config").textContent || "{}");
  const $ = (id) => document.getElementById(id);
  const conv = $("conversation");
  const input = $("ask-text");
  const searchInput = $("search-text");

  const TEXT = {
    idle: "Mời bà con nói hoặc chạm để hỏi",
    offline: "Mất kết nối, đang kết nối lại…",
    notHeard: "Xin lỗi, robot chưa nghe rõ. Xin bà con nói lại hoặc chạm để hỏi.",
    timeout: "Xin lỗi, robot chưa trả lời kịp. Xin bà con hỏi lại, hoặc bấm «Gọi cán bộ» để được hỗ trợ.",
    escalation: "Đã gọi cán bộ hỗ trợ, xin bà con chờ trong giây lát",
    empty: "Xin bà con nhập câu hỏi rồi bấm Gửi.",
    sendFailed: "Chưa gửi được. Xin bà con thử lại hoặc bấm «Gọi cán bộ».",
    noResults: "Chưa tìm thấy thủ tục nào. Xin bà con gõ cách khác, chọn nhóm thủ tục bên dưới, hoặc hỏi robot.",
    catalogMissing: "Danh mục thủ tục chưa sẵn sàng. Bà con vẫn có thể hỏi robot hoặc bấm «Gọi cán bộ».",
    didYouMean: "Có phải bà con muốn hỏi:",
    notThis: "Không phải",
    printed: "Đang in danh sách giấy tờ. Xin bà con lấy giấy ở khay máy in.",
    thanks: "Cảm ơn bà con đã đánh giá!",
    staffComing: "Cán bộ đã nhận yêu cầu và đang đến hỗ trợ bà con.",
    listening: "Bấm khi nói xong",
    talk: "Bấm để nói",
  };
  const COPY_KIND = {
    original: "Bản chính",
    copy: "Bản sao",
    certified_copy: "Bản sao có chứng thực",
    original_or_copy: "Bản chính hoặc bản sao",
    present: "Xuất trình bản chính để đối chiếu",
  };
  const METHOD = { in_person: "Nộp trực tiếp", online: "Nộp trực tuyến", post: "Qua bưu chính" };
  const SECTION_ORDER = ["papers", "counter", "methods", "steps", "online", "result"];
  const FOCUS_SECTION = { papers: "papers", fee: "methods", time: "methods", where: "counter", online: "online" };
  const FACES = [
    [1, "Rất không hài lòng"], [2, "Không hài lòng"], [3, "Bình thường"], [4, "Hài lòng"], [5, "Rất hài lòng"],
  ];
  const TEXT_SCALES = [0.85, 1, 1.15, 1.3, 1.5];
  const SCALE_KEY = "kiosk.textScale";
  const VIEW_TITLES = {
    list: "", card: "Thủ tục", hours: "Giờ làm việc và các quầy", address: "Tra địa chỉ mới",
    conversation: "Trò chuyện với robot",
  };

  let ws = null;
  let connected = false;
  let retryMs = 500;
  let replayLeft = 0;
  let waitTimer = null;
  let refCounter = 0;
  let catalog = null; // {version, center, categories, procedures}
  let procById = new Map();
  let view = "home";
  let backStack = [];
  let currentCard = null; // procedure id shown in the card view
  let lastAnswer = null; // {reply_id, procedure_id} of the latest answer, for rating and "Nghe lại"
  let sessionId = "";
  let rated = false;
  let searchSeq = 0;
  let lastActivity = Date.now();
  let dirty = false; // anything a citizen did or saw since the last reset
  let micOn = false;
  let micTimer = null;
  const escalated = new Set();
  const metrics = { painted: [], search: [] };
  window.kioskMetrics = metrics;

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
  function button(cls, text, onClick) {
    const b = el("button", "btn " + cls, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }
  function icon(name) {
    const img = el("img");
    img.src = "/static/icons/" + name;
    img.alt = "";
    return img;
  }
  // Citizens read Vietnamese only: server messages are "Vietnamese / English".
  function vietnamese(message) {
    return str(message).split(" / ")[0].trim();
  }
  function afterPaint(fn) {
    requestAnimationFrame(() => setTimeout(fn, 0));
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
    if (name === "visitor_speaking" || name === "listening") {
      $("ind-listening").hidden = !on;
      if (on) touched();
    }
    if (name === "robot_speaking" || name === "speaking") $("ind-speaking").hidden = !on;
    if (name === "microphone_available") {
      $("mic").hidden = !on;
      if (!on) setMic(false, false);
    }
  }
  let noticeTimer = null;
  function showNotice(text, seconds) {
    const notice = $("notice");
    notice.textContent = vietnamese(text);
    notice.hidden = !text;
    clearTimeout(noticeTimer);
    if (text && seconds) noticeTimer = setTimeout(() => { notice.hidden = true; }, seconds * 1000);
  }
  let ackTimer = null;
  function showStaffAck(update) {
    const banner = $("staff-ack");
    const who = str(update.staff_name);
    const text = str(update.message_vi) || (who ? who + " đang đến hỗ trợ bà con." : TEXT.staffComing);
    banner.textContent = text;
    banner.hidden = false;
    clearTimeout(ackTimer);
    if (update.status === "resolved") ackTimer = setTimeout(() => { banner.hidden = true; }, 15000);
  }

  // ---------- views and the page's own back stack (browser history is never used) ----------
  function showView(name, title, remember) {
    if (remember !== false && name !== view) backStack.push({ view, title: $("view-title").textContent });
    view = name;
    document.body.dataset.view = name;
    for (const section of document.querySelectorAll("#views > .view")) section.hidden = section.dataset.view !== name;
    $("nav").hidden = name === "home";
    $("view-title").textContent = title !== undefined ? title : (VIEW_TITLES[name] || "");
    $("views").scrollTop = 0;
    updateRating();
  }
  function goBack() {
    const prev = backStack.pop();
    if (!prev) return showView("home", "", false);
    showView(prev.view, prev.title, false);
  }
  function goHome() {
    backStack = [];
    showView("home", "", false);
  }

  // ---------- catalog: categories, lists, search ----------
  async function loadCatalog() {
    try {
      const res = await fetch("/api/catalog", { cache: "no-store" });
      if (!res.ok) throw new Error("catalog " + res.status);
      catalog = await res.json();
    } catch (err) {
      catalog = null;
      $("catalog-loading").textContent = TEXT.catalogMissing;
      $("catalog-loading").hidden = false;
      return;
    }
    procById = new Map(list(catalog.procedures).map((p) => [p.id, p]));
    renderCategories();
    renderHours();
    $("catalog-loading").hidden = true;
    document.body.dataset.catalog = str(catalog.version);
    markInteractive();
  }

  function renderCategories() {
    const box = $("categories");
    box.replaceChildren();
    for (const cat of list(catalog.categories)) {
      const b = button("category", "", () => openCategory(cat));
      b.dataset.category = cat.id;
      if (cat.icon) b.append(icon(cat.icon));
      const words = el("span", "category-words");
      words.append(el("span", "category-label", cat.label));
      words.append(el("span", "category-count", list(cat.procedure_ids).length + " thủ tục"));
      b.append(words);
      box.append(b);
    }
  }

  function procedureButton(proc) {
    const b = button("procedure", "", () => openProcedure(proc.id));
    b.dataset.procedure = proc.id;
    b.append(el("span", "proc-label", proc.label));
    if (proc.name && proc.name.toLowerCase() !== str(proc.label).toLowerCase()) {
      b.append(el("span", "proc-name", proc.name));
    }
    return b;
  }

  function openCategory(cat) {
    const box = $("procedure-list");
    box.replaceChildren();
    for (const pid of list(cat.procedure_ids)) {
      const proc = procById.get(pid);
      if (proc) box.append(procedureButton(proc));
    }
    showView("list", cat.label);
  }

  async function runSearch() {
    const q = searchInput.value;
    const seq = ++searchSeq;
    const started = performance.now();
    const results = $("search-results");
    if (!q.trim()) {
      results.hidden = true;
      results.replaceChildren();
      $("home-browse").hidden = false;
      return;
    }
    let body = null;
    try {
      const res = await fetch("/api/search?q=" + encodeURIComponent(q), { cache: "no-store" });
      body = await res.json();
      if (!res.ok) throw new Error(body.message);
    } catch (err) {
      if (seq !== searchSeq) return;
      results.replaceChildren(el("p", "hint", body && body.message ? vietnamese(body.message) : TEXT.catalogMissing));
      results.hidden = false;
      return;
    }
    if (seq !== searchSeq) return; // an older keystroke's answer came late: a newer one is on its way
    results.replaceChildren();
    for (const hit of list(body.results)) {
      results.append(procedureButton({ id: hit.procedure_id, label: hit.label, name: hit.name }));
    }
    if (!results.childElementCount) results.append(el("p", "hint", TEXT.noResults));
    results.hidden = false;
    $("home-browse").hidden = true;
    afterPaint(() => {
      metrics.search.push({ q, ms: performance.now() - started, results: list(body.results).length });
      if (metrics.search.length > 500) metrics.search.shift();
    });
  }

  // ---------- the procedure card (catalog and replies share it) ----------
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
      const ul = el("ul", "checklist");
      for (const paper of papers) {
        const li = el("li");
        li.append(el("span", "check-box"));
        const text = el("div");
        text.append(el("div", "paper-name", paper.name));
        const meta = [];
        const kind = str(paper.original_or_copy);
        if (kind) meta.push(COPY_KIND[kind] || kind);
        if (paper.quantity) meta.push("Số lượng: " + paper.quantity);
        if (paper.form) meta.push("Mẫu: " + paper.form);
        if (meta.length) text.append(el("div", "paper-meta", meta.join(" · ")));
        li.append(text);
        ul.append(li);
      }
      box.append(ul);
      parts.push(box);
    }
    const methods = list(proc.methods);
    if (methods.length) {
      const box = section("methods", "Thời gian và lệ phí");
      const ul = el("ul", "methods");
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
        const row = el("div", "online-row");
        const words = el("div");
        words.append(el("div", "", "Có thể nộp trực tuyến" + (online.portal ? " trên " + online.portal : "")));
        if (online.vneid) words.append(el("div", "", "Có thể làm trên ứng dụng VNeID."));
        if (online.url) {
          words.append(el("div", "url", online.url));
          words.append(el("div", "small", "Quét mã bằng điện thoại của bà con để mở trang này."));
        }
        row.append(words);
        if (online.url && proc.id) {
          const qr = el("img", "qr");
          qr.src = "/api/procedures/" + encodeURIComponent(proc.id) + "/qr.svg";
          qr.alt = "Mã QR trang nộp trực tuyến";
          row.append(qr);
        }
        box.append(row);
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
    // What to bring and where to go first: the checklist is what a citizen takes home.
    parts.sort((a, b) => SECTION_ORDER.indexOf(a.dataset.section) - SECTION_ORDER.indexOf(b.dataset.section));
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
      if (title) box.append(el("p", "", "Nguồn: " + title));
    }
    if (proc.date_checked) box.append(el("p", "", "Thông tin kiểm tra ngày " + proc.date_checked));
    return box.childElementCount ? box : null;
  }

  function cardTools(proc) {
    const tools = el("div", "card-tools");
    if (cfg.can_print && proc.id && procById.has(proc.id)) {
      const b = button("secondary print", "", () => printChecklist(proc.id));
      b.append(icon("print.svg"), document.createTextNode("In danh sách giấy tờ"));
      tools.append(b);
    }
    return tools.childElementCount ? tools : null;
  }

  function procedureCard(proc, title) {
    const box = el("article", "card card-procedure");
    box.dataset.procedure = str(proc.id);
    const head = el("div", "card-head");
    const names = el("div");
    names.append(el("h2", "", title || proc.name));
    if (proc.name && proc.name !== title) names.append(el("div", "lead", proc.name));
    head.append(names);
    if (proc.counter && proc.counter.number) head.append(el("div", "counter-badge", "Quầy " + proc.counter.number));
    box.append(head);
    const meta = [proc.code ? "Mã thủ tục: " + proc.code : "", str(proc.field), str(proc.agency)];
    const line = meta.filter(Boolean).join(" · ");
    if (line) box.append(el("div", "code", line));
    for (const part of procedureSections(proc)) box.append(part);
    const tools = cardTools(proc);
    if (tools) box.append(tools);
    const legal = legalBlock(proc);
    if (legal) box.append(legal);
    return box;
  }

  async function openProcedure(pid) {
    touched();
    const proc = procById.get(pid);
    let card = null;
    try {
      const res = await fetch("/api/procedures/" + encodeURIComponent(pid), { cache: "no-store" });
      const body = await res.json();
      if (!res.ok) throw new Error(body.message);
      card = body.card;
    } catch (err) {
      showNotice(err && err.message ? err.message : TEXT.catalogMissing, 10);
      return;
    }
    currentCard = pid;
    $("card-box").replaceChildren(procedureCard(card, proc ? proc.label : ""));
    showView("card", proc ? proc.label : VIEW_TITLES.card);
    sendInput({ action: "select_procedure", procedure_id: pid }, false); // the robot reads it aloud too
  }

  async function printChecklist(pid) {
    touched();
    try {
      const res = await fetch("/api/print", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ procedure_id: pid }),
      });
      const body = await res.json().catch(() => ({}));
      showNotice(res.ok ? TEXT.printed : (body.message || TEXT.sendFailed), 12);
    } catch (err) {
      showNotice(TEXT.sendFailed, 10);
    }
  }

  // ---------- hours and counters ----------
  function renderHours() {
    const box = $("hours-box");
    box.replaceChildren();
    const c = (catalog && catalog.center) || {};
    box.append(el("h2", "", str(c.name) || str(cfg.center_name)));
    const hours = section("hours", "Giờ làm việc");
    const ul = el("ul");
    for (const h of list(c.opening_hours)) {
      const li = el("li");
      li.append(el("span", "paper-name", str(h.days) + ": "), el("span", "", h.hours));
      ul.append(li);
    }
    hours.append(ul);
    box.append(hours);
    const counters = section("counters", "Các quầy tiếp nhận");
    const cl = el("ul", "counter-list");
    for (const q of list(c.counters)) cl.append(el("li", "", q.label || "Quầy " + q.number));
    counters.append(cl);
    box.append(counters);
    if (c.address) box.append(el("p", "", "Địa chỉ: " + c.address));
    if (c.hotline) box.append(el("p", "", "Đường dây nóng: " + c.hotline));
  }

  // ---------- conversation ----------
  function clearConversation() {
    conv.replaceChildren();
    escalated.clear();
    $("show-conversation").hidden = true;
  }
  function addTurn(who, label, text) {
    const turn = el("div", "turn " + who);
    if (label) turn.append(el("div", "who", label));
    turn.append(el("div", "bubble", text));
    conv.append(turn);
    $("show-conversation").hidden = false;
    dirty = true;
    return turn;
  }
  function scrollToEnd() {
    const box = $("views");
    box.scrollTop = box.scrollHeight;
  }
  function scrollToTurn(turn) {
    const box = $("views");
    box.scrollTop = Math.max(0, turn.offsetTop - box.offsetTop - 16);
  }
  function questionBefore(turn) {
    const box = $("views");
    const prev = turn.previousElementSibling;
    const fits = prev && prev.classList.contains("visitor") &&
      turn.offsetTop + Math.min(turn.offsetHeight, box.clientHeight / 2) - prev.offsetTop < box.clientHeight;
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
      box.append(button("choice", str(choice.label) || text, () => send(text)));
    }
    return box.childElementCount ? box : null;
  }
  // "Có phải bà con muốn hỏi: …" — one touch picks the procedure, "Không phải" shows the categories.
  function candidateButtons(candidates) {
    const items = list(candidates).filter((c) => c && c.procedure_id);
    if (!items.length) return null;
    const box = el("div", "candidates");
    box.append(el("p", "candidates-title", TEXT.didYouMean));
    for (const c of items) {
      const b = button("candidate", "", () => sendInput({ action: "select_procedure", procedure_id: c.procedure_id }));
      b.dataset.procedure = c.procedure_id;
      b.append(el("span", "proc-label", c.label || c.name));
      if (c.name && c.name !== c.label) b.append(el("span", "proc-name", c.name));
      box.append(b);
    }
    box.append(button("not-this", TEXT.notThis, () => { touched(); goHome(); }));
    return box;
  }

  function renderAddress(box, addr) {
    if (addr.query) box.append(el("div", "small", "Địa chỉ bà con hỏi: " + addr.query));
    const candidates = list(addr.candidates);
    if (addr.found && addr.new_ward) {
      box.append(el("div", "", "Nay thuộc:"));
      box.append(el("div", "address-new", [addr.new_ward, addr.new_province].filter(Boolean).join(", ")));
      if (addr.old_ward) box.append(el("div", "", "Trước đây: " + addr.old_ward));
    } else if (addr.found && candidates.length > 1) {
      const sec = section("candidates", "Phường, xã cũ đã được chia. Nay thuộc một trong các đơn vị:");
      const ul = el("ul", "address-candidates");
      for (const c of candidates) ul.append(el("li", "address-new", [c, addr.new_province].filter(Boolean).join(", ")));
      sec.append(ul);
      box.append(sec);
    }
    if (addr.message) box.append(el("p", "lead", addr.message));
  }

  function renderCard(card, reply) {
    if (!card || typeof card !== "object" || !card.type) return null;
    const proc = card.type === "procedure" && card.procedure ? card.procedure : null;
    const box = proc ? procedureCard(proc, str(card.title) || str(proc.name)) : el("article", "card card-" + str(card.type));
    if (!proc && card.title) box.append(el("h2", "", card.title));
    if (card.text && card.text !== reply.reply_voice) {
      const lead = el("p", "lead", card.text);
      if (proc) box.insertBefore(lead, box.querySelector(".section")); else box.append(lead);
    }
    if (card.type === "address" && card.address) renderAddress(box, card.address);
    if (card.type === "escalation") {
      const note = escalationNote(reply.reply_id);
      if (note) box.append(note);
    }
    const candidates = candidateButtons(card.candidates);
    if (candidates) box.append(candidates);
    else {
      const choices = choiceButtons(card.choices);
      if (choices) box.append(choices);
    }
    return box;
  }

  // The kiosk was unsure and offered no buttons: offer the procedures the sentence names, if any.
  async function suggestFor(reply, turn) {
    const text = str(reply.user_text);
    if (!text.trim()) return;
    try {
      const res = await fetch("/api/suggest?q=" + encodeURIComponent(text), { cache: "no-store" });
      if (!res.ok) return;
      const body = await res.json();
      const items = list(body.results).map((h) => ({ procedure_id: h.procedure_id, label: h.label, name: h.name }));
      const box = candidateButtons(items);
      if (box && turn.isConnected) turn.append(box);
    } catch (err) {
      /* no suggestions: the reply's own text stands */
    }
  }

  function showReply(event, live) {
    if (live) stopWaiting();
    const screen = event.reply_screen || {};
    if (event.intent === "repeat" && conv.querySelector(".turn.robot")) return; // said again, already shown
    const turn = addTurn("robot", "Robot trả lời:", event.reply_voice);
    const card = renderCard(screen, event);
    if (card) turn.append(card);
    if (event.escalate && screen.type !== "escalation") {
      const note = escalationNote(event.reply_id);
      if (note) turn.append(note);
    }
    const unsure = !list(screen.candidates).length && event.source !== "system" &&
      (event.intent === "out_of_scope" || screen.type === "not_understood");
    if (live && unsure) suggestFor(event, turn);
    if (event.intent !== "greeting" && event.intent !== "error") {
      lastAnswer = { reply_id: event.reply_id, procedure_id: event.procedure_id || null };
      $("repeat").disabled = false;
    }
    if (event.session_id) sessionId = event.session_id;
    if (!live) return;
    // The card or address view the citizen is looking at already shows this answer: stay there.
    const sameCard = view === "card" && event.procedure_id && event.procedure_id === currentCard;
    if (view === "address" && screen.type === "address" && screen.address) {
      const box = $("address-result");
      box.replaceChildren();
      const result = el("article", "card card-address");
      result.append(el("h2", "", screen.title));
      renderAddress(result, screen.address);
      box.append(result);
    } else if (!sameCard) {
      if (view !== "conversation") showView("conversation");
      scrollToTurn(questionBefore(turn));
    }
    updateRating();
    afterPaint(() => {
      metrics.painted.push({ reply_id: event.reply_id, t: Date.now() });
      if (metrics.painted.length > 200) metrics.painted.shift();
      document.body.dataset.lastPainted = str(event.reply_id);
    });
  }

  // ---------- rating (faces, one touch) ----------
  function faceButtons(box, trigger, after) {
    box.replaceChildren();
    for (const [score, label] of FACES) {
      const b = button("face", "", () => rate(score, trigger).then(after));
      b.dataset.score = String(score);
      b.setAttribute("aria-label", label);
      b.append(icon("face" + score + ".svg"), el("span", "face-label", label));
      box.append(b);
    }
  }
  async function rate(score, trigger) {
    touched();
    rated = true;
    updateRating();
    try {
      await fetch("/api/rating", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          score, trigger, reply_id: lastAnswer ? lastAnswer.reply_id : "",
          procedure_id: lastAnswer ? lastAnswer.procedure_id : null, session_id: sessionId || null,
        }),
      });
      showNotice(TEXT.thanks, 5);
    } catch (err) {
      /* a lost rating is not worth bothering the citizen */
    }
  }
  function updateRating() {
    $("rating").hidden = !(lastAnswer && !rated && (view === "conversation" || view === "card"));
  }

  // ---------- waiting for a reply ----------
  function startWaiting() {
    clearTimeout(waitTimer);
    $("waiting").hidden = false;
    waitTimer = setTimeout(() => {
      stopWaiting();
      addTurn("system", "", TEXT.timeout);
      if (view !== "conversation") showView("conversation");
      scrollToEnd();
    }, (Number(cfg.reply_timeout_s) || 15) * 1000);
  }
  function stopWaiting() {
    clearTimeout(waitTimer);
    waitTimer = null;
    $("waiting").hidden = true;
  }

  // ---------- a new citizen: every trace of the previous one goes ----------
  function resetForNextCitizen() {
    stopWaiting();
    clearConversation();
    for (const field of [input, searchInput, $("address-text")]) field.value = "";
    $("search-results").replaceChildren();
    $("search-results").hidden = true;
    $("home-browse").hidden = false;
    $("card-box").replaceChildren();
    $("address-result").replaceChildren();
    $("procedure-list").replaceChildren();
    $("staff-ack").hidden = true;
    $("staff-ack").textContent = "";
    $("rating-dialog").hidden = true;
    showNotice("");
    currentCard = null;
    lastAnswer = null;
    sessionId = "";
    rated = false;
    $("repeat").disabled = true;
    setMic(false, true);
    try { sessionStorage.clear(); } catch (err) { /* storage disabled */ }
    setTextScale(1, false);
    history.replaceState(null, "", "/");
    goHome();
    $("views").scrollTop = 0;
    dirty = false;
    lastActivity = Date.now();
    if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
    document.body.dataset.cleared = String(Date.now());
  }
  function endVisit() {
    fetch("/api/session", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ action: "end", session_id: cfg.session_id || null }),
    }).catch(() => {});
    resetForNextCitizen();
  }
  function restart() {
    touched();
    if (lastAnswer && !rated) {
      const dialog = $("rating-dialog");
      faceButtons(dialog.querySelector(".faces"), "restart", endVisit);
      dialog.hidden = false;
      return;
    }
    endVisit();
  }
  function touched() {
    lastActivity = Date.now();
    dirty = true;
  }
  setInterval(() => {
    const idleMs = (Number(cfg.idle_timeout_s) || 90) * 1000;
    if (dirty && Date.now() - lastActivity > idleMs) endVisit();
  }, 1000);

  // ---------- text size, for this visit only ----------
  function setTextScale(scale, remember) {
    document.documentElement.style.setProperty("--scale", String(scale));
    document.documentElement.dataset.textScale = String(scale);
    if (remember) {
      try { sessionStorage.setItem(SCALE_KEY, String(scale)); } catch (err) { /* storage disabled */ }
    }
  }
  function stepTextScale(delta) {
    touched();
    const current = Number(document.documentElement.dataset.textScale) || 1;
    let i = TEXT_SCALES.indexOf(current);
    if (i < 0) i = 1;
    const next = TEXT_SCALES[Math.max(0, Math.min(TEXT_SCALES.length - 1, i + delta))];
    setTextScale(next, true);
  }

  // ---------- push to talk (only where the microphone node reports a real microphone) ----------
  function setMic(on, tell) {
    if (micOn === on) return;
    micOn = on;
    const b = $("mic");
    b.classList.toggle("on", on);
    b.setAttribute("aria-pressed", String(on));
    b.querySelector("span").textContent = on ? TEXT.listening : TEXT.talk;
    clearTimeout(micTimer);
    if (on) micTimer = setTimeout(() => setMic(false, true), 15000);
    if (tell) {
      fetch("/api/push_to_talk", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ pressed: on }),
      }).catch(() => {});
    }
  }

  // ---------- events from the server ----------
  function handle(event, live) {
    switch (event.kind) {
      case "hello": // sent after the server subscribed this page: from now on nothing is missed
        document.body.dataset.connected = "true";
        clearConversation();
        replayLeft = Number(event.replay) || 0;
        markInteractive();
        return;
      case "clear":
        if (dirty || conv.childElementCount) resetForNextCitizen();
        return;
      case "session":
        if (event.event === "started") sessionId = str(event.session_id);
        else if (live && (dirty || conv.childElementCount)) resetForNextCitizen();
        return;
      case "catalog":
        if (!catalog || catalog.version !== event.version) loadCatalog();
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
      case "escalation_update":
        showStaffAck(event);
        return;
      case "user_input":
        if (event.action && event.action !== "text") return;
        addTurn("visitor", "Bà con hỏi:", event.text);
        if (live) {
          startWaiting();
          if (view !== "conversation") showView("conversation");
        }
        break;
      case "transcript":
        if (event.accepted === false) {
          addTurn("system", "", TEXT.notHeard);
        } else {
          addTurn("visitor", "Bà con nói:", event.text);
          if (live) startWaiting();
        }
        if (live) {
          touched();
          if (view !== "conversation") showView("conversation");
        }
        break;
      case "reply":
        if (live) touched();
        showReply(event, live);
        return;
      case "escalation": {
        if (live) stopWaiting();
        const note = escalationNote(event.reply_id);
        if (note) {
          const turn = el("div", "turn system");
          turn.append(note);
          conv.append(turn);
          $("show-conversation").hidden = false;
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
    if (replaying && replayLeft === 0 && conv.childElementCount) {
      const replies = conv.querySelectorAll(".turn.robot");
      if (view === "home" && !backStack.length) showView("conversation");
      if (replies.length) scrollToTurn(questionBefore(replies[replies.length - 1]));
      else scrollToEnd();
    }
  }

  let interactiveMarked = false;
  function markInteractive() {
    if (interactiveMarked || !catalog || document.body.dataset.connected !== "true") return;
    interactiveMarked = true;
    afterPaint(() => performance.mark("kiosk-interactive"));
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
  // One input to the dialogue (a question, a touched procedure, "Nghe lại", an address):
  // over the WebSocket when it is up, else over HTTP.
  async function sendInput(fields, wait) {
    touched();
    showNotice("");
    const frame = Object.assign({ kind: "user_input", client_ref: ++refCounter }, fields);
    if (cfg.session_id) frame.session_id = cfg.session_id;
    if (wait !== false) startWaiting();
    if (ws && connected && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(frame));
      return true;
    }
    try {
      const res = await fetch("/api/input", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(Object.assign({ session_id: cfg.session_id || null }, fields)),
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
  function send(rawText) {
    const text = str(rawText).trim();
    if (!text) {
      showNotice(TEXT.empty, 6);
      input.focus();
      return Promise.resolve(false);
    }
    return sendInput({ action: "text", text });
  }

  $("ask-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value;
    send(text).then((ok) => {
      if (ok && input.value === text) input.value = "";
    });
  });
  $("address-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("address-text").value.trim();
    if (!text) {
      showNotice("Xin bà con nhập địa chỉ cũ rồi bấm Tra cứu.", 6);
      return;
    }
    $("address-result").replaceChildren(el("p", "hint", "Đang tra cứu…"));
    sendInput({ action: "lookup_address", text });
  });
  searchInput.addEventListener("input", () => { touched(); runSearch(); });
  searchInput.addEventListener("keydown", (ev) => { if (ev.key === "Enter") ev.preventDefault(); });
  $("call-staff").addEventListener("click", () => send(cfg.staff_request_text || "cho tôi gặp cán bộ"));
  $("repeat").addEventListener("click", () => sendInput({ action: "repeat" }, false));
  $("restart").addEventListener("click", restart);
  $("rating-skip").addEventListener("click", endVisit);
  $("back").addEventListener("click", () => { touched(); goBack(); });
  $("home").addEventListener("click", () => { touched(); goHome(); });
  $("btn-hours").addEventListener("click", () => { touched(); showView("hours"); });
  $("btn-address").addEventListener("click", () => { touched(); showView("address"); });
  $("show-conversation").addEventListener("click", () => { touched(); showView("conversation"); scrollToEnd(); });
  $("text-smaller").addEventListener("click", () => stepTextScale(-1));
  $("text-larger").addEventListener("click", () => stepTextScale(1));
  $("mic").addEventListener("click", () => { touched(); setMic(!micOn, true); });
  faceButtons($("rating").querySelector(".faces"), "after_answer", () => {});
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, touched, { capture: true, passive: true });

  // The kiosk page never leaves itself: no link opens, no window opens, no long-press menu.
  document.addEventListener("click", (ev) => {
    const link = ev.target && ev.target.closest ? ev.target.closest("a[href]") : null;
    if (link) ev.preventDefault();
  }, true);
  document.addEventListener("contextmenu", (ev) => ev.preventDefault());
  document.addEventListener("dragstart", (ev) => ev.preventDefault());
  window.open = () => null;

  let saved = 1;
  try { saved = Number(sessionStorage.getItem(SCALE_KEY)) || 1; } catch (err) { saved = 1; }
  setTextScale(TEXT_SCALES.includes(saved) ? saved : 1, false);
  setConnected(false);
  $("status").textContent = TEXT.idle;
  goHome();
  loadCatalog();
  connect();
})();
