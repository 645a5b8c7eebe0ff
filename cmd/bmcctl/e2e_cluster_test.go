package main_test

// End-to-end k3s bootstrap on the simulated board: the real bmcctl and
// bmcd flash two slots with preparation, power them on, and bootstrap k3s
// over real SSH to the simulated nodes (whose k3s is a stand-in keeping
// the install script's contract); bmcd keeps the kubeconfig, and the real
// kubectl lists the nodes from the simulated server's API with it.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
)

func TestEndToEndClusterUp(t *testing.T) {
	t.Parallel()
	img := fbt.Build(t, fbt.Layout{DiskMiB: 12, StartMiB: 1, SizeMiB: 8, FATBits: 16, Cluster: 2, Label: "bootfs", Files: map[string]string{
		"config.txt": "arm_64bit=1\n", "cmdline.txt": "console=serial0,115200 root=PARTUUID=1-02 rootwait\n", "issue.txt": "Raspberry Pi reference 2025-05-13\n"}})
	xz := compress(t, "xz", img)
	stateDir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "bmcd.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("sim:\n  emmc_mib: 64\n  usb_timing: fast\nprepare:\n  user: admin\n  hostname: node{slot}\n"), 0o644))
	d := startBMCD(t, stateDir, "--config", cfg)
	home := t.TempDir()
	r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin")
	require.Equal(t, 0, r.code, r.stderr)
	pub := filepath.Join(home, "id.pub")
	require.NoError(t, os.WriteFile(pub, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop\n"), 0o600))

	// Before any slot holds a prepared node: refused, nothing queued.
	r = bmcctl(t, d, home, "", "cluster", "up", "--servers", "1", "--agents", "2")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "slot 1: no node prepared by bmcd")

	for _, slot := range []string{"1", "2"} {
		r = bmcctl(t, d, home, "", "flash", "--slot", slot, xz, "--ssh-key", pub, "--power-on")
		require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	}
	require.Eventually(t, func() bool {
		r := bmcctl(t, d, home, "", "-o", "json", "slots")
		var slots []apitype.Slot
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &slots) != nil {
			return false
		}
		return slots[0].Node != nil && len(slots[0].Node.Addresses) > 0 && slots[1].Node != nil && len(slots[1].Node.Addresses) > 0
	}, 60*time.Second, 50*time.Millisecond, "the nodes' markers never reached their slots")

	r = bmcctl(t, d, home, "", "cluster", "up", "--servers", "1", "--agents", "2")
	require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "cluster ready")
	assert.Regexp(t, `node1\s+1\s+\S+\s+server\s+yes\s+installed`, r.stdout)
	assert.Regexp(t, `node2\s+2\s+\S+\s+agent\s+yes\s+installed`, r.stdout)

	r = bmcctl(t, d, home, "", "cluster", "kubeconfig")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "name: turingpi")
	// Port 6443, or the one the simulated server took when another test's
	// board had it.
	assert.Regexp(t, `server: https://127\.0\.1\.1:\d+\n`, r.stdout, "the server URL is rewritten to the server's address")
	assert.NotContains(t, r.stdout, "https://127.0.0.1:", "the server URL is rewritten to the server's address")
	fi, err := os.Stat(filepath.Join(stateDir, "kubeconfig.yaml"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// The workstation's kubectl reaches the server's API with it: every
	// node Ready, the server with its roles.
	kc := filepath.Join(home, "kc")
	require.NoError(t, os.WriteFile(kc, []byte(r.stdout), 0o600))
	assert.Equal(t, map[string]string{"node1": "True", "node2": "True"}, kubectlReady(t, kc))
	out := kubectl(t, kc, "get", "nodes")
	assert.Regexp(t, `(?m)^node1\s+Ready\s+control-plane,master\s`, out)
	assert.Regexp(t, `(?m)^node2\s+Ready\s+<none>\s`, out)

	// Again: converges without installing anything.
	r = bmcctl(t, d, home, "", "cluster", "up", "--servers", "1", "--agents", "2")
	require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	assert.Equal(t, 2, strings.Count(r.stdout, "already running"), r.stdout)

	r = bmcctl(t, d, home, "", "cluster", "status")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "succeeded; kubeconfig kept")
	r = bmcctl(t, d, home, "", "cluster", "inventory")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "\"node1\":")
	inv := parseWithAnsible(t, []byte(r.stdout))
	assert.Equal(t, []string{"node1"}, inv.groups["server"])
	assert.Equal(t, []string{"node2"}, inv.groups["agent"])
	assert.Equal(t, "admin", inv.hostvars["node2"]["ansible_user"])

	// A node that fails to join is missing from the API: slot 3 is
	// prepared with node2's hostname, which k3s refuses (the preflight
	// only compares the nodes of one request), and the job says so.
	r = bmcctl(t, d, home, "", "flash", "--slot", "3", xz, "--ssh-key", pub, "--hostname", "node2", "--power-on")
	require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	require.Eventually(t, func() bool {
		r := bmcctl(t, d, home, "", "-o", "json", "slots")
		var slots []apitype.Slot
		return r.code == 0 && json.Unmarshal([]byte(r.stdout), &slots) == nil && slots[2].Node != nil && len(slots[2].Node.Addresses) > 0
	}, 60*time.Second, 50*time.Millisecond, "slot 3's marker never came")
	r = bmcctl(t, d, home, "", "cluster", "up", "--servers", "1", "--agents", "3")
	assert.Equal(t, 1, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout+r.stderr, "duplicate hostname")
	assert.Equal(t, map[string]string{"node1": "True", "node2": "True"}, kubectlReady(t, kc), "the refused node is not listed")

	// Powered off, an agent stays listed, NotReady; the server's API
	// goes with the server.
	r = bmcctl(t, d, home, "", "power", "off", "2")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, map[string]string{"node1": "True", "node2": "Unknown"}, kubectlReady(t, kc))
	for _, slot := range []string{"1", "3"} {
		r = bmcctl(t, d, home, "", "power", "off", slot)
		require.Equal(t, 0, r.code, r.stderr)
	}
}

// kubectl runs the real kubectl with kubeconfig kc and its own cache and
// returns its output; it must succeed.
func kubectl(t *testing.T, kc string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cache := t.TempDir()
	cmd := exec.CommandContext(ctx, needTool(t, "kubectl"), append([]string{"--kubeconfig", kc, "--cache-dir", cache, "--request-timeout", "20s"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+cache, "KUBECONFIG=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "kubectl %v: %s", args, stderr.String())
	return stdout.String()
}

// kubectlReady is `kubectl get nodes -o json` as node name → status of
// its Ready condition.
func kubectlReady(t *testing.T, kc string) map[string]string {
	t.Helper()
	out := kubectl(t, kc, "get", "nodes", "-o", "json")
	var l struct {
		Items []struct {
			Metadata struct{ Name string }
			Status   struct {
				Conditions []struct{ Type, Status string }
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &l), out)
	got := map[string]string{}
	for _, it := range l.Items {
		for _, c := range it.Status.Conditions {
			if c.Type == "Ready" {
				got[it.Metadata.Name] = c.Status
			}
		}
	}
	return got
}
