// Shared helpers of the staff dashboard pages: the logged-in user, API calls with the CSRF token,
// the navigation bar and the live WebSocket. No framework, no CDN: everything is served from here.
"use strict";

const Dash = (() => {
  let me = null;

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && me) headers["X-CSRF-Token"] = me.csrf_token;
    const response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      location.href = "/login";
      throw new Error("login required");
    }
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) {
      const error = new Error((data && data.detail) ? (typeof data.detail === "string" ? data.detail
        : JSON.stringify(data.detail)) : (data.message || `HTTP ${response.status}`));
      error.status = response.status;
      error.data = data;
      throw error;
    }
    return data;
  }

  function time(unixS) {
    if (!unixS) return "—";
    return new Date(unixS * 1000).toLocaleTimeString("vi-VN", { hour12: false });
  }

  function dateTime(unixS) {
    if (!unixS) return "—";
    return new Date(unixS * 1000).toLocaleString("vi-VN", { hour12: false });
  }

  function ago(unixS) {
    if (!unixS) return "chưa nghe thấy";
    const s = Math.max(0, Date.now() / 1000 - unixS);
    if (s < 60) return `${Math.round(s)} giây trước`;
    if (s < 3600) return `${Math.round(s / 60)} phút trước`;
    return `${Math.round(s / 3600)} giờ trước`;
  }

  function nav(active) {
    const links = [["/", "Trực tiếp"], ["/stats", "Thống kê"], ["/kb", "Cơ sở tri thức"]];
    if (me && me.role === "admin") links.push(["/admin", "Quản trị"]);
    const bar = document.getElementById("nav");
    bar.replaceChildren(
      el("span", { class: "brand", text: me ? me.center_name : "" }),
      ...links.map(([href, label]) => el("a", { href, class: href === active ? "active" : "", text: label })),
      el("span", { class: "spacer" }),
      el("span", { class: "who", "data-testid": "who", text: me ? `${me.display_name} (${me.role})` : "" }),
      el("button", { id: "logout", type: "button", class: "secondary", text: "Đăng xuất", onclick: logout }),
    );
  }

  async function logout() {
    try { await api("POST", "/api/auth/logout"); } catch (e) { /* already logged out */ }
    location.href = "/login";
  }

  async function start(active) {
    me = await api("GET", "/api/auth/me");
    nav(active);
    return me;
  }

  // The live WebSocket: calls onEvent(event) for each message; reconnects with a growing delay.
  function live(onEvent, onState) {
    let delay = 500;
    function connect() {
      const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
      ws.onopen = () => { delay = 500; onState(true); };
      ws.onmessage = (message) => {
        try { onEvent(JSON.parse(message.data)); } catch (e) { console.error(e); }
      };
      ws.onclose = () => {
        onState(false);
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 8000);
      };
    }
    connect();
  }

  function storageBanner(storage) {
    const banner = document.getElementById("storage-banner");
    if (!banner) return;
    banner.hidden = !storage || storage.ok;
    banner.textContent = storage && !storage.ok ? `⚠ ${storage.problem} (${storage.waiting_writes} bản ghi đang chờ)` : "";
  }

  return { el, api, time, dateTime, ago, start, live, storageBanner, get me() { return me; } };
})();
