package simssh

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/turingpi-oss/bmcd/hal/sim/simkube"
)

// The files and services a k3s install leaves on a node, as install.sh
// names them.
const (
	k3sNodeTokenPath  = "/var/lib/rancher/k3s/server/node-token"
	k3sTokenPath      = "/var/lib/rancher/k3s/server/token"
	k3sKubeconfigPath = "/etc/rancher/k3s/k3s.yaml"
	k3sServerService  = "k3s"
	k3sAgentService   = "k3s-agent"
	k3sServerUninst   = "/usr/local/bin/k3s-uninstall.sh"
	k3sAgentUninst    = "/usr/local/bin/k3s-agent-uninstall.sh"
	k3sDefaultVersion = "v1.33.1+k3s1" // what the stable channel gives the simulated node
	k3sAPIPort        = "6443"
)

// K3s is the simulated k3s of one board's nodes: which node runs k3s at
// which role in which cluster. The nodes share it so that an agent can
// join the server another node runs; nothing is fetched from anywhere.
// Its methods are safe for concurrent use.
type K3s struct {
	clock clockwork.Clock
	log   *slog.Logger

	// apiMu orders the starts and stops of the servers' APIs.
	apiMu   sync.Mutex
	mu      sync.Mutex
	nodes   map[string]*K3sNode
	closed  bool
	store   *k3sStore // nil: kept in memory only (k3sstore.go)
	latency InstallLatency
	// learner is the server whose etcd join is under way; learnerFree
	// (on mu) signals when it ends.
	learner     *K3sNode
	learnerFree *sync.Cond
}

// K3sConfig is what a board's k3s is given.
type K3sConfig struct {
	// Clock dates joins and certificates; nil is the real clock.
	Clock  clockwork.Clock
	Logger *slog.Logger
}

// NewK3s returns a board's k3s with no node installed.
func NewK3s() *K3s { return NewK3sWith(K3sConfig{}) }

// NewK3sWith returns a board's k3s with no node installed, configured by c.
func NewK3sWith(c K3sConfig) *K3s {
	w := &K3s{clock: c.Clock, log: c.Logger, nodes: map[string]*K3sNode{}}
	w.learnerFree = sync.NewCond(&w.mu)
	if w.clock == nil {
		w.clock = clockwork.NewRealClock()
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	return w
}

// Node returns the k3s state of the node known as key (its slot, say),
// made on first use. It outlives the node's SSH server: a node powered
// off and on keeps its install.
func (w *K3s) Node(key string) *K3sNode {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.nodes[key]
	if n == nil {
		n = &K3sNode{w: w, key: key, files: NewFiles()}
		w.nodes[key] = n
	}
	return n
}

// K3sNode is one node's k3s: its role and cluster. Fields are guarded by
// the board's K3s.mu.
type K3sNode struct {
	w        *K3s
	key      string
	hostname string
	host     string // the address the node is reached at; "" while down
	role     string // "server", "agent" or "" when not installed
	version  string
	etcd     bool // the server runs embedded etcd
	cluster  *k3sCluster
	joined   time.Time // when it joined its cluster: its node's creation
	lastHost string    // the address it had when last up, its InternalIP
	api      *nodeAPI  // a server's API while it runs
	arch     string    // k3s's name for the node's machine
	files    *Files    // written over SSH (air-gap uploads); they persist like the install
}

// k3sCluster is one cluster: its CAs and admin credentials (made once,
// so a new cluster has new CAs) and its members in join order.
type k3sCluster struct {
	password string // K3S_TOKEN, the token's secret part
	creds    *simkube.Credentials
	members  []*K3sNode
}

// Files are the files written to the node over SSH.
func (n *K3sNode) Files() *Files { return n.files }

// Wipe forgets the node's install, as re-flashing its eMMC does; it
// leaves its cluster.
func (n *K3sNode) Wipe() {
	defer n.w.reconcileAPIs()
	n.w.mu.Lock()
	defer n.w.mu.Unlock()
	n.leave()
	n.files.wipe()
}

// up records the node booted with hostname, reached at host.
func (n *K3sNode) up(node Node, host string) {
	defer n.w.reconcileAPIs()
	n.w.mu.Lock()
	defer n.w.mu.Unlock()
	n.hostname, n.host, n.lastHost = node.Hostname, host, host
	n.arch = map[string]string{"aarch64": "arm64", "armv7l": "arm", "armv8l": "arm", "x86_64": "amd64"}[node.machine()]
}

// down records the node powered off: its k3s stops with it.
func (n *K3sNode) down() {
	defer n.w.reconcileAPIs()
	n.w.mu.Lock()
	defer n.w.mu.Unlock()
	n.host = ""
}

// leave takes n out of its cluster and removes its install.
func (n *K3sNode) leave() {
	if c := n.cluster; c != nil {
		for i, m := range c.members {
			if m == n {
				c.members = append(c.members[:i], c.members[i+1:]...)
				break
			}
		}
	}
	n.cluster, n.role, n.version, n.etcd = nil, "", "", false
}

// token is the server's node-token: K10<sha256 of the CA PEM>::server:<secret>.
func (c *k3sCluster) token() string { return c.creds.Token(c.password) }

// accepts reports whether a joiner's K3S_TOKEN fits the cluster: the
// secret alone, or the full token whose CA hash must match too.
func (c *k3sCluster) accepts(token string) bool {
	if !strings.HasPrefix(token, "K10") {
		return token == c.password
	}
	return token == c.token()
}

// serverAt is the live server whose API host:6443 is (or host and the
// port its API took when 6443 was in use), or nil.
func (w *K3s) serverAt(hostport string) *K3sNode {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil
	}
	for _, n := range w.nodes {
		if n.host == host && n.role == "server" && n.cluster != nil && (port == k3sAPIPort || port == n.apiPort()) {
			return n
		}
	}
	return nil
}

// install runs what `curl -sfL https://get.k3s.io | env sh -s - args`
// does on the node, for the variables and arguments bmcd and users pass;
// with INSTALL_K3S_SKIP_DOWNLOAD=true it uses the binary already there
// (the air-gap install), and execErr, if set, is why that binary cannot
// run here (its service then fails to start).
func (n *K3sNode) install(env map[string]string, args []string, execErr string, out, errw io.Writer) uint32 {
	// A server's API starts (or a joiner's old one stops) with its
	// service, before the install script returns; after the lock is let
	// go, as the API lists the nodes under it.
	defer n.w.reconcileAPIs()
	info := func(f string, a ...any) { fmt.Fprintf(out, "[INFO]  "+f+"\n", a...) }
	fatal := func(f string, a ...any) uint32 { fmt.Fprintf(errw, "[ERROR]  "+f+"\n", a...); return 1 }

	joinURL, token := env["K3S_URL"], env["K3S_TOKEN"]
	role := "server"
	if joinURL != "" {
		role = "agent"
	}
	clusterInit := false
	for i, a := range args {
		switch {
		case i == 0 && (a == "server" || a == "agent"):
			role = a
		case a == "--cluster-init":
			clusterInit = true
		default:
			return fatal("simulated node: unsupported k3s argument %q", a)
		}
	}
	if joinURL != "" {
		u, err := url.Parse(joinURL)
		if err != nil || u.Scheme != "https" {
			return fatal("Only https:// URLs are supported for K3S_URL (have %s)", joinURL)
		}
		if token == "" {
			return fatal("Defaulted k3s exec command to 'agent' because K3S_URL is defined, but K3S_TOKEN or K3S_TOKEN_FILE is not defined.")
		}
	}
	version := env["INSTALL_K3S_VERSION"]
	if env["INSTALL_K3S_SKIP_DOWNLOAD"] == "true" {
		info("Skipping k3s download and verify")
		version = k3sDefaultVersion // the binary's own; the stand-in's binaries are all this one
	} else {
		if version == "" {
			info("Finding release for channel stable")
			version = k3sDefaultVersion
		}
		info("Using %s as release", version)
		suffix := map[string]string{"amd64": "", "arm64": "-arm64", "arm": "-armhf"}[n.arch]
		info("Downloading hash https://github.com/k3s-io/k3s/releases/download/%s/sha256sum-%s.txt", version, n.arch)
		info("Downloading binary https://github.com/k3s-io/k3s/releases/download/%s/k3s%s", version, suffix)
		info("Verifying binary download")
		info("Installing k3s to /usr/local/bin/k3s")
	}
	service := k3sServerService
	if role == "agent" {
		service = k3sAgentService
	}
	info("env: Creating environment file /etc/systemd/system/%s.service.env", service)
	info("systemd: Creating service file /etc/systemd/system/%s.service", service)
	info("systemd: Enabling %s unit", service)
	info("systemd: Starting %s", service)
	failed := func(why string) uint32 {
		fmt.Fprintf(errw, "Job for %s.service failed because the control process exited with error code.\n", service)
		fmt.Fprintf(errw, "See \"systemctl status %s.service\" and \"journalctl -xeu %s.service\" for details.\n", service, service)
		fmt.Fprintf(errw, "%s: %s\n", service, why)
		return 1
	}
	if execErr != "" {
		return failed(fmt.Sprintf("Failed to execute %s: %s (status=203/EXEC)", k3sBinaryPath, execErr))
	}

	defer n.startDelay(role, joinURL != "")()
	n.w.mu.Lock()
	defer n.w.mu.Unlock()
	var c *k3sCluster
	switch {
	case joinURL == "" && role == "agent":
		return failed("level=fatal msg=\"Error: --server is required\"")
	case joinURL == "":
		if n.role == role && n.cluster != nil && n.cluster.password == token {
			info("No change detected so skipping service start")
			return 0
		}
		ca, err := newK3sCluster(token, n.w.clock.Now())
		if err != nil {
			return failed("level=fatal msg=\"generate certificates: " + err.Error() + "\"")
		}
		n.leave()
		c = ca
	default:
		u, _ := url.Parse(joinURL)
		srv := n.w.serverAt(u.Host)
		if srv == nil {
			return failed(fmt.Sprintf("level=fatal msg=\"failed to get CA certs: Get \\\"%s/cacerts\\\": dial tcp %s: connect: connection refused\"", joinURL, u.Host))
		}
		if srv == n {
			return failed("level=fatal msg=\"cannot join a cluster through this node itself\"")
		}
		c = srv.cluster
		if !c.accepts(token) {
			return failed(fmt.Sprintf("level=fatal msg=\"Error: failed to validate token: failed to get CA certs: %s/cacerts: 401 Unauthorized\"", joinURL))
		}
		if n.cluster == c && n.role == role {
			info("No change detected so skipping service start")
			return 0
		}
		for _, m := range c.members {
			if m != n && m.hostname == n.hostname {
				return failed(fmt.Sprintf("level=fatal msg=\"Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may not match server node-passwd entry, try enabling a unique node name with the --with-node-id flag\" node=%s", n.hostname))
			}
		}
		n.leave()
	}
	n.cluster, n.role, n.version, n.etcd = c, role, version, clusterInit || (role == "server" && joinURL != "")
	n.joined = n.w.clock.Now()
	c.members = append(c.members, n)
	return 0
}

// newK3sCluster makes a cluster's CAs and admin client certificate, as
// a first server does at its first start.
func newK3sCluster(password string, now time.Time) (*k3sCluster, error) {
	creds, err := simkube.NewCredentials(now)
	if err != nil {
		return nil, err
	}
	return &k3sCluster{password: password, creds: creds}, nil
}

// file returns the content of a k3s file on the node, if it has it.
func (n *K3sNode) file(path string) (string, bool) {
	n.w.mu.Lock()
	defer n.w.mu.Unlock()
	if n.role != "server" || n.cluster == nil {
		return "", false
	}
	switch path {
	case k3sNodeTokenPath, k3sTokenPath:
		return n.cluster.token() + "\n", true
	case k3sKubeconfigPath:
		return string(n.cluster.creds.Kubeconfig("https://" + net.JoinHostPort("127.0.0.1", n.apiPort()))), true
	}
	return "", false
}

// systemctl answers `systemctl is-active [--quiet] UNIT`: a unit is active
// while the node runs k3s at its role.
func (n *K3sNode) systemctl(_ Node, args []string, out, errw io.Writer) uint32 {
	quiet := len(args) == 3 && args[1] == "--quiet"
	if len(args) == 0 || args[0] != "is-active" || !(len(args) == 2 || quiet) {
		fmt.Fprintln(errw, "systemctl: simulated node: only is-active [--quiet] UNIT")
		return 1
	}
	unit := strings.TrimSuffix(args[len(args)-1], ".service")
	n.w.mu.Lock()
	active := n.cluster != nil && (unit == k3sServerService && n.role == "server" || unit == k3sAgentService && n.role == "agent")
	n.w.mu.Unlock()
	state, status := "inactive", uint32(3)
	if active {
		state, status = "active", 0
	}
	if !quiet {
		fmt.Fprintln(out, state)
	}
	return status
}

// k3s answers `k3s kubectl get nodes -o json` on a server: as the real
// one, it asks the node's own API with the admin's credentials.
func (n *K3sNode) k3s(_ Node, args []string, out, errw io.Writer) uint32 {
	n.w.mu.Lock()
	installed, creds, api := n.role != "", (*simkube.Credentials)(nil), ""
	if n.cluster != nil && n.role == "server" {
		creds = n.cluster.creds
		if n.api != nil {
			api = n.api.srv.URL()
		}
	}
	n.w.mu.Unlock()
	// Before the install there is no k3s binary, whatever the arguments.
	if !installed {
		fmt.Fprintln(errw, "sh: 1: k3s: not found")
		return 127
	}
	if strings.Join(args, " ") != "kubectl get nodes -o json" {
		fmt.Fprintln(errw, "k3s: simulated node: only kubectl get nodes -o json")
		return 1
	}
	if creds == nil { // an agent has no kubeconfig
		fmt.Fprintln(errw, "The connection to the server localhost:8080 was refused - did you specify the right host or port?")
		return 1
	}
	if api == "" {
		fmt.Fprintln(errw, "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := simkube.KubectlGetNodesJSON(ctx, api, creds)
	if err != nil {
		fmt.Fprintf(errw, "error: %v\n", err)
		return 1
	}
	_, _ = out.Write(b)
	return 0
}

// uninstall is k3s-uninstall.sh (server) or k3s-agent-uninstall.sh: the
// node leaves its cluster and its k3s files are gone. Only the script of
// the node's role exists.
func (n *K3sNode) uninstall(role, script string) Command {
	return func(_ Node, _ []string, out, errw io.Writer) uint32 {
		defer n.w.reconcileAPIs()
		n.w.mu.Lock()
		defer n.w.mu.Unlock()
		if n.role != role {
			fmt.Fprintf(errw, "sh: 1: %s: not found\n", script)
			return 127
		}
		n.leave()
		fmt.Fprintf(out, "+ id -u\n+ [ 0 -eq 0 ]\n+ %s-killall.sh\n+ rm -rf /etc/rancher/k3s /var/lib/rancher/k3s\n", strings.TrimSuffix(strings.TrimSuffix(script, "-uninstall.sh"), "-agent"))
		return 0
	}
}

// withK3s returns the command table extended with the node's k3s
// commands; cat reads the k3s files before the table's own.
func withK3s(table map[string]Command, n *K3sNode) map[string]Command {
	t := make(map[string]Command, len(table)+6)
	for k, v := range table {
		t[k] = v
	}
	base := table["cat"]
	t["cat"] = func(node Node, args []string, out, errw io.Writer) uint32 {
		var status uint32
		for _, a := range args {
			if s, ok := n.file(a); ok {
				io.WriteString(out, s)
				continue
			}
			if base == nil {
				fmt.Fprintf(errw, "cat: %s: No such file or directory\n", a)
				status = 1
			} else if st := base(node, []string{a}, out, errw); st != 0 {
				status = st
			}
		}
		return status
	}
	t["systemctl"] = n.systemctl
	t["k3s"] = n.k3s
	for _, p := range []string{k3sServerUninst, k3sAgentUninst} {
		role := "server"
		if p == k3sAgentUninst {
			role = "agent"
		}
		t[p] = n.uninstall(role, p)
		t[strings.TrimPrefix(p, "/usr/local/bin/")] = n.uninstall(role, p)
	}
	return t
}
