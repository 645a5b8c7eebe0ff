package clustertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
)

// A test network is one Linux bridge in the root network namespace with
// the private subnet 10.231.<n>.0/24: the bridge is 10.231.<n>.1 (the
// test process, i.e. bmcd and kubectl, reaches the nodes through it) and
// node i is 10.231.<n>.<i+2>, in a network namespace of its own joined to
// the bridge by a veth pair. The nodes reach each other and the bridge,
// and nothing beyond: the root namespace does not forward, so the nodes
// have no internet, as the stand-in's curl also pretends.
//
// Each node is a Debian OpenSSH sshd started by
//
//	ip netns exec NS unshare --mount --uts --propagation private sh -c SCRIPT
//
// so it has its own hostname and its own tmpfs over the directories a k3s
// install writes (/etc/rancher, /var/lib/rancher, /usr/local/bin,
// /etc/systemd/system), over /root (a clean home: the host root's shell
// startup files do not run in the node's sessions) and over
// /usr/local/sbin and /run, where the node model lives:
//
//   - /usr/local/sbin/curl and /usr/local/sbin/systemctl are the k3s
//     stand-in (see package k3sstandin): curl serves https://get.k3s.io and
//     the release binary and nothing else; systemctl starts the units the
//     install writes and answers is-active from the pid files it keeps in
//     /run/k3s-standin (no systemd runs in a namespace).
//   - /run/systemd/timesync/synchronized exists: the clock counts as
//     synchronised (preflight's systemd-timesyncd check).
//   - hostname, uname -m, df and the cgroup files are the host's.
//
// Everything else (/usr, /etc) is the host's, read-write: the nodes must
// not write there, and the stand-in does not.

// netBase is the first two octets of the test subnets.
const netBase = "10.231"

// NodeSpec describes one test node.
type NodeSpec struct {
	// Hostname is the node's hostname; two nodes may share one on
	// purpose.
	Hostname string
	// Fault, when set, is written to /etc/rancher/standin-fault before
	// sshd starts (see package k3sstandin: hang-install, fail-start,
	// hang-start).
	Fault string
}

// Network is a test's nodes and the bridge joining them.
type Network struct {
	// Gateway is the bridge's address in the root namespace.
	Gateway string
	// ClientKey may log in to every node as root.
	ClientKey ssh.Signer
	Nodes     []*NetNode

	bridge string
	subnet int
}

// RequireNetns skips the test, or fails it under CI=true, unless it can
// make network namespaces and run sshd: root, ip (iproute2), unshare
// (util-linux) and sshd (openssh-server).
func RequireNetns(t testing.TB) {
	t.Helper()
	var why string
	switch {
	case os.Geteuid() != 0:
		why = fmt.Sprintf("network namespace tests need root (uid %d)", os.Geteuid())
	default:
		for _, c := range []struct{ cmd, pkg string }{{"ip", "iproute2"}, {"unshare", "util-linux"}, {"/usr/sbin/sshd", "openssh-server"}} {
			if _, err := exec.LookPath(c.cmd); err != nil {
				why = fmt.Sprintf("%s not installed (Debian package %s)", c.cmd, c.pkg)
				break
			}
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; required under CI=true", why)
	}
	t.Skip(why)
}

// StartNetwork starts one node per spec on a fresh test network and
// waits until every sshd listens. authorized are extra public key lines
// allowed to log in as root (bmcd's key, say), besides ClientKey.
// Everything is removed at test cleanup, also when the test fails:
// every process in the nodes' namespaces is killed, then the namespaces
// and the bridge are deleted.
func StartNetwork(t testing.TB, specs []NodeSpec, authorized ...string) *Network {
	t.Helper()
	RequireNetns(t)
	bin := StandinBinary(t)
	n := &Network{}
	var err error
	n.subnet, n.bridge, err = claimBridge()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.teardown(t) })
	n.Gateway = fmt.Sprintf("%s.%d.1", netBase, n.subnet)
	mustRun(t, "ip", "addr", "add", n.Gateway+"/24", "dev", n.bridge)
	mustRun(t, "ip", "link", "set", n.bridge, "up")

	dir := t.TempDir()
	_ = os.Chmod(dir, 0o755)
	client, _ := NewKey(t)
	n.ClientKey = client
	keys := string(ssh.MarshalAuthorizedKey(client.PublicKey()))
	for _, k := range authorized {
		keys += strings.TrimSpace(k) + "\n"
	}
	writeFile(t, filepath.Join(dir, "authorized_keys"), []byte(keys))

	for i, s := range specs {
		nd := &NetNode{Hostname: s.Hostname, NS: fmt.Sprintf("%s-%d", n.bridge, i),
			IP: fmt.Sprintf("%s.%d.%d", netBase, n.subnet, i+2)}
		nd.Addr = nd.IP + ":22"
		n.Nodes = append(n.Nodes, nd)
	}
	// The nodes come up in parallel: each is a dozen short commands.
	var g errgroup.Group
	for i, nd := range n.Nodes {
		g.Go(func() error { return n.link(nd, i) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for i, nd := range n.Nodes {
		nd.start(t, dir, i, bin, specs[i].Fault)
	}
	for _, nd := range n.Nodes {
		nd.waitListening(t)
	}
	return n
}

// link makes node i's namespace and joins it to the bridge.
func (n *Network) link(nd *NetNode, i int) error {
	_ = exec.Command("ip", "netns", "del", nd.NS).Run() // left by a killed run that held this subnet
	// The first ip netns add on a machine makes /run/netns a shared
	// mount; several at once can trip over each other there.
	netnsAddMu.Lock()
	err := run("ip", "netns", "add", nd.NS)
	netnsAddMu.Unlock()
	if err != nil {
		return err
	}
	nd.created = true
	host, peer := fmt.Sprintf("%sv%d", n.bridge, i), fmt.Sprintf("%sp%d", n.bridge, i)
	if err := run("ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", nd.NS); err != nil {
		return err
	}
	if err := run("ip", "link", "set", host, "master", n.bridge, "up"); err != nil {
		return err
	}
	batch := strings.Join([]string{
		"link set lo up",
		"link set " + peer + " name eth0",
		"addr add " + nd.IP + "/24 dev eth0",
		"link set eth0 up",
		"route add default via " + n.Gateway,
	}, "\n") + "\n"
	c := exec.Command("ip", "-n", nd.NS, "-batch", "-")
	c.Stdin = strings.NewReader(batch)
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -n %s -batch: %w\n%s", nd.NS, err, out)
	}
	return nil
}

// teardown kills every process in the nodes' namespaces, waits until
// none is left, and deletes the namespaces and the bridge (the veths go
// with their namespaces).
func (n *Network) teardown(t testing.TB) {
	for _, nd := range n.Nodes {
		if nd.cmd != nil && nd.cmd.Process != nil {
			_ = nd.cmd.Process.Kill()
			<-nd.exited
		}
	}
	for _, nd := range n.Nodes {
		if !nd.created {
			continue
		}
		deadline := time.Now().Add(10 * time.Second)
		for pids := nsPids(nd.NS); len(pids) > 0; pids = nsPids(nd.NS) {
			for _, p := range pids {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
			if time.Now().After(deadline) {
				t.Errorf("node %s: processes still alive after 10s: %v", nd.NS, pids)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if out, err := exec.Command("ip", "netns", "del", nd.NS).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", nd.NS, err, out)
		}
		if t.Failed() {
			t.Logf("node %s (%s) sshd log:\n%s", nd.Hostname, nd.NS, nd.Log())
		}
	}
	if out, err := exec.Command("ip", "link", "del", n.bridge).CombinedOutput(); err != nil {
		t.Errorf("ip link del %s: %v: %s", n.bridge, err, out)
	}
}

func mustRun(t testing.TB, name string, args ...string) {
	t.Helper()
	if err := run(name, args...); err != nil {
		t.Fatal(err)
	}
}

func run(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// ClusterNodes returns the nodes as package cluster's, named by their
// namespace (hostnames may repeat on purpose).
func (n *Network) ClusterNodes() []cluster.Node {
	out := make([]cluster.Node, len(n.Nodes))
	for i, nd := range n.Nodes {
		out[i] = cluster.Node{Name: nd.NS, Addr: nd.Addr, HostKey: nd.HostKey}
	}
	return out
}
