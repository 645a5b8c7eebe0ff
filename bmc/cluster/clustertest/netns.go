package clustertest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// NetNode is one test node.
type NetNode struct {
	Hostname string
	// NS is the node's network namespace (ip netns).
	NS string
	// IP is the node's address; Addr is its sshd's (IP:22).
	IP, Addr string
	// HostKey is the node's only SSH host key (ed25519).
	HostKey ssh.PublicKey

	created bool // its namespace exists
	cmd     *exec.Cmd
	exited  chan struct{}
	logDone chan struct{}
	mu      sync.Mutex
	log     strings.Builder
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

// start runs the node's sshd in its namespaces.
func (nd *NetNode) start(t testing.TB, dir string, i int, bin, fault string) {
	t.Helper()
	signer, pemKey := NewKey(t)
	nd.HostKey = signer.PublicKey()
	keyFile := filepath.Join(dir, fmt.Sprintf("host_ed25519_%d", i))
	writeFile(t, keyFile, pemKey)
	conf := filepath.Join(dir, fmt.Sprintf("sshd_config_%d", i))
	writeFile(t, conf, []byte(strings.Join([]string{
		"ListenAddress " + nd.Addr,
		"HostKey " + keyFile,
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PidFile none",
		"UsePAM no",
		"StrictModes no",
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"AllowAgentForwarding no",
		"LogLevel VERBOSE",
	}, "\n")+"\n"))
	// The node's own directories: tmpfs over the host's, made first
	// where the host has none.
	script := `set -e
hostname "$1"
for d in /etc/rancher /var/lib/rancher /usr/local/bin /usr/local/sbin /etc/systemd/system /run /root; do
	mkdir -p "$d"
	mount -t tmpfs -o mode=0755 tmpfs "$d"
done
mkdir -p /run/sshd /run/systemd/timesync
touch /run/systemd/timesync/synchronized
ln -s "$2" /usr/local/sbin/curl
ln -s "$2" /usr/local/sbin/systemctl
if [ -n "$3" ]; then echo "$3" > /etc/rancher/standin-fault; fi
exec /usr/sbin/sshd -D -e -f "$4"
`
	nd.cmd = exec.Command("ip", "netns", "exec", nd.NS, "unshare", "--mount", "--uts", "--propagation", "private", "--",
		"/bin/sh", "-c", script, "node", nd.Hostname, bin, fault, conf)
	stderr, err := nd.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	nd.cmd.Stdout = nd.cmd.Stderr
	if err := nd.cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", nd.NS, err)
	}
	nd.exited = make(chan struct{})
	nd.logDone = make(chan struct{})
	go func() {
		defer close(nd.logDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			nd.mu.Lock()
			nd.log.WriteString(sc.Text() + "\n")
			nd.mu.Unlock()
		}
	}()
	go func() {
		<-nd.logDone
		_ = nd.cmd.Wait()
		close(nd.exited)
	}()
}

// waitListening waits for sshd's "Server listening on" line.
func (nd *NetNode) waitListening(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(nd.Log(), "Server listening on") {
		select {
		case <-nd.exited:
			t.Fatalf("node %s (%s): sshd exited before listening:\n%s", nd.Hostname, nd.NS, nd.Log())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s (%s): sshd not listening after 30s:\n%s", nd.Hostname, nd.NS, nd.Log())
		}
	}
}

// Log is the node's sshd log so far.
func (nd *NetNode) Log() string {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.log.String()
}

// Pid is the node's sshd listener: its /proc/PID/root is the node's view
// of the file system.
func (nd *NetNode) Pid() int { return nd.cmd.Process.Pid }

// Path is p (absolute, as the node sees it) from the test process.
func (nd *NetNode) Path(p string) string {
	return filepath.Join(fmt.Sprintf("/proc/%d/root", nd.Pid()), p)
}

// ReadFile reads a file of the node. An absolute symbolic link on the
// way resolves in the test's root, not the node's.
func (nd *NetNode) ReadFile(p string) ([]byte, error) { return os.ReadFile(nd.Path(p)) }

// WriteFile writes a file into the node, e.g. a fault before the install.
func (nd *NetNode) WriteFile(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(nd.Path(p)), 0o755); err != nil {
		return err
	}
	return os.WriteFile(nd.Path(p), data, 0o644)
}

// StopSSHD kills the node's sshd (and its sessions' parent): the node
// becomes unreachable while its namespace, and any k3s service, stay.
func (nd *NetNode) StopSSHD() {
	_ = nd.cmd.Process.Kill()
	<-nd.exited
}

// Processes lists the command lines of the processes in the node's
// network namespace, except the sshd listener.
func (nd *NetNode) Processes() []string {
	var out []string
	for _, pid := range nsPids(nd.NS) {
		if pid == nd.Pid() {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue // gone meanwhile
		}
		out = append(out, fmt.Sprintf("%d %s", pid, strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))))
	}
	return out
}

// nsPids lists the processes in a network namespace.
func nsPids(ns string) []int {
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
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

var (
	subnetNext atomic.Int64
	netnsAddMu sync.Mutex
)

// ownerAlias marks a test bridge with the process that made it.
const ownerAlias = "bmcd-test-pid="

// claimBridge creates the bridge of a free test subnet. The bridge's
// name holds the subnet number, so creating it claims the subnet across
// test processes: creating a name that exists fails. A bridge whose
// owner (its alias) has died, a test binary killed before its cleanup,
// is removed with its namespaces and claimed again.
func claimBridge() (int, string, error) {
	start := int(subnetNext.Add(1)) + os.Getpid()
	for k := range 250 {
		s := (start+k)%250 + 1
		name := fmt.Sprintf("bmct%d", s)
		out, err := exec.Command("ip", "link", "add", "name", name, "type", "bridge").CombinedOutput()
		if err != nil && bytes.Contains(out, []byte("exists")) && reclaim(name) {
			out, err = exec.Command("ip", "link", "add", "name", name, "type", "bridge").CombinedOutput()
		}
		if err == nil {
			if err := run("ip", "link", "set", name, "alias", ownerAlias+strconv.Itoa(os.Getpid())); err != nil {
				_ = run("ip", "link", "del", name)
				return 0, "", err
			}
			return s, name, nil
		}
		if !bytes.Contains(out, []byte("exists")) {
			return 0, "", fmt.Errorf("ip link add %s type bridge: %w: %s", name, err, out)
		}
	}
	return 0, "", errors.New("no free test subnet in " + netBase + ".1-250.0/24")
}

// reclaim removes a test bridge whose owner process is gone, with its
// nodes' namespaces and their processes, and reports whether it did. A
// bridge without the alias yet is being claimed: it is left alone.
func reclaim(bridge string) bool {
	b, err := os.ReadFile("/sys/class/net/" + bridge + "/ifalias")
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(string(b)), ownerAlias))
	if err != nil || !strings.HasPrefix(string(b), ownerAlias) || syscall.Kill(pid, 0) != syscall.ESRCH {
		return false
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		ns, _, _ := strings.Cut(line, " ")
		if strings.HasPrefix(ns, bridge+"-") {
			for _, p := range nsPids(ns) {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	}
	return exec.Command("ip", "link", "del", bridge).Run() == nil
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

// Sessions lists the node's live sshd session processes ("sshd:
// root@notty" and the like): one per open connection, so none once the
// client has closed them all.
func (nd *NetNode) Sessions() []string {
	var out []string
	for _, p := range nd.Processes() {
		if _, cmd, _ := strings.Cut(p, " "); strings.HasPrefix(cmd, "sshd:") {
			out = append(out, p)
		}
	}
	return out
}
