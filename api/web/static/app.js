// The page's shell: session, hash routes, the navigation, and the views,
// each a module loaded the first time it is shown.

import { api, events, session, onExpired, ApiError } from "./api.js";
import { h, replace } from "./dom.js";

const view = document.getElementById("view");
const tabs = document.getElementById("tabs");
const logoutButton = document.getElementById("logout");
const live = document.getElementById("live");
const toastBox = document.getElementById("toast");

// Views by the first part of the hash route: #/flash/2 → flash, ["2"].
const views = {
  login: () => load("./pages/login.js"),
  board: () => load("./pages/board.js"),
  flash: () => load("./pages/flash.js"),
  console: () => load("./pages/console.js"),
  cluster: () => load("./pages/cluster.js"),
  settings: () => load("./pages/settings.js"),
};

// load imports a view's module, once more if the first fetch failed on
// the way (a browser keeps a failed module, so the retry asks for it
// under another URL; bmcd ignores the query).
async function load(path) {
  try {
    return await import(path);
  } catch {
    return import(path + "?retry=" + Date.now());
  }
}

let cleanup = null;
let board = null; // GET /api/v1/board, once per session
let loginMessage = "";
let afterLogin = "";

// toast shows a short message for a few seconds (and to screen readers).
export function toast(text, bad = false) {
  const p = h("p", { class: bad ? "bad" : "", role: bad ? "alert" : null }, text);
  toastBox.append(p);
  setTimeout(() => p.remove(), bad ? 8000 : 4000);
}

// describe says an error in words for the user.
export function describe(err) {
  if (err instanceof ApiError) return err.message;
  return String(err?.message || err);
}

// confirmDialog asks before something that cannot be taken back.
export function confirmDialog(title, text, ok = "OK") {
  const dlg = document.getElementById("confirm");
  dlg.querySelector("#confirm-title").textContent = title;
  dlg.querySelector("#confirm-text").textContent = text;
  dlg.querySelector("#confirm-ok").textContent = ok;
  dlg.returnValue = "";
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
    dlg.showModal();
  });
}

// boardInfo is GET /api/v1/board, fetched once per session.
export async function boardInfo() {
  if (!board) board = await api("GET", "/board");
  return board;
}

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || "board", params: parts.slice(1) };
}

async function show() {
  let { name, params } = route();
  if (!session.token && name !== "login") {
    afterLogin = location.hash; // a bookmark of #/console/2 lands there
    location.replace("#/login");
    return;
  }
  if (session.token && name === "login") {
    location.replace("#/board");
    return;
  }
  if (!views[name]) name = "board";
  const loggedIn = name !== "login";
  tabs.hidden = !loggedIn;
  logoutButton.hidden = !loggedIn;
  live.hidden = !loggedIn;
  for (const a of tabs.querySelectorAll("a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (cleanup) { try { cleanup(); } catch { /* a view's own mess */ } }
  cleanup = null;
  if (loggedIn) events.start();
  const mod = await views[name]();
  if (route().name !== name && views[route().name]) return; // moved on while loading
  replace(view);
  const ctx = { params, toast, describe, confirm: confirmDialog, boardInfo };
  if (name === "login") {
    ctx.message = loginMessage;
    loginMessage = "";
    ctx.loggedIn = () => {
      board = null;
      const to = afterLogin || "#/board";
      afterLogin = "";
      location.replace(to);
    };
  }
  try {
    cleanup = (await mod.render(view, ctx)) || null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return; // back to login already
    const retry = h("button", { type: "button", class: "ghost", onclick: show }, "Try again");
    replace(view, h("p", { class: "alert", role: "alert" }, describe(e)), retry);
    // bmcd was away (restarting, or the Wi-Fi was): show the view again
    // by itself once the event stream is back.
    if (e instanceof ApiError && e.status === 0) cleanup = events.onResync(() => show());
  }
  if (loggedIn) {
    boardInfo().then((b) => {
      document.getElementById("board-name").textContent = b.model || "bmcd";
    }).catch(() => {});
  }
}

onExpired(() => {
  loginMessage = "Your session has ended (it expired, or bmcd forgot it). Log in again.";
  board = null;
  if (location.hash === "#/login") show();
  else location.replace("#/login");
});

logoutButton.addEventListener("click", async () => {
  try {
    await api("POST", "/auth/logout", undefined, { noExpire: true });
  } catch { /* the token is forgotten here whatever bmcd says */ }
  session.clear();
  events.stop();
  board = null;
  loginMessage = "Logged out.";
  location.hash = "#/login";
});

events.onState((connected) => {
  live.textContent = connected ? "live" : "reconnecting…";
  live.classList.toggle("ok", connected);
  live.title = connected ? "Live updates from bmcd" : "No live updates: reconnecting to bmcd";
});

// Another tab logged in or out.
window.addEventListener("storage", (e) => {
  if (e.key === "bmcd.token") {
    if (!e.newValue) { events.stop(); location.replace("#/login"); }
    show();
  }
});

window.addEventListener("hashchange", show);
show();
