package main_test

// End-to-end k3s bootstrap on the simulated board: the real bmcctl and
// bmcd flash two slots with preparation, power them on, and bootstrap k3s
// over real SSH to the simulated nodes (whose k3s is a stand-in keeping
// the install script's contract); bmcd keeps the kubeconfig.

import (
	"encoding/json"
	"os"
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
	assert.Contains(t, r.stdout, ":6443")
	assert.NotContains(t, r.stdout, "https://127.0.0.1:6443", "the server URL is rewritten to the server's address")
	fi, err := os.Stat(filepath.Join(stateDir, "kubeconfig.yaml"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

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

	for _, slot := range []string{"1", "2"} {
		r = bmcctl(t, d, home, "", "power", "off", slot)
		require.Equal(t, 0, r.code, r.stderr)
	}
}
