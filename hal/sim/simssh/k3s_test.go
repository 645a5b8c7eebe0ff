package simssh_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

const token = "0123456789abcdef0123456789abcdef"

// k3sNode is a simulated node of board w at ip, with a client logged in.
type k3sNode struct {
	srv    *simssh.Server
	client *ssh.Client
	cfg    simssh.Config
	host   ssh.Signer
	user   ssh.Signer
}

func startK3s(t *testing.T, w *simssh.K3s, ip, hostname string) *k3sNode {
	t.Helper()
	return startK3sWith(t, w, ip, hostname, func(*simssh.Config) {})
}

// startK3sWith is startK3s with the node's config changed by edit.
func startK3sWith(t *testing.T, w *simssh.K3s, ip, hostname string, edit func(*simssh.Config)) *k3sNode {
	t.Helper()
	_, user := newKey(t)
	hostPriv, host := newKey(t)
	n := &k3sNode{host: host, user: user, cfg: simssh.Config{
		Node:           simssh.Node{Hostname: hostname, User: "root"},
		HostKey:        hostPriv,
		AuthorizedKeys: []string{authorized(user)},
		K3s:            w.Node(ip), // one node per address: twins by hostname are two nodes
	}}
	edit(&n.cfg)
	n.boot(t, ip)
	return n
}

// boot starts the node's sshd (power on).
func (n *k3sNode) boot(t *testing.T, ip string) {
	t.Helper()
	srv, err := simssh.Listen(ip+":0", n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := dial(srv, "root", n.user, n.host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	n.srv, n.client = srv, c
}

func (n *k3sNode) run(t *testing.T, cmd string) (string, string, int) {
	t.Helper()
	return run(t, n.client, cmd)
}

func installLine(env, args string) string {
	return "curl -sfL https://get.k3s.io | " + env + " sh -s - " + args
}

// readyNodes parses `k3s kubectl get nodes -o json` into name → Ready status.
func readyNodes(t *testing.T, n *k3sNode) map[string]string {
	t.Helper()
	out, errw, st := n.run(t, "k3s kubectl get nodes -o json")
	if st != 0 {
		t.Fatalf("get nodes: %d %s", st, errw)
	}
	var l struct {
		Kind  string
		Items []struct {
			Metadata struct {
				Name   string
				Labels map[string]string
			}
			Status struct {
				Conditions []struct{ Type, Status string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil || l.Kind != "List" {
		t.Fatalf("node list %q: %v", out, err)
	}
	got := map[string]string{}
	for _, it := range l.Items {
		for _, c := range it.Status.Conditions {
			if c.Type == "Ready" {
				got[it.Metadata.Name] = c.Status
			}
		}
		if (it.Metadata.Labels["node-role.kubernetes.io/control-plane"] == "true") != strings.HasPrefix(it.Metadata.Name, "server") {
			t.Errorf("%s: labels %v", it.Metadata.Name, it.Metadata.Labels)
		}
	}
	return got
}

func TestK3sServerAndAgent(t *testing.T) {
	t.Parallel()
	w := simssh.NewK3s()
	srv := startK3s(t, w, "127.0.5.1", "server1")
	agent := startK3s(t, w, "127.0.5.2", "agent1")

	if _, _, st := srv.run(t, "systemctl is-active --quiet k3s"); st != 3 {
		t.Errorf("k3s active before install: %d", st)
	}
	if _, errw, st := srv.run(t, "cat /etc/rancher/k3s/k3s.yaml"); st != 1 || !strings.Contains(errw, "No such file") {
		t.Errorf("k3s.yaml before install: %d %q", st, errw)
	}
	if _, _, st := srv.run(t, "k3s kubectl get nodes -o json"); st != 127 {
		t.Errorf("k3s before install: %d", st)
	}
	if out, errw, st := srv.run(t, "echo x >&2; "+installLine("INSTALL_K3S_VERSION='v1.33.1+k3s1' K3S_TOKEN='"+token+"'", "server")); st != 0 || !strings.Contains(out, "[INFO]  Using v1.33.1+k3s1 as release") {
		t.Fatalf("server install: %d %q %q", st, out, errw)
	}
	if _, _, st := srv.run(t, "systemctl is-active --quiet k3s"); st != 0 {
		t.Errorf("k3s not active after install: %d", st)
	}
	if _, _, st := srv.run(t, "systemctl is-active --quiet k3s-agent"); st != 3 {
		t.Errorf("k3s-agent active on a server: %d", st)
	}
	nodeToken, _, st := srv.run(t, "cat /var/lib/rancher/k3s/server/node-token")
	if st != 0 || !regexp.MustCompile(`^K10[0-9a-f]{64}::server:`+token+"\n$").MatchString(nodeToken) {
		t.Errorf("node-token %q", nodeToken)
	}
	kc, _, _ := srv.run(t, "cat /etc/rancher/k3s/k3s.yaml")
	for _, want := range []string{"server: https://127.0.0.1:6443", "certificate-authority-data: ", "client-certificate-data: ", "client-key-data: ", "name: default"} {
		if !strings.Contains(kc, want) {
			t.Errorf("k3s.yaml lacks %q:\n%s", want, kc)
		}
	}

	for _, tc := range []struct {
		name, env, want string
	}{
		{"wrong token", "K3S_URL='https://127.0.5.1:6443' K3S_TOKEN='ffffffffffffffffffffffffffffffff'", "401 Unauthorized"},
		{"no server there", "K3S_URL='https://127.0.5.9:6443' K3S_TOKEN='" + token + "'", "connection refused"},
		{"http URL", "K3S_URL='http://127.0.5.1:6443' K3S_TOKEN='" + token + "'", "Only https:// URLs"},
		{"no token", "K3S_URL='https://127.0.5.1:6443'", "K3S_TOKEN or K3S_TOKEN_FILE is not defined"},
	} {
		if _, errw, st := agent.run(t, installLine(tc.env, "agent")); st == 0 || !strings.Contains(errw, tc.want) {
			t.Errorf("%s: %d %q, want failure with %q", tc.name, st, errw, tc.want)
		}
	}
	if _, _, st := agent.run(t, "systemctl is-active --quiet k3s-agent"); st != 3 {
		t.Errorf("agent active after failed joins: %d", st)
	}
	if out, errw, st := agent.run(t, installLine("K3S_URL='https://127.0.5.1:6443' K3S_TOKEN='"+strings.TrimSpace(nodeToken)+"'", "agent")); st != 0 {
		t.Fatalf("join with the full token: %d %q %q", st, out, errw)
	}
	if _, _, st := agent.run(t, "systemctl is-active --quiet k3s-agent"); st != 0 {
		t.Errorf("k3s-agent not active after join: %d", st)
	}
	if _, errw, st := agent.run(t, "k3s kubectl get nodes -o json"); st != 1 || !strings.Contains(errw, "refused") {
		t.Errorf("kubectl on an agent: %d %q", st, errw)
	}
	if got := readyNodes(t, srv); len(got) != 2 || got["server1"] != "True" || got["agent1"] != "True" {
		t.Errorf("nodes %v", got)
	}

	// Power off: the agent is NotReady; power on: it is back, installed.
	agent.client.Close()
	agent.srv.Close()
	if got := readyNodes(t, srv); got["agent1"] != "Unknown" {
		t.Errorf("agent powered off: nodes %v", got)
	}
	agent.boot(t, "127.0.5.2")
	if got := readyNodes(t, srv); got["agent1"] != "True" {
		t.Errorf("agent powered on: nodes %v", got)
	}

	// Uninstall: the agent leaves; only the server's script is missing there.
	if _, _, st := agent.run(t, "/usr/local/bin/k3s-uninstall.sh"); st != 127 {
		t.Errorf("server uninstall script on an agent: %d", st)
	}
	if _, _, st := agent.run(t, "/usr/local/bin/k3s-agent-uninstall.sh"); st != 0 {
		t.Errorf("agent uninstall: %d", st)
	}
	if got := readyNodes(t, srv); len(got) != 1 {
		t.Errorf("after uninstall: nodes %v", got)
	}

	// A reinstalled server makes a new cluster with a new CA.
	if _, _, st := srv.run(t, "k3s-uninstall.sh"); st != 0 {
		t.Fatalf("server uninstall: %d", st)
	}
	srv.run(t, installLine("K3S_TOKEN='"+token+"'", "server --cluster-init"))
	if kc2, _, _ := srv.run(t, "cat /etc/rancher/k3s/k3s.yaml"); kc2 == kc || kc2 == "" {
		t.Error("reinstall kept the CA")
	}
}

func TestK3sDuplicateHostnameRefused(t *testing.T) {
	t.Parallel()
	w := simssh.NewK3s()
	srv := startK3s(t, w, "127.0.6.1", "server1")
	twin := startK3s(t, w, "127.0.6.2", "server1")
	srv.run(t, installLine("K3S_TOKEN='"+token+"'", "server"))
	if _, errw, st := twin.run(t, installLine("K3S_URL='https://127.0.6.1:6443' K3S_TOKEN='"+token+"'", "agent")); st == 0 || !strings.Contains(errw, "duplicate hostname") {
		t.Errorf("twin joined: %d %q", st, errw)
	}
}

func TestK3sOfflineWithoutStandIn(t *testing.T) {
	t.Parallel()
	_, user := newKey(t)
	srv, host := start(t, user)
	c, err := dial(srv, "pi", user, host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// curl -s fails silently offline and sh runs an empty script: the
	// pipeline exits 0 and nothing is installed, as on a real node.
	if _, _, st := run(t, c, installLine("K3S_TOKEN='"+token+"'", "server")); st != 0 {
		t.Errorf("offline install: %d", st)
	}
	if _, _, st := run(t, c, "systemctl is-active --quiet k3s"); st != 127 {
		t.Errorf("systemctl without k3s: %d", st)
	}
}
