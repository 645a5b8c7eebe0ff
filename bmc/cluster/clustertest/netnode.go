package clustertest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

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
