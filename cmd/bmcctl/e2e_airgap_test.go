package main_test

// End-to-end air-gapped k3s bootstrap on a simulated board whose nodes
// have no internet: the online install fails, `cluster up --airgap DIR`
// uploads the files to bmcd, which copies them to the nodes over SSH.

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
	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

func TestEndToEndClusterAirgap(t *testing.T) {
	t.Parallel()
	img := fbt.Build(t, fbt.Layout{DiskMiB: 12, StartMiB: 1, SizeMiB: 8, FATBits: 16, Cluster: 2, Label: "bootfs", Files: map[string]string{
		"config.txt": "arm_64bit=1\n", "cmdline.txt": "console=serial0,115200 root=PARTUUID=1-02 rootwait\n", "issue.txt": "Raspberry Pi reference 2025-05-13\n"}})
	stateDir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "bmcd.yaml")
	// Nodes without internet; hostnames of their own.
	require.NoError(t, os.WriteFile(cfg, []byte("sim:\n  emmc_mib: 64\n  usb_timing: fast\n  offline: true\nprepare:\n  hostname: gap{slot}\n"), 0o644))
	d := startBMCD(t, stateDir, "--config", cfg)
	home := t.TempDir()
	r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin")
	require.Equal(t, 0, r.code, r.stderr)
	pub := filepath.Join(home, "id.pub")
	require.NoError(t, os.WriteFile(pub, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop\n"), 0o600))
	for _, slot := range []string{"1", "2"} {
		r = bmcctl(t, d, home, "", "flash", "--slot", slot, img, "--ssh-key", pub, "--power-on")
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
	require.Equal(t, 1, r.code, "online on offline nodes: stdout %s\nstderr %s", r.stdout, r.stderr)
	assert.Contains(t, r.stderr, "air-gapped install")

	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"install.sh":                      []byte("#!/bin/sh\n# k3s install script\n"),
		"k3s-arm64":                       append(simssh.ELFHeader("arm64"), strings.Repeat("k3s", 100000)...),
		"k3s-airgap-images-arm64.tar.zst": []byte(strings.Repeat("images", 100000)),
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	r = bmcctl(t, d, home, "", "cluster", "up", "--servers", "1", "--agents", "2", "--airgap", dir)
	require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	assert.Equal(t, 3, strings.Count(r.stderr, ": uploaded"), r.stderr)
	assert.Regexp(t, `gap1\s+1\s+\S+\s+server\s+yes\s+installed`, r.stdout)
	assert.Regexp(t, `gap2\s+2\s+\S+\s+agent\s+yes\s+installed`, r.stdout)
	for _, name := range []string{"install.sh", "k3s-arm64", "k3s-airgap-images-arm64.tar.zst"} {
		_, err := os.Stat(filepath.Join(stateDir, "airgap", name))
		assert.NoError(t, err, "kept on the controller")
	}

	// Again: nothing uploaded, nothing installed.
	r = bmcctl(t, d, home, "", "cluster", "up", "--servers", "1", "--agents", "2", "--airgap", dir)
	require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
	assert.Equal(t, 3, strings.Count(r.stderr, "already on bmcd"), r.stderr)
	assert.Equal(t, 2, strings.Count(r.stdout, "already running"), r.stdout)

	for _, slot := range []string{"1", "2"} {
		r = bmcctl(t, d, home, "", "power", "off", slot)
		require.Equal(t, 0, r.code, r.stderr)
	}
}
