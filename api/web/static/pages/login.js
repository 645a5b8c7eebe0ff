// Login: POST /api/v1/auth/login; the token is kept in localStorage.

import { api, session, ApiError } from "../api.js";
import { h, replace } from "../dom.js";

export async function render(root, ctx) {
  const user = h("input", { id: "user", name: "username", autocomplete: "username", value: "admin", required: true, autocapitalize: "none" });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const msg = h("p", { id: "login-msg", role: "alert", hidden: true });
  const submit = h("button", { type: "submit" }, "Log in");
  if (ctx.message) { msg.hidden = false; msg.className = "note"; msg.textContent = ctx.message; }

  const form = h("form", { class: "login card", novalidate: true },
    h("h2", {}, "Log in to bmcd"),
    h("label", { for: "user" }, "User"), user,
    h("label", { for: "password" }, "Password"), pass,
    h("p", { class: "hint" }, "bmcd printed the admin password on its first start."),
    msg, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!pass.value) {
      msg.hidden = false; msg.className = "alert"; msg.textContent = "Enter the password.";
      pass.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Logging in…";
    try {
      const r = await api("POST", "/auth/login", { username: user.value.trim(), password: pass.value }, { noExpire: true });
      session.save(r.token, r.expires_at);
      ctx.loggedIn();
    } catch (err) {
      msg.hidden = false;
      msg.className = "alert";
      msg.textContent = err instanceof ApiError && err.status === 401
        ? "Wrong user name or password."
        : ctx.describe(err);
      pass.select();
      pass.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = "Log in";
    }
  });
  replace(root, form);
  pass.focus();
}
