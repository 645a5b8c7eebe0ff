package main_test

// End-to-end cluster lifecycle on the simulated board with the real
// binaries: bmcd killed (SIGKILL) while a node's install hangs, restarted,
// and 'cluster up' converges; up again installs nothing; the kubeconfig
// merged into ~/.kube/config; an agent removed and added back; down.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
)

// preparedTwoSlots starts bmcd on a simulated board, logs in, and flashes
// slots 1 and 2 with a prepared image, powered on and reachable.
func preparedTwoSlots(t *testing.T) (d *daemon, home, cfg string) {
	t.Helper()
	img := fbt.Build(t, fbt.Layout{DiskMiB: 12, StartMiB: 1, SizeMiB: 8, FATBits: 16, Cluster: 2, Label: "bootfs", Files: map[string]string{
		"config.txt": "arm_64bit=1\n", "cmdline.txt": "console=serial0,115200 root=PARTUUID=1-02 rootwait\n", "issue.txt": "Raspberry Pi reference 2025-05-13\n"}})
	xz := compress(t, "xz", img)
	stateDir := t.TempDir()
	cfg = filepath.Join(t.TempDir(), "bmcd.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("sim:\n  emmc_mib: 64\n  usb_timing: fast\nprepare:\n  user: admin\n  hostname: node{slot}\n"), 0o644))
	d = startBMCD(t, stateDir, "--config", cfg)
	home = t.TempDir()
	r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin")
	require.Equal(t, 0, r.code, r.stderr)
	pub := filepath.Join(home, "id.pub")
	require.NoError(t, os.WriteFile(pub, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop\n"), 0o600))
	for _, slot := range []string{"1", "2"} {
		r = bmcctl(t, d, home, "", "flash", "--slot", slot, xz, "--ssh-key", pub, "--power-on")
		require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	}
	waitNodesBooted(t, d, home, time.Time{})
	return d, home, cfg
}

// waitNodesBooted waits until slots 1 and 2 reported their addresses
// after since: their nodes booted and their sshd listens.
func waitNodesBooted(t *testing.T, d *daemon, home string, since time.Time) {
	t.Helper()
	require.Eventually(t, func() bool {
		r := bmcctl(t, d, home, "", "-o", "json", "slots")
		var slots []apitype.Slot
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &slots) != nil {
			return false
		}
		for _, s := range slots[:2] {
			if s.Node == nil || len(s.Node.Addresses) == 0 || s.Node.AddressesSeen == nil || s.Node.AddressesSeen.Before(since) {
				return false
			}
		}
		return true
	}, 60*time.Second, 50*time.Millisecond, "the nodes' markers never reached their slots")
}

func clusterStatus(t *testing.T, d *daemon, home string) apitype.ClusterStatus {
	t.Helper()
	r := bmcctl(t, d, home, "", "-o", "json", "cluster", "status")
	require.Equal(t, 0, r.code, r.stderr)
	var st apitype.ClusterStatus
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st), r.stdout)
	return st
}

func TestEndToEndClusterLifecycle(t *testing.T) {
	t.Parallel()
	d, home, cfg := preparedTwoSlots(t)
	hang := filepath.Join(d.stateDir, "sim-slot2-k3s-install-hangs")
	require.NoError(t, os.WriteFile(hang, nil, 0o600))

	// cluster up while slot 2's install hangs: the server installs, the
	// agent's install never returns.
	bin, err := binaries()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	up := exec.CommandContext(ctx, filepath.Join(bin, "bmcctl"), "cluster", "up", "--servers", "1", "--agents", "2")
	up.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "BMC_HOST="+d.url, "BMC_PASSWORD=")
	var upOut, upErr syncBuffer
	up.Stdout, up.Stderr = &upOut, &upErr
	require.NoError(t, up.Start())
	upDone := make(chan error, 1)
	go func() { upDone <- up.Wait() }()
	require.Eventually(t, func() bool {
		r := bmcctl(t, d, home, "", "-o", "json", "cluster", "status")
		var st apitype.ClusterStatus
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil {
			return false // no job yet
		}
		return len(st.Nodes) == 2 && st.Nodes[0].Action == "installed" && strings.HasPrefix(st.Nodes[1].Doing, "installing k3s as agent")
	}, 60*time.Second, 50*time.Millisecond, "the agent's install never started")
	assert.Eventually(t, func() bool { return strings.Contains(upErr.String(), "node2: installing k3s as agent") },
		10*time.Second, 20*time.Millisecond, "bmcctl shows the node's progress from the event stream")

	require.NoError(t, d.cmd.Process.Signal(syscall.SIGKILL))
	<-d.done
	require.Error(t, <-upDone, "cluster up fails when bmcd goes away")
	require.NoError(t, os.Remove(hang))

	d2 := startBMCD(t, d.stateDir, "--config", cfg, "--listen", strings.TrimPrefix(d.url, "http://"))
	restarted := time.Now()
	st := clusterStatus(t, d2, home)
	assert.Equal(t, "interrupted", st.LastState)
	require.Len(t, st.Nodes, 2)
	assert.Equal(t, "installed", st.Nodes[0].Action, "what was done is known")
	assert.Equal(t, "interrupted", st.Nodes[1].Action)
	assert.Contains(t, st.Nodes[1].Error, "bmcd stopped while installing k3s as agent")

	// A crash is a power cut for the simulated board: power on again.
	for _, slot := range []string{"1", "2"} {
		r := bmcctl(t, d2, home, "", "power", "on", slot)
		require.Equal(t, 0, r.code, r.stderr)
	}
	waitNodesBooted(t, d2, home, restarted)

	r := bmcctl(t, d2, home, "", "cluster", "up", "--servers", "1", "--agents", "2")
	require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	assert.Regexp(t, `node1\s+1\s+\S+\s+server\s+yes\s+already running`, r.stdout, "the server's install outlived bmcd")
	assert.Regexp(t, `node2\s+2\s+\S+\s+agent\s+yes\s+installed`, r.stdout)
	assert.Contains(t, r.stdout, "1 installed, 1 already running")
	for _, step := range []string{"preflight", "install-server", "join", "ready", "kubeconfig"} {
		assert.Contains(t, r.stderr, ": "+step+"\n", "step %s followed", step)
	}

	r = bmcctl(t, d2, home, "", "cluster", "up", "--servers", "1", "--agents", "2")
	require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "nothing installed, every node already runs k3s")

	kube := filepath.Join(home, ".kube", "config")
	r = bmcctl(t, d2, home, "", "cluster", "kubeconfig", "--merge", "--kubeconfig", kube)
	require.Equal(t, 0, r.code, r.stderr)
	r = bmcctl(t, d2, home, "", "cluster", "kubeconfig", "--merge", "--kubeconfig", kube)
	require.Equal(t, 0, r.code, r.stderr)
	merged, err := os.ReadFile(kube)
	require.NoError(t, err)
	assert.Equal(t, 3, strings.Count(string(merged), "name: turingpi"), "one cluster, context and user, never duplicated:\n%s", merged)

	r = bmcctl(t, d2, home, "", "cluster", "remove", "1")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "the last server cannot be removed while agents remain")

	r = bmcctl(t, d2, home, "", "cluster", "remove", "2")
	require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "node2 removed from the cluster")
	assert.Contains(t, r.stderr, "node2: draining on node1")
	st = clusterStatus(t, d2, home)
	require.Len(t, st.Nodes, 1)

	r = bmcctl(t, d2, home, "", "cluster", "add", "2")
	require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	assert.Regexp(t, `node2\s+2\s+\S+\s+agent\s+yes\s+installed`, r.stdout)
	assert.Regexp(t, `node1\s+1\s+\S+\s+server\s+yes\s+already running`, r.stdout)

	r = bmcctl(t, d2, home, "", "cluster", "down")
	require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "cluster down")
	assert.Contains(t, r.stdout, "2 removed")
	agentDone := strings.Index(r.stderr, "node2: removed")
	serverDone := strings.Index(r.stderr, "node1: removed")
	assert.True(t, agentDone >= 0 && serverDone > agentDone, "agents first, then servers:\n%s", r.stderr)
	r = bmcctl(t, d2, home, "", "cluster", "kubeconfig")
	assert.Equal(t, 1, r.code)
	assert.NoFileExists(t, filepath.Join(d.stateDir, "cluster_token"), "down forgets the token")

	for _, slot := range []string{"1", "2"} {
		r = bmcctl(t, d2, home, "", "power", "off", slot)
		require.Equal(t, 0, r.code, r.stderr)
	}
}
