// The JSON API, the session token and the live event stream.

const TOKEN = "bmcd.token";
const EXPIRES = "bmcd.expires";

// ApiError is an error answer of bmcd: status, code and its sentence.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// session is the login kept in localStorage, so that a reload or a
// second tab stays logged in.
export const session = {
  get token() { return localStorage.getItem(TOKEN) || ""; },
  get expires() { return localStorage.getItem(EXPIRES) || ""; },
  save(token, expires) {
    localStorage.setItem(TOKEN, token);
    localStorage.setItem(EXPIRES, expires || "");
  },
  clear() {
    localStorage.removeItem(TOKEN);
    localStorage.removeItem(EXPIRES);
  },
};

// onExpired is called when bmcd refuses the token (401): app.js sends
// the user back to the login page with a message.
let expiredHandler = () => {};
export function onExpired(fn) { expiredHandler = fn; }

// errorFrom turns a response that is not ok into an ApiError.
export async function errorFrom(resp) {
  let code = "", message = "";
  try {
    const body = await resp.json();
    code = body?.error?.code || "";
    message = body?.error?.message || "";
  } catch { /* not JSON: a proxy or a crash */ }
  return new ApiError(resp.status, code, message || `${resp.status} ${resp.statusText || "error"}`);
}

// networkError is what a fetch that never got an answer throws.
export function networkError() {
  return new ApiError(0, "network", "bmcd does not answer: is it running, and is this device on its network?");
}

// api calls a JSON endpoint with the session's token and answers the
// decoded body (null for 204). Errors are ApiError; a 401 also ends
// the session.
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = "Bearer " + session.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // A request that failed on the way (the phone changed networks, a
  // connection bmcd had just closed) is sent once more if sending it
  // twice does no harm.
  const again = opts.idempotent ?? (method === "GET" || method === "PATCH" || method === "DELETE");
  let resp;
  for (let attempt = 0; ; attempt++) {
    try {
      resp = await fetch("/api/v1" + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: opts.signal,
      });
      break;
    } catch (e) {
      if (e.name === "AbortError") throw e;
      if (!again || attempt > 0) throw networkError();
    }
  }
  if (!resp.ok) {
    const err = await errorFrom(resp);
    if (resp.status === 401 && !opts.noExpire) expired();
    throw err;
  }
  if (opts.raw) return resp;
  if (resp.status === 204) return null;
  return resp.json();
}

// expired ends the session once and tells app.js.
export function expired() {
  if (!session.token) return;
  session.clear();
  events.stop();
  expiredHandler();
}

// ticket gets a single-use, short-lived ticket that authenticates the
// event stream or a console WebSocket, which browsers open without
// headers: the token itself never appears in a URL (or a log).
export async function ticket() {
  const t = await api("POST", "/auth/ticket", undefined, { idempotent: true });
  return t.ticket;
}

// events is the one event stream of the page, shared by all views. It
// reconnects with a fresh ticket after an error (bmcd restarted, Wi-Fi
// gone) and when the page becomes visible again (a phone that slept
// drops its connections without telling). Listeners get every event;
// resync listeners are told after each (re)connect, when they should
// reload what they show, because events may have been missed.
class EventStream {
  constructor() {
    this.src = null;
    this.listeners = new Set();
    this.resyncs = new Set();
    this.stateListeners = new Set();
    this.retry = 0;
    this.timer = 0;
    this.running = false;
    this.connected = false;
    this.lastId = "";
    this.hiddenAt = 0;
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") { this.hiddenAt = Date.now(); return; }
      if (!this.running) return;
      // A phone that slept may keep a dead connection that looks open:
      // after more than a few seconds away, start afresh.
      if (!this.connected || Date.now() - this.hiddenAt > 5000) this.reconnect(0);
    });
    window.addEventListener("online", () => { if (this.running && !this.connected) this.reconnect(0); });
  }

  on(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }
  onResync(fn) { this.resyncs.add(fn); return () => this.resyncs.delete(fn); }
  onState(fn) { this.stateListeners.add(fn); fn(this.connected); return () => this.stateListeners.delete(fn); }

  setConnected(c) {
    if (this.connected === c) return;
    this.connected = c;
    for (const fn of this.stateListeners) fn(c);
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop() {
    this.running = false;
    this.lastId = "";
    clearTimeout(this.timer);
    if (this.src) this.src.close();
    this.src = null;
    this.setConnected(false);
  }

  reconnect(delay) {
    clearTimeout(this.timer);
    if (this.src) this.src.close();
    this.src = null;
    this.setConnected(false);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  async connect() {
    if (!this.running) return;
    let t;
    try {
      t = await ticket();
    } catch (e) {
      if (e.status === 401 || !this.running) return; // the session ended
      return this.backoff();
    }
    if (!this.running) return;
    // The events missed since the last one seen come first, as far as
    // bmcd remembers them.
    const q = new URLSearchParams({ ticket: t });
    if (this.lastId) q.set("last_event_id", this.lastId);
    const src = new EventSource("/api/v1/events?" + q);
    this.src = src;
    src.onopen = () => {
      this.retry = 0;
      this.setConnected(true);
      for (const fn of this.resyncs) fn();
    };
    // A ticket is good once: EventSource's own retry would be refused,
    // so every error closes it and reconnects with a fresh ticket.
    src.onerror = () => {
      if (this.src !== src) return;
      src.close();
      this.src = null;
      this.setConnected(false);
      this.backoff();
    };
    const deliver = (m) => {
      if (m.lastEventId) this.lastId = m.lastEventId;
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      for (const fn of this.listeners) fn(ev);
    };
    for (const type of ["power", "slot", "job"]) src.addEventListener(type, deliver);
    // Too slow a reader is dropped by bmcd: come back at once.
    src.addEventListener("lagged", () => this.reconnect(0));
  }

  backoff() {
    if (!this.running) return;
    const delay = Math.min(10000, 500 * 2 ** this.retry++);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

export const events = new EventStream();
