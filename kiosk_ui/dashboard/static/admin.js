// Admin: accounts (add, disable, enable) and the audit log.
"use strict";

(async () => {
  const { el, api, dateTime } = Dash;
  const me = await Dash.start("/admin");

  async function load() {
    const accounts = await api("GET", "/api/accounts");
    document.getElementById("accounts").replaceChildren(
      el("tr", {}, ...["Tên đăng nhập", "Tên hiển thị", "Vai trò", "Trạng thái", "Đăng nhập lần cuối", ""]
        .map((t) => el("th", { text: t }))),
      ...accounts.map((a) => el("tr", { "data-testid": "account-row", "data-username": a.username },
        el("td", { text: a.username }), el("td", { text: a.display_name }), el("td", { text: a.role }),
        el("td", { text: a.disabled ? "đã khóa" : "hoạt động" }), el("td", { text: dateTime(a.last_login_unix_s) }),
        el("td", {}, a.username === me.username ? "" : el("button", { type: "button", class: "secondary",
          "data-testid": a.disabled ? "enable" : "disable", text: a.disabled ? "Mở khóa" : "Khóa",
          onclick: async () => { await api("POST", `/api/accounts/${encodeURIComponent(a.username)}/${a.disabled ? "enable" : "disable"}`); load(); } })))));
    const audit = await api("GET", "/api/audit?limit=200");
    document.getElementById("audit").replaceChildren(
      el("tr", {}, ...["Lúc", "Ai", "Thao tác", "Đối tượng", "Chi tiết", "Địa chỉ"].map((t) => el("th", { text: t }))),
      ...audit.map((e) => el("tr", {}, ...[dateTime(e.unix_s), e.username, e.action, e.target, e.detail, e.address]
        .map((v) => el("td", { text: v })))));
  }

  const form = document.getElementById("add-account");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById("add-result");
    try {
      const body = Object.fromEntries(new FormData(form).entries());
      const a = await api("POST", "/api/accounts", body);
      status.textContent = `✔ Đã thêm ${a.username}`;
      form.reset();
      load();
    } catch (error) { status.textContent = `✖ ${error.message}`; }
  });
  await load();
})();
