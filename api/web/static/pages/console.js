// Console: the slot's serial console in xterm.js over the console
// WebSocket, with its history, an extra key row for touch keyboards, a
// read-only switch and the line settings.

import { api, ticket } from "../api.js";
import { h, replace } from "../dom.js";

const bauds = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1500000];
// Keys a phone keyboard lacks, as the bytes a terminal sends for them.
const keys = [
  ["Esc", "\x1b", "Escape"], ["Tab", "\t", "Tab"], ["↑", "\x1b[A", "Up"], ["Ctrl-C", "\x03", "Control C"], ["Ctrl-D", "\x04", "Control D"],
  ["Ctrl", null, "Control: the next key is sent with Control"], ["←", "\x1b[D", "Left"], ["↓", "\x1b[B", "Down"], ["→", "\x1b[C", "Right"], ["|", "|", "Pipe"],
];

// loadXterm loads xterm.js and its fit addon, and their CSS, once. They
// live under /vendor/, put there by make from npm.
let xtermLoaded = null;
function loadXterm() {
  if (!xtermLoaded) {
    xtermLoaded = Promise.all([import("/vendor/xterm.mjs"), import("/vendor/addon-fit.mjs")]).then(([x, f]) => {
      document.head.append(h("link", { rel: "stylesheet", href: "/vendor/xterm.css" }));
      return { Terminal: x.Terminal, FitAddon: f.FitAddon };
    });
    xtermLoaded.catch(() => { xtermLoaded = null; });
  }
  return xtermLoaded;
}

// adoptStyles applies the style elements xterm.js writes (its measured
// cell size, its theme) under bmcd's Content-Security-Policy, which
// refuses inline style (style-src 'self'): their text is copied into a
// constructed style sheet, which the policy allows, whenever it changes.
function adoptStyles(container) {
  const sheet = new CSSStyleSheet();
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  const copy = () => sheet.replaceSync([...container.querySelectorAll("style")].map((e) => e.textContent).join("\n"));
  const watch = new MutationObserver(copy);
  watch.observe(container, { subtree: true, childList: true, characterData: true });
  copy();
  return () => {
    watch.disconnect();
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
  };
}

export async function render(root, ctx) {
  const info = await ctx.boardInfo();
  const n = Number(ctx.params[0]) || 1;
  if (n < 1 || n > info.slots) {
    location.replace("#/console/1");
    return;
  }
  const picker = h("nav", { class: "slotpick", "aria-label": "Slot" },
    Array.from({ length: info.slots }, (_, i) => h("a", { href: `#/console/${i + 1}`, "aria-current": i + 1 === n ? "page" : null }, String(i + 1))));
  const status = h("p", { class: "small muted", id: "console-status", role: "status", "aria-live": "polite" }, "Connecting…");
  const readOnly = h("button", { type: "button", class: "ghost", id: "readonly", "aria-pressed": "false" }, "Read only");
  const baud = h("select", { id: "baud", "aria-label": "Baud rate" }, bauds.map((b) => h("option", { value: b }, `${b} baud`)));
  const screen = h("div", { class: "term-wrap", id: "terminal" });
  const ctrl = { on: false, el: null };
  const keyRow = h("div", { class: "keys", role: "group", "aria-label": "Extra keys" }, keys.map(([label, seq, name]) => {
    const b = h("button", { type: "button", class: "ghost", "aria-label": name }, label);
    if (seq === null) {
      ctrl.el = b;
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", () => { ctrl.on = !ctrl.on; b.setAttribute("aria-pressed", String(ctrl.on)); term?.focus(); });
    } else {
      b.addEventListener("click", () => { send(seq); term?.focus(); });
    }
    // Buttons must not take the focus from the terminal (the keyboard
    // would close on a phone).
    b.addEventListener("mousedown", (e) => e.preventDefault());
    return b;
  }));
  replace(root,
    h("div", { class: "row" }, h("h2", { class: "grow" }, `Console ${n}`), picker),
    h("div", { class: "row" }, readOnly, h("div", { class: "grow" }, baud)),
    status, screen, keyRow);

  let term = null, fit = null, ws = null, closed = false, retry = 0, timer = 0, writable = false, unadopt = () => {};
  const enc = new TextEncoder();

  function say(text) { status.textContent = text; }

  try {
    const { Terminal, FitAddon } = await loadXterm();
    term = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 14, scrollback: 5000,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace', theme: { background: "#000000" } });
    fit = new FitAddon();
    term.loadAddon(fit);
    term.open(screen);
    unadopt = adoptStyles(screen);
    fit.fit();
  } catch (e) {
    replace(screen, h("p", { class: "alert", role: "alert", id: "no-xterm" },
      "This bmcd was built without xterm.js: run make (it fetches it with npm), or use bmcctl console " + n + "."));
    keyRow.hidden = true;
    say("No terminal.");
    return () => {};
  }

  function send(data) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (!writable) { say("Read only: switch it off to type."); return; }
    ws.send(enc.encode(data));
  }
  term.onData((data) => {
    if (ctrl.on && data.length === 1) {
      const c = data.toUpperCase().charCodeAt(0);
      if (c >= 64 && c <= 95) data = String.fromCharCode(c - 64);
      ctrl.on = false;
      ctrl.el.setAttribute("aria-pressed", "false");
    }
    send(data);
  });

  async function connect() {
    if (closed) return;
    clearTimeout(timer);
    let t;
    try {
      t = await ticket();
    } catch (e) {
      if (e.status === 401) return;
      say(`Cannot reach bmcd: ${ctx.describe(e)}; retrying…`);
      return backoff();
    }
    if (closed) return;
    term.reset();
    const q = new URLSearchParams({ ticket: t });
    if (readOnly.getAttribute("aria-pressed") === "true") q.set("readonly", "1");
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const sock = new WebSocket(`${proto}//${location.host}/api/v1/slots/${n}/console?${q}`);
    sock.binaryType = "arraybuffer";
    ws = sock;
    sock.onmessage = (m) => {
      if (m.data instanceof ArrayBuffer) {
        term.write(new Uint8Array(m.data));
        return;
      }
      let msg;
      try { msg = JSON.parse(m.data); } catch { return; }
      if (msg.type === "hello") {
        retry = 0;
        writable = !!msg.writable;
        if (msg.mode?.baud) baud.value = String(msg.mode.baud);
        say(`${msg.device} · ${msg.mode?.baud || "?"} baud · slot ${msg.power}` + (writable ? "" : " · read only"));
      } else if (msg.type === "notice") {
        term.write(`\r\n\x1b[33m[bmcd: ${msg.message}]\x1b[0m\r\n`);
        say(msg.message);
      } else if (msg.type === "missed") {
        term.write(`\r\n\x1b[33m[bmcd: ${msg.bytes} bytes lost: this connection was too slow]\x1b[0m\r\n`);
      }
    };
    sock.onclose = (e) => {
      if (ws !== sock) return;
      ws = null;
      writable = false;
      if (closed) return;
      say(e.code === 4001 ? "Read only: the session was closed." : `Disconnected${e.reason ? ": " + e.reason : ""}; reconnecting…`);
      backoff();
    };
  }

  function backoff() {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(connect, Math.min(10000, 500 * 2 ** retry++));
  }

  readOnly.addEventListener("click", () => {
    const on = readOnly.getAttribute("aria-pressed") !== "true";
    readOnly.setAttribute("aria-pressed", String(on));
    if (ws) { const old = ws; ws = null; old.close(1000, "read-only switched"); }
    connect();
  });

  baud.addEventListener("change", async () => {
    try {
      const st = await api("PATCH", `/slots/${n}/console`, { baud: Number(baud.value) });
      ctx.toast(`Slot ${n}: ${st.mode.baud} baud.`);
    } catch (err) {
      ctx.toast(ctx.describe(err), true);
    }
  });

  const onResize = () => fit.fit();
  window.addEventListener("resize", onResize);
  // A phone that slept has lost the socket without knowing: start again.
  let hiddenAt = 0;
  const onVisible = () => {
    if (document.visibilityState === "hidden") { hiddenAt = Date.now(); return; }
    if (!ws || Date.now() - hiddenAt > 5000) {
      if (ws) { const old = ws; ws = null; old.close(1000, "page visible again"); }
      retry = 0;
      connect();
    }
  };
  document.addEventListener("visibilitychange", onVisible);
  connect();
  term.focus();

  return () => {
    closed = true;
    clearTimeout(timer);
    window.removeEventListener("resize", onResize);
    document.removeEventListener("visibilitychange", onVisible);
    if (ws) ws.close(1000, "page left");
    term.dispose();
    unadopt();
  };
}
