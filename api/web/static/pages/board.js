// Board overview: one card per slot with its measured power, kept live
// by the event stream (no polling), and the power actions.

import { api, events } from "../api.js";
import { h, replace } from "../dom.js";

// since says when: the time of day today, else the date too.
function since(iso) {
  const t = new Date(iso);
  const sameDay = t.toDateString() === new Date().toDateString();
  return sameDay ? t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : t.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

const actionWords = { on: "On", off: "Off", reset: "Reset", cycle: "Cycle" };
const doing = { on: "Switching on…", off: "Switching off…", reset: "Resetting…", cycle: "Power cycling…" };

export async function render(root, ctx) {
  const info = await ctx.boardInfo();
  const canReset = info.capabilities.includes("reset");
  const cards = new Map(); // slot → {el, slot, job, pending, error}
  const list = h("div", { class: "cards", id: "slots" });
  const warnings = (info.warnings || []).map((w) => h("p", { class: "note", role: "note" }, w));

  const allOn = h("button", { type: "button", id: "all-on", onclick: () => powerAll("on") }, "All on");
  const allOff = h("button", { type: "button", id: "all-off", class: "ghost", onclick: () => powerAll("off") }, "All off");
  replace(root,
    h("div", { class: "row" }, h("h2", { class: "grow" }, "Board"), allOn, allOff),
    warnings, list);

  function draw(n) {
    const c = cards.get(n);
    const s = c.slot;
    const job = c.job && (c.job.state === "running" || c.job.state === "queued") ? c.job : null;
    const busy = !!c.pending || s.busy || !!job;
    const title = s.name || `Slot ${s.slot}`;
    const state = h("span", { class: "power " + s.power, "data-power": s.power, title: "Measured on the board" },
      s.power === "on" ? "On" : s.power === "off" ? "Off" : "Unknown");
    const badges = [];
    if (c.pending) badges.push(h("span", { class: "badge" }, doing[c.pending]));
    else if (job) {
      const p = job.progress || {};
      const pct = p.total > 0 ? ` ${Math.floor(100 * (p.phase === "verify" ? p.bytes_verified : p.bytes_in) / p.total)}%` : "";
      badges.push(h("a", { class: "badge", href: "#/flash" }, `Flashing: ${p.phase || job.step || job.state}${pct}`));
    } else if (s.busy) badges.push(h("span", { class: "badge" }, "Busy"));
    if (s.self) badges.push(h("span", { class: "badge", title: "bmcd runs on this slot" }, "bmcd runs here"));
    if (s.present === false) badges.push(h("span", { class: "badge" }, "Empty"));

    const button = (a) => h("button", {
      type: "button", class: a === "on" ? "" : "ghost", disabled: busy || (a === "reset" && !canReset),
      "data-action": a, "aria-label": `${actionWords[a]}: ${title}`, onclick: () => power(n, a),
    }, actionWords[a]);
    const node = s.node ? h("div", { class: "sub" }, `${s.node.hostname} · ${s.node.address}`) : null;
    const el = h("article", { class: "card", id: `slot-${n}`, "aria-labelledby": `slot-${n}-title`, "aria-busy": busy ? "true" : "false" },
      h("header", {},
        h("div", { class: "grow" },
          h("h3", { id: `slot-${n}-title` }, `${s.slot} · ${title}`),
          h("div", { class: "sub" }, [s.module || "module not set", s.power_changed_at ? ` · ${s.power === "on" ? "on" : "off"} since ${since(s.power_changed_at)}` : ""].join("")),
          node),
        state),
      badges.length ? h("div", { class: "row" }, badges) : null,
      s.warning ? h("p", { class: "note" }, s.warning) : null,
      c.error ? h("p", { class: "alert", role: "alert" }, c.error) : null,
      h("div", { class: "actions" }, ["on", "off", "reset", "cycle"].map(button)),
      h("div", { class: "links" },
        h("a", { href: `#/console/${n}` }, "Console"),
        h("a", { href: `#/flash/${n}` }, "Flash"),
        h("a", { href: `#/settings/${n}` }, "Settings")));
    // Keep focus on the same button when the card is redrawn.
    const focused = document.activeElement?.closest?.(`#slot-${n}`) ? document.activeElement.dataset.action : null;
    if (c.el) c.el.replaceWith(el); else list.append(el);
    c.el = el;
    if (focused) el.querySelector(`[data-action="${focused}"]`)?.focus();
  }

  function update(slot) {
    const c = cards.get(slot.slot) || { el: null, job: null, pending: null, error: "" };
    c.slot = slot;
    cards.set(slot.slot, c);
    draw(slot.slot);
  }

  async function power(n, action) {
    const c = cards.get(n);
    const s = c.slot;
    const name = s.name || `slot ${n}`;
    let force = false;
    if (action === "off" || action === "cycle" || action === "reset") {
      const text = s.self
        ? `bmcd itself runs on ${name}: this page and every bmcctl lose the board until it is back.`
        : action === "off" ? `${name} loses power at once, like pulling the plug: save your work on the node first.`
        : `${name} restarts at once without shutting down.`;
      const ok = await ctx.confirm(`${actionWords[action]}: ${name}?`, text, `${actionWords[action]}`);
      if (!ok) return;
      force = s.self;
    }
    c.pending = action;
    c.error = "";
    draw(n);
    try {
      // On and off may be sent twice; a reset or cycle may not.
      const slot = await api("POST", `/slots/${n}/power`, { action, force }, { idempotent: action === "on" || action === "off" });
      c.pending = null;
      update(slot);
    } catch (err) {
      c.pending = null;
      c.error = ctx.describe(err);
      draw(n);
    }
  }

  async function powerAll(action) {
    if (action === "off") {
      const self = [...cards.values()].some((c) => c.slot.self);
      const ok = await ctx.confirm("Switch every slot off?", "Every node loses power at once." +
        (self ? " bmcd's own slot stays on." : ""), "All off");
      if (!ok) return;
    }
    allOn.disabled = allOff.disabled = true;
    try {
      const slots = await api("POST", "/power", { action });
      slots.forEach(update);
      ctx.toast(action === "on" ? "Every slot is switching on." : "Every slot is off.");
    } catch (err) {
      ctx.toast(ctx.describe(err), true);
      load();
    } finally {
      allOn.disabled = allOff.disabled = false;
    }
  }

  // A snapshot asked for before a slot's latest event is older than
  // that event: it must not undo it (a reconnect's reload racing a power
  // change made meanwhile).
  let eventSeq = 0;
  const eventAt = new Map();

  async function load() {
    const asked = eventSeq;
    const [slots, jobs] = await Promise.all([api("GET", "/slots"), api("GET", "/jobs")]);
    for (const j of jobs) if (j.kind !== "cluster") track(j);
    for (const s of slots) if ((eventAt.get(s.slot) ?? -1) < asked) update(s);
  }

  function track(job) {
    const c = cards.get(job.slot);
    if (!c) {
      cards.set(job.slot, { el: null, job, pending: null, error: "", slot: null });
      return false;
    }
    if (!c.job || c.job.id <= job.id) c.job = job;
    return true;
  }

  const off = [
    events.on((ev) => {
      if (ev.slot && (ev.type === "power" || ev.type === "slot")) {
        eventAt.set(ev.slot.slot, eventSeq++);
        const c = cards.get(ev.slot.slot);
        if (c && !c.pending) update(ev.slot);
        else if (c) c.slot = ev.slot;
      } else if (ev.job && ev.job.kind !== "cluster") {
        if (track(ev.job) && cards.get(ev.job.slot).slot) draw(ev.job.slot);
      }
    }),
    events.onResync(() => load().catch(() => {})),
  ];
  await load();
  return () => off.forEach((f) => f());
}
