// Flash: an image file uploaded from this device (with byte progress) or
// a URL bmcd downloads itself, to one or several slots at once; then the
// job's steps, rate and ETA live from the event stream, and the history.

import { api, events, session, errorFrom, networkError, expired } from "../api.js";
import { h, replace, bytes, duration, ago } from "../dom.js";

const stepWords = {
  detect: "Looking at the image", "power-off": "Switching the slot off", "usb-route": "Routing USB to the controller",
  "usb-boot-strap": "Setting USB boot", "power-on": "Switching the slot on", rpiboot: "Booting the module over USB",
  "usb-boot-release": "Releasing USB boot", write: "Writing", prepare: "Preparing the first boot",
};
const phaseWords = {
  open: "Opening", upload: "Receiving", download: "Downloading", write: "Writing", sync: "Flushing to the eMMC",
  verify: "Verifying", done: "Done",
};
const stateWords = {
  queued: "Waiting", running: "Running", succeeded: "Flashed", failed: "Failed", cancelled: "Cancelled", interrupted: "Interrupted",
};

export async function render(root, ctx) {
  const slots = await api("GET", "/slots");
  const preselect = Number(ctx.params[0]) || 0;
  const jobs = new Map(); // id → job
  const uploads = new Map(); // slot → {xhr, sent, total, el}

  // The form.
  const slotBoxes = slots.map((s) => h("label", { class: "inline" },
    h("input", { type: "checkbox", name: "slot", value: s.slot, checked: s.slot === preselect || (slots.length === 1) }),
    `${s.slot} · ${s.name || "Slot " + s.slot}${s.module ? " (" + s.module + ")" : ""}`));
  // No accept filter: phones grey out files whose type they do not
  // know, and an image may have any name; bmcd looks at the content.
  const fileInput = h("input", { type: "file", id: "image-file" });
  const urlInput = h("input", { type: "url", id: "image-url", placeholder: "https://…/image.img.xz", inputmode: "url", autocapitalize: "none" });
  const srcFile = h("input", { type: "radio", name: "source", id: "src-file", value: "file", checked: true });
  const srcURL = h("input", { type: "radio", name: "source", id: "src-url", value: "url" });
  const fileRow = h("div", {}, h("label", { for: "image-file" }, "Image file"), fileInput,
    h("p", { class: "hint" }, "Raw, .gz, .xz, .zst or .bz2: bmcd decompresses as it writes. It goes straight to the eMMC; keep this page open until it is done."));
  const urlRow = h("div", { hidden: true }, h("label", { for: "image-url" }, "Image URL"), urlInput,
    h("p", { class: "hint" }, "bmcd downloads it itself; you can close this page."));
  const sha = h("input", { id: "sha256", placeholder: "optional: 64 hex digits", autocapitalize: "none", spellcheck: "false", pattern: "[0-9a-fA-F]{64}" });
  const verify = h("input", { type: "checkbox", id: "verify", checked: true });
  const powerOn = h("input", { type: "checkbox", id: "power-on" });
  const hostname = h("input", { id: "hostname", placeholder: "node{slot}", autocapitalize: "none", spellcheck: "false" });
  const user = h("input", { id: "fb-user", placeholder: "the image's default", autocapitalize: "none", spellcheck: "false" });
  const sshKey = h("textarea", { id: "ssh-key", placeholder: "ssh-ed25519 AAAA… you@laptop", spellcheck: "false", autocapitalize: "none" });
  const k3s = h("input", { type: "checkbox", id: "k3s-prep" });
  const formMsg = h("p", { class: "alert", role: "alert", hidden: true });
  const go = h("button", { type: "submit", id: "flash-go" }, "Flash");
  for (const r of [srcFile, srcURL]) r.addEventListener("change", () => { fileRow.hidden = !srcFile.checked; urlRow.hidden = srcFile.checked; });

  const form = h("form", { class: "card", id: "flash-form", novalidate: true },
    h("fieldset", {}, h("legend", {}, "Slots"), slotBoxes,
      h("p", { class: "hint" }, "Pick several to flash them at once with the same image.")),
    h("fieldset", {}, h("legend", {}, "Image"),
      h("div", { class: "row" }, h("label", { class: "inline" }, srcFile, "A file on this device"),
        h("label", { class: "inline" }, srcURL, "A URL")),
      fileRow, urlRow,
      h("label", { for: "sha256" }, "SHA-256"), sha,
      h("label", { class: "inline" }, verify, "Read back and verify after writing"),
      h("label", { class: "inline" }, powerOn, "Switch the slot on when done")),
    h("details", {}, h("summary", {}, "First boot (Raspberry Pi OS, Ubuntu): hostname and SSH key"),
      h("label", { for: "hostname" }, "Hostname"), hostname,
      h("p", { class: "hint" }, "{slot} becomes the slot number, so several slots get their own names."),
      h("label", { for: "fb-user" }, "User"), user,
      h("label", { for: "ssh-key" }, "SSH public keys (one a line)"), sshKey,
      h("label", { class: "inline" }, k3s, "Ready the node for k3s (cgroups)")),
    formMsg, go);

  const uploadList = h("div", { id: "uploads" });
  const jobList = h("div", { id: "jobs" });
  replace(root, h("h2", {}, "Flash"), form, uploadList,
    h("section", { class: "card", "aria-labelledby": "jobs-title" }, h("h3", { id: "jobs-title" }, "Jobs"), jobList));

  function fail(text, focus) {
    formMsg.hidden = false;
    formMsg.textContent = text;
    focus?.focus();
  }

  // prepared is the first-boot fields for slot n; empty when none is set.
  function prepared(n) {
    const p = {};
    if (hostname.value.trim()) p.hostname = hostname.value.trim().replaceAll("{slot}", String(n));
    if (user.value.trim()) p.user = user.value.trim();
    const keys = sshKey.value.split("\n").map((k) => k.trim()).filter(Boolean);
    if (keys.length) p.ssh_keys = keys;
    if (k3s.checked) p.k3s_prep = true;
    return p;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    formMsg.hidden = true;
    const chosen = slotBoxes.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => Number(i.value));
    if (!chosen.length) return fail("Pick at least one slot.", slotBoxes[0].querySelector("input"));
    const digest = sha.value.trim().toLowerCase();
    if (digest && !/^[0-9a-f]{64}$/.test(digest)) return fail("The SHA-256 is 64 hexadecimal digits.", sha);
    if (srcFile.checked) {
      const f = fileInput.files[0];
      if (!f) return fail("Choose an image file.", fileInput);
      for (const n of chosen) upload(n, f, digest);
    } else {
      let u;
      try { u = new URL(urlInput.value.trim()); } catch { return fail("Enter the image's full URL (http:// or https://).", urlInput); }
      for (const n of chosen) {
        try {
          const job = await api("POST", `/slots/${n}/flash`, {
            url: u.href, sha256: digest || undefined, verify: verify.checked, power_on: powerOn.checked, ...prepared(n),
          });
          show(job);
          ctx.toast(`Slot ${n}: flashing from the URL.`);
        } catch (err) {
          ctx.toast(`Slot ${n}: ${ctx.describe(err)}`, true);
        }
      }
    }
  });

  // upload streams the file as the request body; bmcd writes it to the
  // eMMC as it comes, and answers with the finished job.
  function upload(n, f, digest) {
    if (uploads.has(n)) return ctx.toast(`Slot ${n} is being flashed from this page already.`, true);
    const q = new URLSearchParams({ name: f.name, verify: String(verify.checked), power_on: String(powerOn.checked) });
    if (digest) q.set("sha256", digest);
    const p = prepared(n);
    if (p.hostname) q.set("hostname", p.hostname);
    if (p.user) q.set("user", p.user);
    for (const k of p.ssh_keys || []) q.append("ssh_key", k);
    if (p.k3s_prep) q.set("k3s_prep", "true");
    const xhr = new XMLHttpRequest();
    const bar = h("progress", { max: f.size, value: 0, "aria-label": `Upload to slot ${n}` });
    const text = h("span", { class: "small" }, "Starting…");
    const cancel = h("button", { type: "button", class: "ghost", onclick: () => cancelUpload(n) }, "Cancel");
    const el = h("div", { class: "card", id: `upload-${n}` },
      h("div", { class: "row" }, h("strong", { class: "grow" }, `Uploading ${f.name} to slot ${n}`), cancel), bar, text);
    const up = { xhr, el, started: performance.now(), cancelled: false };
    uploads.set(n, up);
    uploadList.append(el);
    xhr.upload.onprogress = (e) => {
      bar.value = e.loaded;
      const secs = (performance.now() - up.started) / 1000;
      const rate = e.loaded / Math.max(secs, 0.001);
      text.textContent = `${bytes(e.loaded)} of ${bytes(f.size)} sent · ${bytes(rate)}/s` +
        (e.loaded < f.size ? ` · ${duration((f.size - e.loaded) / rate)} left` : " · bmcd is finishing");
    };
    xhr.onload = async () => {
      uploads.delete(n);
      el.remove();
      if (xhr.status >= 200 && xhr.status < 300) {
        const job = JSON.parse(xhr.responseText);
        show(job);
        ctx.toast(job.state === "succeeded" ? `Slot ${n} flashed.` : `Slot ${n}: ${stateWords[job.state] || job.state}: ${job.error || ""}`, job.state !== "succeeded");
        return;
      }
      const err = await errorFrom(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText }));
      if (xhr.status === 401) expired();
      ctx.toast(`Slot ${n}: ${err.message}`, true);
    };
    xhr.onerror = () => {
      uploads.delete(n);
      el.remove();
      if (!up.cancelled) ctx.toast(`Slot ${n}: ${networkError().message}`, true);
    };
    xhr.onabort = xhr.onerror;
    xhr.open("POST", `/api/v1/slots/${n}/flash?${q}`);
    xhr.setRequestHeader("Authorization", "Bearer " + session.token);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.send(f);
  }

  async function cancelUpload(n) {
    const up = uploads.get(n);
    if (!up) return;
    up.cancelled = true;
    // The job, if bmcd made one, is cancelled too so that the slot is
    // put back at once rather than when the body stops.
    const running = [...jobs.values()].find((j) => j.slot === n && (j.state === "running" || j.state === "queued"));
    up.xhr.abort();
    if (running) await cancelJob(running.id);
    ctx.toast(`Slot ${n}: upload cancelled.`);
  }

  async function cancelJob(id) {
    try {
      show(await api("DELETE", `/jobs/${id}`));
    } catch (err) {
      ctx.toast(ctx.describe(err), true);
    }
  }

  function jobView(j) {
    const p = j.progress || {};
    const active = j.state === "running" || j.state === "queued";
    const lines = [];
    let bar = null;
    if (active) {
      const step = p.phase && j.step === "write" ? phaseWords[p.phase] || p.phase : stepWords[j.step] || j.step || stateWords[j.state];
      const done = p.phase === "verify" ? p.bytes_verified : p.bytes_in;
      bar = p.total > 0 ? h("progress", { max: p.total, value: Math.min(done, p.total), "aria-label": `Job ${j.id}: ${step}` })
        : h("progress", { "aria-label": `Job ${j.id}: ${step}` });
      const parts = [step];
      if (p.total > 0) parts.push(`${bytes(done)} of ${bytes(p.total)}`);
      else if (done > 0) parts.push(bytes(done));
      if (p.rate > 0) parts.push(`${bytes(p.rate)}/s`);
      if (p.eta_seconds > 0) parts.push(`${duration(p.eta_seconds)} left`);
      lines.push(h("div", { class: "small", "data-progress": "" }, parts.join(" · ")));
    } else {
      const took = j.started && j.finished ? ` in ${duration((new Date(j.finished) - new Date(j.started)) / 1000)}` : "";
      lines.push(h("div", { class: "small muted" }, `${ago(j.finished || j.created)}${took}` +
        (p.bytes_written ? ` · ${bytes(p.bytes_written)} written` : "")));
    }
    if (j.error) lines.push(h("p", { class: "alert", role: "alert" }, `Failed at “${stepWords[j.step] || j.step}”: ${j.error}`));
    if (j.cleanup_error) lines.push(h("p", { class: "note" }, `Putting the slot back failed too: ${j.cleanup_error}`));
    if (j.prepare) lines.push(h("div", { class: "small muted" }, `First boot: ${j.prepare.hostname || "?"}, user ${j.prepare.user || "?"}`));
    return h("div", { class: "job", id: `job-${j.id}`, "data-state": j.state },
      h("div", { class: "row" },
        h("strong", {}, `#${j.id} · slot ${j.slot}`),
        h("span", { class: "grow small mono" }, j.image),
        h("span", { class: "state-" + j.state }, stateWords[j.state] || j.state),
        active ? h("button", { type: "button", class: "ghost", onclick: () => cancelJob(j.id) }, "Cancel") : null),
      bar, lines);
  }

  function show(j) {
    if (j.kind === "cluster") return;
    const old = jobs.get(j.id);
    // Events may arrive out of order with a reload: keep the newest.
    if (old && old.state !== j.state && !(old.state === "running" || old.state === "queued")) return;
    jobs.set(j.id, j);
    const el = jobView(j);
    const cur = document.getElementById(`job-${j.id}`);
    if (cur) cur.replaceWith(el);
    else {
      // Newest first.
      const after = [...jobList.children].find((c) => Number(c.id.slice(4)) < j.id);
      jobList.insertBefore(el, after || null);
    }
  }

  async function load() {
    const list = await api("GET", "/jobs");
    list.sort((a, b) => b.id - a.id).forEach(show);
    if (!jobs.size) replace(jobList, h("p", { class: "muted", id: "no-jobs" }, "No flash yet since bmcd started."));
    else document.getElementById("no-jobs")?.remove();
  }

  const off = [
    events.on((ev) => { if (ev.job) { document.getElementById("no-jobs")?.remove(); show(ev.job); } }),
    events.onResync(() => load().catch(() => {})),
  ];
  await load();
  return () => {
    off.forEach((f) => f());
    // Leaving the page does not stop an upload: it goes on in the
    // background until it is done.
  };
}
