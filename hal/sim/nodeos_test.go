package sim_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/hal/sim"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

func TestDefaultSSHAddr(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "127.0.1.2:2202", sim.DefaultSSHAddr(2).String())
	assert.Equal(t, "127.0.1.7:2207", sim.DefaultSSHAddr(7).String())
}

// TestNodeSeed: a node reads its seed from its slot's eMMC path at each
// power-on; a prepared node names itself, prints the marker the seed
// formats for the address its sshd listens on, and serves SSH until power
// off; an unprepared or unreadable one boots without SSH under the default
// name.
func TestNodeSeed(t *testing.T) {
	t.Parallel()
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, userKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	user, err := ssh.NewSignerFromKey(userKey)
	require.NoError(t, err)
	host, err := ssh.NewSignerFromKey(hostKey)
	require.NoError(t, err)

	for _, tc := range []struct {
		name     string
		ok       bool
		err      error
		wantHost string
	}{
		{"prepared", true, nil, "seeded2"},
		{"unprepared", false, nil, "node2"},
		{"unreadable seed", false, errors.New("corrupt seed"), "node2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			paths := make(chan string, 4)
			a, err := sim.Open(&sim.AssemblyOpts{
				StateDir: dir, Module: usbsim.CM4(), EMMCBytes: 1 << 20, FirmwareDir: filepath.Join(dir, "firmware"),
				Seed: func(path string) (sim.NodeSeed, bool, error) {
					paths <- path
					return sim.NodeSeed{Hostname: "seeded2", User: "pi", HostKey: hostKey,
						AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(user.PublicKey()))},
						Marker:         func(a netip.AddrPort) string { return "MARKER " + a.String() },
					}, tc.ok, tc.err
				},
				SSHAddr: func(slot int) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0) },
			})
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, a.Close()) })
			out := readConsole(t, a.Consoles[1].Device)
			require.NoError(t, a.Board.SetPower(context.Background(), 2, true))
			require.Eventually(t, func() bool { return strings.Contains(out(), " login: ") }, 10*time.Second, 5*time.Millisecond)
			assert.Equal(t, sim.EMMCPath(dir, 2), <-paths)
			assert.Contains(t, out(), "\r\n"+tc.wantHost+" login: ")
			if !tc.ok {
				assert.NotContains(t, out(), "MARKER")
				return
			}
			_, line, ok := strings.Cut(out(), "\r\nMARKER ")
			require.True(t, ok, "no marker in %q", out())
			addr, _, _ := strings.Cut(line, "\r\n")
			c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "pi", Auth: []ssh.AuthMethod{ssh.PublicKeys(user)},
				HostKeyCallback: ssh.FixedHostKey(host.PublicKey()), HostKeyAlgorithms: []string{ssh.KeyAlgoED25519}})
			require.NoError(t, err)
			defer c.Close()
			s, err := c.NewSession()
			require.NoError(t, err)
			b, err := s.Output("hostname")
			require.NoError(t, err)
			assert.Equal(t, "seeded2\n", string(b))

			require.NoError(t, a.Board.SetPower(context.Background(), 2, false))
			assert.Error(t, c.Wait(), "power off closes the connection")
			_, err = ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "pi", Auth: []ssh.AuthMethod{ssh.PublicKeys(user)},
				HostKeyCallback: ssh.FixedHostKey(host.PublicKey())})
			assert.Error(t, err, "nothing listens after power off")
		})
	}
}

// TestNodeSSHPortInUse: when another program holds the slot's SSH port,
// the node listens on another port of its address and its marker says
// which.
func TestNodeSSHPortInUse(t *testing.T) {
	t.Parallel()
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, userKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	user, err := ssh.NewSignerFromKey(userKey)
	require.NoError(t, err)
	hostSigner, err := ssh.NewSignerFromKey(hostKey)
	require.NoError(t, err)
	hostPub := hostSigner.PublicKey()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	taken := busy.Addr().(*net.TCPAddr).AddrPort()

	dir := t.TempDir()
	a, err := sim.Open(&sim.AssemblyOpts{
		StateDir: dir, Module: usbsim.CM4(), EMMCBytes: 1 << 20, FirmwareDir: filepath.Join(dir, "firmware"),
		Seed: func(string) (sim.NodeSeed, bool, error) {
			return sim.NodeSeed{Hostname: "seeded2", User: "pi", HostKey: hostKey,
				AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(user.PublicKey()))},
				Marker:         func(a netip.AddrPort) string { return "MARKER " + a.String() },
			}, true, nil
		},
		SSHAddr: func(int) netip.AddrPort { return taken },
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, a.Close()) })
	out := readConsole(t, a.Consoles[1].Device)
	require.NoError(t, a.Board.SetPower(context.Background(), 2, true))
	require.Eventually(t, func() bool { return strings.Contains(out(), " login: ") }, 10*time.Second, 5*time.Millisecond)
	_, line, ok := strings.Cut(out(), "\r\nMARKER ")
	require.True(t, ok, "no marker in %q", out())
	addrText, _, _ := strings.Cut(line, "\r\n")
	addr, err := netip.ParseAddrPort(addrText)
	require.NoError(t, err)
	assert.Equal(t, taken.Addr(), addr.Addr())
	assert.NotEqual(t, taken.Port(), addr.Port())
	c, err := ssh.Dial("tcp", addr.String(), &ssh.ClientConfig{User: "pi", Auth: []ssh.AuthMethod{ssh.PublicKeys(user)},
		HostKeyCallback: ssh.FixedHostKey(hostPub)})
	require.NoError(t, err)
	c.Close()
}

// TestNodeK3sKeptUntilReflash: a slot's k3s install survives power off and
// on and a restart of the simulated board (the node's disk outlives
// bmcd), and is gone once its eMMC is written again (re-flashed), even
// when that happens in a later run.
func TestNodeK3sKeptUntilReflash(t *testing.T) {
	t.Parallel()
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, userKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	user, err := ssh.NewSignerFromKey(userKey)
	require.NoError(t, err)
	dir := t.TempDir()
	// open assembles the board on dir and returns how to boot slot 2 and
	// run cmd on it (its exit status), power it off, and close the board.
	open := func() (boot func(cmd string) int, off func(), closeBoard func()) {
		a, err := sim.Open(&sim.AssemblyOpts{
			StateDir: dir, Module: usbsim.CM4(), EMMCBytes: 1 << 20, FirmwareDir: filepath.Join(dir, "firmware"),
			Seed: func(string) (sim.NodeSeed, bool, error) {
				return sim.NodeSeed{Hostname: "seeded2", User: "root", HostKey: hostKey,
					AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(user.PublicKey()))},
					Marker:         func(a netip.AddrPort) string { return "MARKER " + a.String() },
				}, true, nil
			},
			SSHAddr: func(int) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0) },
		})
		require.NoError(t, err)
		closed := false
		closeBoard = func() {
			if !closed {
				closed = true
				assert.NoError(t, a.Close())
			}
		}
		t.Cleanup(closeBoard)
		out := readConsole(t, a.Consoles[1].Device)
		boots := 0
		boot = func(cmd string) int {
			boots++
			require.NoError(t, a.Board.SetPower(context.Background(), 2, true))
			require.Eventually(t, func() bool { return strings.Count(out(), "\r\nMARKER ") >= boots }, 10*time.Second, 5*time.Millisecond)
			o := out()
			addr, _, _ := strings.Cut(o[strings.LastIndex(o, "\r\nMARKER ")+len("\r\nMARKER "):], "\r\n")
			c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(user)},
				HostKeyCallback: ssh.InsecureIgnoreHostKey()})
			require.NoError(t, err)
			defer c.Close()
			s, err := c.NewSession()
			require.NoError(t, err)
			err = s.Run(cmd)
			var exit *ssh.ExitError
			if errors.As(err, &exit) {
				return exit.ExitStatus()
			}
			require.NoError(t, err)
			return 0
		}
		off = func() { require.NoError(t, a.Board.SetPower(context.Background(), 2, false)) }
		return boot, off, closeBoard
	}

	boot, off, closeBoard := open()
	require.Equal(t, 0, boot("curl -sfL https://get.k3s.io | K3S_TOKEN='0123456789abcdef0123456789abcdef' sh -s - server"))
	off()
	assert.Equal(t, 0, boot("systemctl is-active --quiet k3s"), "install kept over a power cycle")
	off()
	assert.Equal(t, 0, boot("k3s kubectl get nodes -o json"), "the server's API back after a power cycle")
	off()
	closeBoard()

	boot, off, closeBoard = open()
	assert.Equal(t, 0, boot("systemctl is-active --quiet k3s"), "install kept over a restart")
	off()
	assert.Equal(t, 0, boot("k3s kubectl get nodes -o json"), "the server's API back after a restart: its CAs were kept")
	off()
	closeBoard()

	// Written before the next run's first boot: still a re-flash.
	require.NoError(t, os.WriteFile(sim.EMMCPath(dir, 2), make([]byte, 1<<20), 0o644))
	boot, _, _ = open()
	assert.Equal(t, 3, boot("systemctl is-active --quiet k3s"), "re-flash wipes the install")
}
