// Building DOM nodes without innerHTML, so no text from the board (slot
// names, job errors) is ever parsed as HTML.

// h makes an element: h("button", {class: "ghost", onclick: f}, "Text").
// Attributes starting with "on" become listeners; true sets a boolean
// attribute, false/null/undefined leave it out.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// replace puts children in el instead of what it had.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// bytes says a size the way people read it.
export function bytes(n) {
  if (n === null || n === undefined || n < 0) return "?";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
}

// duration says seconds as "1 h 2 min", "3 min 4 s" or "5 s".
export function duration(s) {
  if (!isFinite(s) || s < 0) return "?";
  s = Math.round(s);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

// ago says how long ago an ISO time was.
export function ago(iso) {
  if (!iso) return "";
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  return s < 5 ? "just now" : duration(s) + " ago";
}
