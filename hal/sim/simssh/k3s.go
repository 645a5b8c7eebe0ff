package simssh

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
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
	mu    sync.Mutex
	nodes map[string]*K3sNode
	store *k3sStore // nil: kept in memory only (k3sstore.go)
}

// NewK3s returns a board's k3s with no node installed.
func NewK3s() *K3s { return &K3s{nodes: map[string]*K3sNode{}} }

// Node returns the k3s state of the node known as key (its slot, say),
// made on first use. It outlives the node's SSH server: a node powered
// off and on keeps its install.
func (w *K3s) Node(key string) *K3sNode {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.nodes[key]
	if n == nil {
		n = &K3sNode{w: w, key: key}
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
}

// k3sCluster is one cluster: its CA and admin credentials (made once, so
// a new cluster has a new CA) and its members in join order.
type k3sCluster struct {
	password      string // K3S_TOKEN, the token's secret part
	caPEM         []byte
	clientCertPEM []byte
	clientKeyPEM  []byte
	members       []*K3sNode
}

// Wipe forgets the node's install, as re-flashing its eMMC does; it
// leaves its cluster.
func (n *K3sNode) Wipe() {
	n.w.mu.Lock()
	defer n.w.mu.Unlock()
	n.leave()
}

// up records the node booted with hostname, reached at host.
func (n *K3sNode) up(hostname, host string) {
	n.w.mu.Lock()
	defer n.w.mu.Unlock()
	n.hostname, n.host = hostname, host
}

// down records the node powered off: its k3s stops with it.
func (n *K3sNode) down() {
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
func (c *k3sCluster) token() string {
	sum := sha256.Sum256(c.caPEM)
	return "K10" + hex.EncodeToString(sum[:]) + "::server:" + c.password
}

// accepts reports whether a joiner's K3S_TOKEN fits the cluster: the
// secret alone, or the full token whose CA hash must match too.
func (c *k3sCluster) accepts(token string) bool {
	if !strings.HasPrefix(token, "K10") {
		return token == c.password
	}
	return token == c.token()
}

// serverAt is the live server whose API host:6443 is, or nil.
func (w *K3s) serverAt(hostport string) *K3sNode {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port != k3sAPIPort {
		return nil
	}
	for _, n := range w.nodes {
		if n.host == host && n.role == "server" && n.cluster != nil {
			return n
		}
	}
	return nil
}

// install runs what `curl -sfL https://get.k3s.io | env sh -s - args`
// does on the node, for the variables and arguments bmcd and users pass.
func (n *K3sNode) install(env map[string]string, args []string, out, errw io.Writer) uint32 {
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
	if version == "" {
		info("Finding release for channel stable")
		version = k3sDefaultVersion
	}
	info("Using %s as release", version)
	info("Downloading hash https://github.com/k3s-io/k3s/releases/download/%s/sha256sum-arm64.txt", version)
	info("Downloading binary https://github.com/k3s-io/k3s/releases/download/%s/k3s-arm64", version)
	info("Verifying binary download")
	info("Installing k3s to /usr/local/bin/k3s")
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
		ca, err := newK3sCluster(token)
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
	c.members = append(c.members, n)
	return 0
}

// newK3sCluster makes a cluster's self-signed CA and admin client
// certificate, as a first server does at its first start.
func newK3sCluster(password string) (*k3sCluster, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(0),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("k3s-server-ca@%d", now.Unix())},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	client := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "system:admin", Organization: []string{"system:masters"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, client, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &k3sCluster{
		password:      password,
		caPEM:         pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		clientCertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientDER}),
		clientKeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// kubeconfig is the server's /etc/rancher/k3s/k3s.yaml, shaped as k3s
// writes it.
func (c *k3sCluster) kubeconfig() string {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf(`apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: %s
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: %s
    client-key-data: %s
`, b64(c.caPEM), b64(c.clientCertPEM), b64(c.clientKeyPEM))
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
		return n.cluster.kubeconfig(), true
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

// k3s answers `k3s kubectl get nodes -o json` on a server.
func (n *K3sNode) k3s(_ Node, args []string, out, errw io.Writer) uint32 {
	n.w.mu.Lock()
	defer n.w.mu.Unlock()
	// Before the install there is no k3s binary, whatever the arguments.
	if n.role == "" {
		fmt.Fprintln(errw, "sh: 1: k3s: not found")
		return 127
	}
	if strings.Join(args, " ") != "kubectl get nodes -o json" {
		fmt.Fprintln(errw, "k3s: simulated node: only kubectl get nodes -o json")
		return 1
	}
	if n.role != "server" || n.cluster == nil {
		fmt.Fprintln(errw, "The connection to the server localhost:8080 was refused - did you specify the right host or port?")
		return 1
	}
	type condition struct {
		Type    string `json:"type"`
		Status  string `json:"status"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	type item struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Status struct {
			Conditions []condition `json:"conditions"`
			NodeInfo   struct {
				Architecture    string `json:"architecture"`
				KubeletVersion  string `json:"kubeletVersion"`
				OperatingSystem string `json:"operatingSystem"`
			} `json:"nodeInfo"`
		} `json:"status"`
	}
	list := struct {
		APIVersion string `json:"apiVersion"`
		Items      []item `json:"items"`
		Kind       string `json:"kind"`
		Metadata   struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}{APIVersion: "v1", Kind: "List", Items: []item{}}
	for _, m := range n.cluster.members {
		var it item
		it.APIVersion, it.Kind = "v1", "Node"
		it.Metadata.Name = m.hostname
		it.Metadata.Labels = map[string]string{
			"kubernetes.io/arch":     "arm64",
			"kubernetes.io/hostname": m.hostname,
			"kubernetes.io/os":       "linux",
		}
		if m.role == "server" {
			it.Metadata.Labels["node-role.kubernetes.io/control-plane"] = "true"
			it.Metadata.Labels["node-role.kubernetes.io/master"] = "true"
			if m.etcd {
				it.Metadata.Labels["node-role.kubernetes.io/etcd"] = "true"
			}
		}
		ready := condition{Type: "Ready", Status: "True", Reason: "KubeletReady", Message: "kubelet is posting ready status"}
		if m.host == "" {
			ready = condition{Type: "Ready", Status: "Unknown", Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status."}
		}
		it.Status.Conditions = []condition{ready}
		it.Status.NodeInfo.Architecture, it.Status.NodeInfo.OperatingSystem = "arm64", "linux"
		it.Status.NodeInfo.KubeletVersion = m.version
		list.Items = append(list.Items, it)
	}
	b, err := json.MarshalIndent(list, "", "    ")
	if err != nil {
		fmt.Fprintln(errw, err)
		return 1
	}
	fmt.Fprintf(out, "%s\n", b)
	return 0
}

// uninstall is k3s-uninstall.sh (server) or k3s-agent-uninstall.sh: the
// node leaves its cluster and its k3s files are gone. Only the script of
// the node's role exists.
func (n *K3sNode) uninstall(role, script string) Command {
	return func(_ Node, _ []string, out, errw io.Writer) uint32 {
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
