package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

const (
	testHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3n0de2HostKeyGeneratedByBmcdAtFlashTime00"
	testFP      = "SHA256:n0de2fingerprint0000000000000000000000000000"
)

// preparedSlots are four slots: 1 unprepared, 2 seen on a simulated
// node's loopback address and port, 3 not seen yet (mDNS name), 4 with a
// host-key warning and a configured address.
func preparedSlots() []apitype.Slot {
	seen := time.Date(2026, 12, 2, 3, 4, 5, 0, time.UTC)
	return []apitype.Slot{
		{Slot: 1, Power: "off", Policy: "always-off"},
		{Slot: 2, Name: "worker", Module: "CM4", Power: "on", Policy: "always-on", Node: &apitype.Node{
			Hostname: "node2", User: "pi", OS: "raspios-trixie", HostKey: testHostKey, Fingerprint: testFP,
			Address: "127.0.0.2:2222", Addresses: []string{"127.0.0.2:2222", "fd00::2"}, AddressesSeen: &seen, Job: 4}},
		{Slot: 3, Power: "off", Policy: "always-off", Node: &apitype.Node{
			Hostname: "node3", User: "admin", OS: "raspios-bookworm", HostKey: testHostKey, Fingerprint: testFP,
			Address: "node3.local", Addresses: []string{}, Job: 5}},
		{Slot: 4, Power: "on", Policy: "always-off", Node: &apitype.Node{
			Hostname: "node4", User: "root", OS: "dietpi", HostKey: testHostKey, Fingerprint: testFP,
			Address: "10.0.0.14:22", Addresses: []string{}, Job: 6, Warning: "the node's console reports host key SHA256:x, not the SHA256:y bmcd generated: not trusted"}},
	}
}

func TestNodeOutputGolden(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	require.NoError(t, writeSlots(&b, preparedSlots()))
	golden(t, "slots-nodes", b.Bytes())

	lines, err := knownHosts(preparedSlots(), nil)
	require.NoError(t, err)
	golden(t, "known-hosts", []byte(strings.Join(lines, "\n")+"\n"))
}

func TestKnownHostsSlots(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		want    []int
		lines   []string
		errPart string
	}{
		{name: "one slot, port not 22", want: []int{2}, lines: []string{"[127.0.0.2]:2222,[fd00::2]:2222,[node2]:2222,[node2.local]:2222 " + testHostKey}},
		{name: "port 22 dropped", want: []int{4}, lines: []string{"10.0.0.14,node4,node4.local " + testHostKey}},
		{name: "unprepared slot", want: []int{1}, errPart: "slot 1: no node prepared"},
		{name: "no such slot", want: []int{9}, errPart: "slot 9: no such slot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lines, err := knownHosts(preparedSlots(), tc.want)
			if tc.errPart != "" {
				require.ErrorContains(t, err, tc.errPart)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.lines, lines)
		})
	}
	_, err := knownHosts(preparedSlots()[:1], nil)
	require.ErrorContains(t, err, "no slot holds a node bmcd prepared")
}

func TestReadSSHKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pub := filepath.Join(dir, "id_ed25519.pub")
	require.NoError(t, os.WriteFile(pub, []byte("# my keys\n"+testHostKey+" me@laptop\n\n"+testHostKey+" other\n"), 0o600))
	priv := filepath.Join(dir, "id_ed25519")
	require.NoError(t, os.WriteFile(priv, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600))
	empty := filepath.Join(dir, "empty.pub")
	require.NoError(t, os.WriteFile(empty, []byte("\n# nothing\n"), 0o600))

	keys, err := readSSHKeys([]string{pub, testHostKey + " literal"})
	require.NoError(t, err)
	assert.Equal(t, []string{testHostKey + " me@laptop", testHostKey + " other", testHostKey + " literal"}, keys)

	for _, tc := range []struct{ name, arg, want string }{
		{"private key", priv, "is a private key"},
		{"no key", empty, "holds no key"},
		{"missing file", filepath.Join(dir, "nope.pub"), "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readSSHKeys([]string{tc.arg})
			require.ErrorContains(t, err, tc.want)
			var u usageError
			assert.ErrorAs(t, err, &u, "a usage error (exit status 2)")
		})
	}
}
