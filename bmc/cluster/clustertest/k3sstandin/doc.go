// Command k3sstandin is a stand-in for k3s on the test nodes of package
// clustertest (real OpenSSH servers in their own network, UTS and mount
// namespaces). It is built once per test binary and is several programs
// in one, chosen by the name it is run as, as busybox is:
//
//	k3s server|agent [flags]   the service: real CAs, node-token, k3s.yaml,
//	                           a node registry, and on :6443 the API of
//	                           package simkube
//	k3s kubectl get nodes -o json
//	                           the node list, asked of the local server with
//	                           k3s.yaml's client certificate
//	k3s standin-install …      the install step of install.sh (below)
//	k3s standin-script         prints the stand-in install script
//	curl                       the node's network: https://get.k3s.io and the
//	                           release binary URL are served from this
//	                           program itself; every other URL fails as an
//	                           unresolvable host does (the nodes have no
//	                           internet)
//	systemctl                  the node's service manager (no systemd runs in
//	                           a namespace): start/restart/stop/is-active/
//	                           enable/disable/daemon-reload of the units the
//	                           install wrote
//
// # The install script's contract
//
// `curl -sfL https://get.k3s.io | K3S_URL=… K3S_TOKEN=… INSTALL_K3S_VERSION=… sh -s - server|agent [--cluster-init] [--server URL]`
// runs the stand-in's install.sh (embedded here): unless
// INSTALL_K3S_SKIP_DOWNLOAD=true it downloads the binary for the version
// (INSTALL_K3S_VERSION, else the stable channel's) with curl to
// INSTALL_K3S_BIN_DIR (/usr/local/bin), then runs `k3s standin-install`,
// which does what install.sh does after its download: picks the command
// (arguments, else INSTALL_K3S_EXEC, else agent when K3S_URL is set and
// server otherwise; K3S_URL must be https:// and needs K3S_TOKEN or
// K3S_TOKEN_FILE), writes /etc/systemd/system/k3s[-agent].service and its
// .service.env (the K3S_* variables, mode 0600), k3s-killall.sh,
// k3s[-agent]-uninstall.sh and the kubectl link, then `systemctl
// daemon-reload`, `enable` (unless INSTALL_K3S_SKIP_ENABLE=true) and
// `restart` (unless INSTALL_K3S_SKIP_START=true).
//
// # The service
//
// The units are Type=notify: `systemctl start` returns once the service
// wrote READY=1 to the descriptor the shim gave it, and fails with
// systemd's message when the service exits first. A server without a
// server to join generates a real CA (ECDSA P-256), writes
// /var/lib/rancher/k3s/server/token (node-token links to it) as
// K10<sha256 of the CA PEM>::server:<K3S_TOKEN or a random secret>, and
// /etc/rancher/k3s/k3s.yaml (server https://127.0.0.1:6443, everything
// named "default", an admin client certificate in system:masters). It
// serves /cacerts and /ping without authentication, registers nodes
// (basic auth with the token's secret) and lists them at /api/v1/nodes
// to clients holding a certificate of its CA. An agent, or a server
// joining with --server or K3S_URL, fetches /cacerts, checks the CA hash
// when the token carries one, and registers under its hostname with its
// node password (/etc/rancher/node/password): a second node with the same
// hostname is refused as k3s refuses it. Joined servers keep the cluster's
// CA and answer the node list from the first server (the datastore).
// Registered nodes are Ready; the registry is in memory only.
//
// # Faults
//
// A test makes a node misbehave by writing one word into
// /etc/rancher/standin-fault before the install:
//
//	hang-install   the install step never finishes: the install command blocks
//	fail-start     the service exits 1 before it is ready
//	hang-start     the service never becomes ready: systemctl start blocks
package main
