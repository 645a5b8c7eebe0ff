package main_test

// End-to-end first-boot preparation: the real bmcctl flashes a
// Bookworm-shaped image with a key through a real bmcd on the simulated
// board; the eMMC holds the seed, and bmcctl prints the host key bmcd
// generated for known_hosts.

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/flasher/firstboot"
	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
)

func TestEndToEndFlashPrepare(t *testing.T) {
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

	keygen, sshBin := needTool(t, "ssh-keygen"), needTool(t, "ssh")
	priv := filepath.Join(home, "id_ed25519")
	out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f", priv).CombinedOutput()
	require.NoError(t, err, "%s", out)
	pub := priv + ".pub"
	pubLine, err := os.ReadFile(pub)
	require.NoError(t, err)

	r = bmcctl(t, d, home, "", "flash", "--slot", "2", xz, "--ssh-key", pub)
	require.Equal(t, 0, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)

	r = bmcctl(t, d, home, "", "slots")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "admin@node2")
	assert.Contains(t, r.stdout, "raspios-bookworm")
	assert.Contains(t, r.stdout, "node2.local (not seen)")

	r = bmcctl(t, d, home, "", "-o", "json", "slots")
	require.Equal(t, 0, r.code, r.stderr)
	var slots []apitype.Slot
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &slots))
	require.NotNil(t, slots[1].Node)
	hostKey := slots[1].Node.HostKey

	r = bmcctl(t, d, home, "", "node", "known-hosts")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "node2.local,node2 "+hostKey+"\n", r.stdout)

	plan, seed, err := firstboot.ReadSeedPath(filepath.Join(stateDir, "sim-emmc-slot2.img"))
	require.NoError(t, err)
	assert.Equal(t, firstboot.RaspiosBookworm, plan.Family)
	assert.Equal(t, "node2", seed.Hostname)
	assert.Equal(t, "admin", seed.User)
	r = bmcctl(t, d, home, "", "cluster", "key")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, []string{strings.TrimSpace(string(pubLine)), strings.TrimSpace(r.stdout)}, seed.AuthorizedKeys,
		"the user's key, then bmcd's own so bmcd can reach the node")
	assert.Equal(t, hostKey, seed.HostKey.PublicLine(), "known-hosts pins the key the node was seeded with")

	// The recipe: power on, bmcd learns the address from the node's
	// console marker, ssh with the key and known_hosts from bmcctl.
	r = bmcctl(t, d, home, "", "power", "on", "2")
	require.Equal(t, 0, r.code, r.stderr)
	var node *apitype.Node
	require.Eventually(t, func() bool {
		r := bmcctl(t, d, home, "", "-o", "json", "slots")
		var slots []apitype.Slot
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &slots) != nil || slots[1].Node == nil {
			return false
		}
		node = slots[1].Node
		return len(node.Addresses) > 0
	}, 30*time.Second, 50*time.Millisecond, "the node's marker never reached the slot")
	assert.Empty(t, node.Warning)
	r = bmcctl(t, d, home, "", "node", "known-hosts", "2")
	require.Equal(t, 0, r.code, r.stderr)
	knownHosts := filepath.Join(home, "known_hosts")
	require.NoError(t, os.WriteFile(knownHosts, []byte(r.stdout), 0o600))
	host, port, err := net.SplitHostPort(node.Address)
	require.NoError(t, err, "simulated nodes name their port")
	ssh := exec.Command(sshBin, "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile="+knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "ConnectTimeout=30",
		"-i", priv, "-p", port, "admin@"+host, "hostname")
	out, err = ssh.CombinedOutput()
	require.NoError(t, err, "ssh: %s", out)
	assert.Equal(t, "node2", strings.TrimSpace(string(out)))
	r = bmcctl(t, d, home, "", "power", "off", "2")
	require.Equal(t, 0, r.code, r.stderr)

	// Bad input: a clear error and nothing changes.
	r = bmcctl(t, d, home, "", "flash", "--slot", "2", xz, "--ssh-key", pub, "--hostname", "Node_2")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "not a DNS label")

	// A re-flash without preparation forgets the node.
	r = bmcctl(t, d, home, "", "flash", "--slot", "2", xz)
	require.Equal(t, 0, r.code, r.stderr)
	r = bmcctl(t, d, home, "", "node", "known-hosts", "2")
	assert.NotEqual(t, 0, r.code)
	assert.True(t, strings.Contains(r.stderr, "no node prepared"), r.stderr)
}
