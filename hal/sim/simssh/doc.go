// Package simssh is the SSH server of a simulated compute module: the sshd
// of a node prepared at flash time (see package flasher/firstboot), reduced
// to what bmcd and its users need from a node over SSH.
//
// It presents the seeded ed25519 host key and nothing else, accepts public
// keys only (no password, no keyboard-interactive) and only the seeded
// user's authorized keys, and runs commands from a table ([Commands]):
// the commands a bootstrap asks a node (hostname, uname -m, id -un, cat
// /etc/os-release, true, …) and bmcd's preflight checks (timedatectl,
// cgroup v2 controllers, test -e, df -Pk), one per "exec" request, or line by line in a
// shell (with a prompt and line editing when the client asked for a pty,
// as `ssh user@node` does). An unknown command fails with exit status 127
// and "sh: 1: <name>: not found", as dash does; exit [n] ends a shell.
// Lines may chain commands with ";" and "&&"; $$ expands to the shell's
// process id and >&2 sends a command's output to stderr, as bmcd's wire
// prefix (echo …$$ >&2; cmd) needs.
//
// With [Config.K3s] the node also runs a k3s stand-in, shared by the
// nodes of one board ([K3s]), that keeps the install script's contract
// without fetching anything: the whole line `curl -sfL https://get.k3s.io
// | [INSTALL_K3S_VERSION=…] [K3S_URL=…] K3S_TOKEN=… sh -s - server|agent
// [--cluster-init]` creates a cluster (a server without K3S_URL, with a
// new self-signed CA) or joins the live server K3S_URL names, with its
// secret or its K10<CA hash>::server:<secret> token; a join to no server,
// with another token or a hostname the cluster has fails as k3s's
// service does (exit 1, systemctl's message and k3s's fatal line on
// stderr). Then `systemctl is-active [--quiet] k3s|k3s-agent`, `cat` of
// the node-token and k3s.yaml on servers, `k3s kubectl get nodes -o json`
// (every member, Ready while its node is powered) and the uninstall
// scripts work as on a real node, and so do `k3s kubectl drain … NODE`
// and `k3s kubectl delete node NODE` on a server (no pods to evict; a
// deleted node leaves the member list). Without it, the pipeline runs as
// on an offline node: curl fails silently and sh exits 0 having done
// nothing. [OpenK3s] keeps a board's installs in a file across runs.
// [Config.InstallHangs] makes an install hang until `kill -KILL --
// -PGID` (the session's shell) or Close ends it.
//
// A server node runs its cluster's Kubernetes API (package simkube) while
// it is powered and installed: on its own address, port 6443 (or any
// port when 6443 is taken there; k3s.yaml then names that port, as k3s
// does with --https-listen-port), with a serving certificate from the
// cluster's server CA and the admin client certificate k3s.yaml carries.
// It lists exactly the nodes that joined, Ready while powered and
// NotReady once off; `k3s kubectl get nodes -o json` on the node asks
// it. Power off, uninstall and re-flash stop it. Joins are checked in
// memory, not over the API: an agent joining host:6443 reaches the
// server at host whichever port its API took.
//
// [Server.Close] stops listening and closes every connection, as a node
// losing power does.
package simssh
