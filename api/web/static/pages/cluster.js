// Cluster: the k3s cluster as the last cluster job left it, and the
// kubeconfig to download.

import { api, events } from "../api.js";
import { h, replace } from "../dom.js";

export async function render(root, ctx) {
  const body = h("div", { id: "cluster" }, h("p", { class: "muted" }, "Loading…"));
  replace(root, h("h2", {}, "Cluster"), body);

  async function download() {
    try {
      const resp = await api("GET", "/cluster/kubeconfig", undefined, { raw: true });
      const url = URL.createObjectURL(await resp.blob());
      const a = h("a", { href: url, download: "kubeconfig.yaml" });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      ctx.toast(ctx.describe(err), true);
    }
  }

  async function load() {
    let st;
    try {
      st = await api("GET", "/cluster");
    } catch (err) {
      if (err.status === 404 || err.status === 501) {
        replace(body, h("div", { class: "card" },
          h("p", {}, "No cluster yet."),
          h("p", { class: "hint" }, "Flash the nodes with a hostname and SSH key (Flash, First boot), switch them on, then from a shell: "),
          h("p", { class: "mono" }, "bmcctl cluster up --server 1 --agents 2,3,4"),
          h("p", { class: "hint" }, err.message)));
        return;
      }
      throw err;
    }
    const ready = st.nodes.filter((n) => n.ready).length;
    replace(body,
      h("div", { class: "card" },
        h("dl", {},
          h("dt", {}, "Nodes ready"), h("dd", { id: "cluster-ready" }, `${ready} of ${st.nodes.length}`),
          h("dt", {}, "k3s"), h("dd", {}, st.k3s_version || "?"),
          h("dt", {}, "Last job"), h("dd", {}, `#${st.last_job} ${st.last_state}`)),
        h("div", { class: "row" },
          h("button", { type: "button", id: "kubeconfig", disabled: !st.kubeconfig, onclick: download }, "Download kubeconfig"),
          st.kubeconfig ? null : h("span", { class: "hint" }, "Kept after a cluster job succeeds."))),
      h("div", { class: "card" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "Node"), h("th", {}, "Role"), h("th", {}, "State"))),
        h("tbody", {}, st.nodes.map((n) => h("tr", {},
          h("td", {}, h("strong", {}, n.name), h("div", { class: "small muted mono" }, `${n.slot ? "slot " + n.slot + " · " : ""}${n.addr}`)),
          h("td", {}, n.role),
          h("td", {}, n.ready ? h("span", { class: "state-succeeded" }, "Ready") : h("span", { class: "state-failed" }, "Not ready"),
            n.action ? h("div", { class: "small muted" }, n.action) : null,
            n.error ? h("div", { class: "small alert" }, n.error) : null)))))));
  }

  const off = [
    events.on((ev) => { if (ev.job?.kind === "cluster" && ev.job.state !== "running") load().catch(() => {}); }),
    events.onResync(() => load().catch(() => {})),
  ];
  await load();
  return () => off.forEach((f) => f());
}
