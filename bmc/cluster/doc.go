// Package cluster is how bmcd reaches the nodes of a k3s cluster: SSH
// connections it trusts, and the checks it runs before installing
// anything.
//
// # SSH
//
// [Dial] opens one connection to a [Node] (name, host:port, recorded host
// key) with golang.org/x/crypto/ssh:
//
//   - The host key is pinned: only the recorded key is accepted, and only
//     its algorithm is negotiated (otherwise a node may offer another of
//     its keys and read as a mismatch). A different key fails with
//     [ErrHostKeyMismatch], naming the node and both SHA256 fingerprints.
//   - Public-key auth only, with the key bmcd holds; a refused key is
//     [ErrAuth]. No agent, no agent forwarding, no PTY.
//   - TCP connect, handshake and auth together are bounded by
//     [Config.HandshakeTimeout] ([ErrHandshakeTimeout]): x/crypto's own
//     timeout covers only the connect.
//   - keepalive@openssh.com goes out every [Config.KeepaliveInterval]; after
//     [Config.KeepaliveMisses] intervals with a request unanswered the
//     connection is dropped ([ErrKeepalive]) and every command on it fails.
//   - Each command runs in its own session ([Conn.Run]) as
//     [WireCommand]: the shell first reports its process id on stderr
//     (removed from the result). Cancelling the context kills that whole
//     process group from a second session — OpenSSH refuses "signal"
//     requests for root logins, and closing a channel does not end a
//     command without a PTY — then closes the session. [Conn.Upload]
//     streams a file over a session's stdin into `tee` (no sftp on the
//     node needed), checks its SHA-256 there and renames it into place.
//
// [Pool] keeps one connection per node and redials one that has gone.
//
// # Preflight
//
// [Preflight] dials every node through a [Dialer] and runs these checks on
// all nodes in parallel, reporting one [Finding] per node per check (a
// failed check never stops the others):
//
//	reachable      the node accepted SSH with its recorded key
//	clock          timedatectl show -p NTPSynchronized --value   → "yes"
//	               else chronyc -n tracking                       → "Leap status : Normal"
//	               else test -e /run/systemd/timesync/synchronized → exit 0
//	memory-cgroup  cat /sys/fs/cgroup/cgroup.controllers → lists "memory" (cgroup v2)
//	               else cat /proc/cgroups → memory row enabled = 1 (cgroup v1)
//	hostname       hostname → non-empty and unique across the nodes
//	arch           uname -m → aarch64/arm64 (k3s arm64), armv7l/armv8l (arm), x86_64 (amd64)
//	disk           df -Pk /var/lib → "Available" ≥ [Limits.MinFreeDisk]
//
// A fallback is taken only when the command before it ran and failed (for
// example "command not found", exit 127); a transport error fails the
// check. The exact strings are the Cmd* constants, listed in
// [PreflightCommands], so a simulated node can answer them; over SSH each
// arrives behind [WirePrefix].
//
// Why each check: nodes have no RTC and certificates made with a wrong
// clock fail as "not yet valid"; Raspberry Pi firmware passes
// cgroup_disable=memory, which cgroup_enable=memory undoes; k3s refuses two
// nodes with one hostname, and identically flashed images share one.
//
// # k3s
//
// [Install] converges nodes to a cluster over a [Dialer]. Per node it first
// probes whether k3s already runs at the wanted role and then skips it
// (at the other role the node is refused with [ErrWrongRole]); after an
// install it probes again, because offline `curl -sfL … | sh` exits 0
// having run an empty script ([ErrNotInstalled]):
//
//	probe server   systemctl is-active --quiet k3s         → exit 0
//	probe agent    systemctl is-active --quiet k3s-agent   → exit 0
//	install        curl -sfL https://get.k3s.io | [INSTALL_K3S_VERSION=…] [K3S_URL=https://<first server>:6443] K3S_TOKEN=… sh -s - server|agent [--cluster-init]
//	               (air-gapped: see below)
//	ready          k3s kubectl get nodes -o json (on the first server) → every node's Ready condition True
//	kubeconfig     cat /etc/rancher/k3s/k3s.yaml
//	drain          k3s kubectl drain --ignore-daemonsets --delete-emptydir-data --timeout D NODE (on a server that stays)
//	delete         k3s kubectl delete node NODE (same server)
//	uninstall      /usr/local/bin/k3s-uninstall.sh | /usr/local/bin/k3s-agent-uninstall.sh
//
// [Remove] drains, deletes and uninstalls one node; [Down] uninstalls the
// agents, then the servers. Both finish a half-done job when run again
// (NotFound from kubectl, a missing uninstall script). An [Observer]
// hears the steps and each node's progress and outcome as they happen.
//
// The first server installs alone (with --cluster-init when more servers
// follow). Then the other servers join one at a time, each after the one
// before has come up, while all agents join the first server in parallel
// with that chain: bootstrap ≈ first server + max(server joins in
// sequence, slowest agent). Servers do not join together because embedded
// etcd adds a joining server as a learner and refuses a second learner
// until the first is promoted ("etcdserver: too many learner members in
// cluster"): k3s exited on it before v1.27 (k3s#7000) and retries since
// (k3s#7351), so concurrent server joins save no time, and they have hit
// a certificate race needing a re-run (k3s#7557) and, in older releases,
// a join that never recovered (k3s#4335). Agents do not touch etcd.
// [InstallSpec.OneAtATime] chains every join instead. The token is
// [NewToken]'s, kept by bmcd.
//
// # Air-gapped install
//
// With [InstallSpec.Airgap] set the nodes need no internet. Each node's
// files are picked by the architecture preflight found ([PickAirgap]:
// k3s, k3s-arm64 or k3s-armhf, k3s-airgap-images-<arch>.tar.zst|.gz|
// .tar, install.sh), all nodes' files are checked before anything is
// installed ([ErrAirgapMissing]), then per node:
//
//	uid            id -u → not 0: every upload command runs through sudo -n
//	upload         [NodeBinaryPath] 0755, [NodeImagesDir]/<images> 0644, [NodeScriptPath] 0755 ([Upload])
//	install        INSTALL_K3S_SKIP_DOWNLOAD=true [K3S_URL=…] K3S_TOKEN=… sh /tmp/bmcd-k3s-install.sh server|agent [--cluster-init]
//	tidy           rm -f /tmp/bmcd-k3s-install.sh
//
// [Upload] streams a file into `tee` on the node, compares the node's
// sha256sum of it with what was sent (a connection cut mid-stream ends
// tee's input early without an error of its own) and only then renames
// it into place. [kubeconfig.RewriteK3s] and [kubeconfig.Merge] (package
// kubeconfig) edit kubeconfigs as parsed YAML, never as text.
package cluster
