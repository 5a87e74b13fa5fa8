// Login: fetch the pre-login CSRF token, then POST the credentials with it.
"use strict";

(async () => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  let token = "";
  async function refreshToken() {
    const response = await fetch("/api/auth/csrf", { credentials: "same-origin" });
    const data = await response.json();
    token = data.csrf_token;
    document.getElementById("no-accounts").hidden = data.accounts_exist;
  }
  await refreshToken();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const body = { username: form.username.value, password: form.password.value };
    const response = await fetch("/api/auth/login", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify(body),
    });
    if (response.ok) {
      location.href = "/";
      return;
    }
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).detail || message; } catch (e) { /* not JSON */ }
    error.textContent = typeof message === "string" ? message : "Dữ liệu không hợp lệ / invalid input";
    error.hidden = false;
    form.password.value = "";
    if (response.status === 403) await refreshToken();
  });
})();
