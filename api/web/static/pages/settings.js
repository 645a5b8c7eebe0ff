// Settings: each slot's name, module and power-restore policy (PATCH
// /api/v1/slots/{n}), and what bmcd says about the board.

import { api, events } from "../api.js";
import { h, replace } from "../dom.js";

const policies = [
  ["last-state", "As before the power loss"], ["always-off", "Stay off"], ["always-on", "Switch on"],
];

export async function render(root, ctx) {
  const info = await ctx.boardInfo();
  const slots = await api("GET", "/slots");
  const focus = Number(ctx.params[0]) || 0;

  const forms = slots.map((s) => {
    const id = (f) => `slot${s.slot}-${f}`;
    const name = h("input", { id: id("name"), value: s.name, maxlength: 64, autocomplete: "off" });
    const module = h("input", { id: id("module"), value: s.module, maxlength: 64, placeholder: "CM4, RK1, Jetson…", autocomplete: "off" });
    const policy = h("select", { id: id("policy") }, policies.map(([v, t]) => h("option", { value: v }, t)));
    policy.value = s.policy;
    const msg = h("p", { role: "status", class: "small", "aria-live": "polite" });
    const save = h("button", { type: "submit" }, "Save");
    const form = h("form", { class: "card", id: `settings-${s.slot}`, "aria-labelledby": id("title") },
      h("h3", { id: id("title") }, `Slot ${s.slot}`),
      h("label", { for: id("name") }, "Name"), name,
      h("label", { for: id("module") }, "Module"), module,
      h("label", { for: id("policy") }, "When the board gets power back"), policy,
      msg, h("div", { class: "row end" }, save));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      save.disabled = true;
      msg.className = "small";
      try {
        const got = await api("PATCH", `/slots/${s.slot}`, { name: name.value.trim(), module: module.value.trim(), policy: policy.value });
        msg.textContent = "Saved.";
        name.value = got.name;
        module.value = got.module;
      } catch (err) {
        msg.className = "small alert";
        msg.textContent = ctx.describe(err);
      } finally {
        save.disabled = false;
      }
    });
    return form;
  });

  const caps = info.capabilities.length ? info.capabilities.join(", ") : "power only";
  replace(root,
    h("h2", {}, "Settings"),
    h("div", { class: "cards" }, forms),
    h("section", { class: "card", "aria-labelledby": "board-title" },
      h("h3", { id: "board-title" }, "Board"),
      h("dl", { id: "board-info" },
        h("dt", {}, "Model"), h("dd", {}, info.model),
        h("dt", {}, "Profile"), h("dd", {}, info.profile),
        h("dt", {}, "Slots"), h("dd", {}, String(info.slots)),
        h("dt", {}, "Can"), h("dd", {}, caps),
        h("dt", {}, "bmcd"), h("dd", { id: "version" }, info.version || "?")),
      (info.warnings || []).map((w) => h("p", { class: "note" }, w))));
  if (focus) document.getElementById(`slot${focus}-name`)?.focus();

  // Another client renamed a slot: show it unless the user is editing.
  const off = events.on((ev) => {
    if (ev.type !== "slot" || !ev.slot) return;
    const form = document.getElementById(`settings-${ev.slot.slot}`);
    if (!form || form.contains(document.activeElement)) return;
    form.querySelector(`#slot${ev.slot.slot}-name`).value = ev.slot.name;
    form.querySelector(`#slot${ev.slot.slot}-module`).value = ev.slot.module;
    form.querySelector(`#slot${ev.slot.slot}-policy`).value = ev.slot.policy;
  });
  return off;
}
