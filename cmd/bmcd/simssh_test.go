package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/flasher/firstboot"
	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
	"github.com/turingpi-oss/bmcd/hal/sim"
)

// Boot partitions shaped like Raspberry Pi OS's: Bookworm (firstrun.sh)
// and Trixie (cloud-init NoCloud, with pi-gen's template seed).
var (
	simBookworm = fbt.Layout{DiskMiB: 80, StartMiB: 4, SizeMiB: 64, FATBits: 32, Cluster: 1, Label: "bootfs", Files: map[string]string{
		"config.txt": "arm_64bit=1\n", "cmdline.txt": "console=serial0,115200 root=PARTUUID=4e639091-02 rootwait\n",
		"issue.txt": "Raspberry Pi reference 2025-05-13\n"}}
	simTrixie = fbt.Layout{DiskMiB: 80, StartMiB: 4, SizeMiB: 64, FATBits: 32, Cluster: 1, Label: "bootfs", Files: map[string]string{
		"config.txt": "arm_64bit=1\n", "cmdline.txt": "console=serial0,115200 root=PARTUUID=1-02 rootwait resize\n",
		"issue.txt": "Raspberry Pi reference 2025-10-01\n", "user-data": "#cloud-config\n# template\n", "meta-data": "instance-id: rpios-image\n"}}
)

// simSlot is the slot the tests prepare, as in the README's recipe.
const simSlot = 2

// openPreparedSim writes img to slot 2's eMMC file and opens the
// simulated board as bmcd does (openSim), its nodes listening for SSH on
// their default addresses (another port of it when taken, as by a
// parallel test).
func openPreparedSim(t *testing.T, img string) (*hardware, string) {
	t.Helper()
	state := t.TempDir()
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sim.EMMCPath(state, simSlot), b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	cfg.StateDir = state
	cfg.Flash.FirmwareDir = filepath.Join(state, "firmware")
	cfg.Sim.EMMCMiB = int64(len(b)) >> 20
	if err := cfg.complete(); err != nil {
		t.Fatal(err)
	}
	hw, err := openSim(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := hw.close(); err != nil {
			t.Error(err)
		}
	})
	return hw, state
}

// consoleLines reads a slot's console, line by line, as bmcd's console reader
// does; lines ends when the console closes.
func consoleLines(t *testing.T, hw *hardware, slot int) <-chan string {
	t.Helper()
	f, err := os.OpenFile(hw.consoles[slot-1].Device, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	lines := make(chan string, 256)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(f)
		sc.Split(scanConsole)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

// scanConsole splits at line ends and after a login prompt, which no line
// end follows.
func scanConsole(data []byte, atEOF bool) (int, []byte, error) {
	if i := strings.IndexByte(string(data), '\n'); i >= 0 {
		return i + 1, []byte(strings.TrimRight(string(data[:i]), "\r")), nil
	}
	if strings.HasSuffix(string(data), " login: ") {
		return len(data), data, nil
	}
	return bufio.ScanLines(data, atEOF)
}

// bootToLogin powers slot on and returns its console lines up to the login
// prompt.
func bootToLogin(t *testing.T, hw *hardware, slot int, lines <-chan string) []string {
	t.Helper()
	if err := hw.board.SetPower(context.Background(), slot, true); err != nil {
		t.Fatal(err)
	}
	var got []string
	for l := range lines {
		got = append(got, l)
		if strings.HasSuffix(l, " login: ") {
			return got
		}
	}
	t.Fatalf("console closed before the login prompt; got %q", got)
	return nil
}

// sshKey makes a key pair with OpenSSH's ssh-keygen and returns the
// private key's path and the public key line.
func sshKey(t *testing.T, keygen, name string) (string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	fbt.Run(t, "", keygen, "-q", "-t", "ed25519", "-N", "", "-C", name+"@laptop", "-f", p)
	pub, err := os.ReadFile(p + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return p, strings.TrimSpace(string(pub))
}

// runSSH runs the OpenSSH client against addr with only the given key and
// known_hosts file, host keys strictly checked.
func runSSH(sshBin string, addr netip.AddrPort, key, knownHosts, stdin string, cmd ...string) (string, string, int, error) {
	args := []string{"-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "ConnectTimeout=30",
		"-i", key, "-p", strconv.Itoa(int(addr.Port())),
		"pi@" + addr.Addr().String()}
	c := exec.Command(sshBin, append(args, cmd...)...)
	c.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), errOut.String(), exit.ExitCode(), nil
	}
	return out.String(), errOut.String(), 0, err
}

// knownHostsLine is a known_hosts line for a host key at addr, in the form
// OpenSSH writes for a port other than 22.
func knownHostsLine(addr netip.AddrPort, pub string) string {
	return "[" + addr.Addr().String() + "]:" + strconv.Itoa(int(addr.Port())) + " " + pub + "\n"
}

// TestOpenSSHLogsIntoPreparedSimNode: a node whose eMMC holds an image
// prepared by firstboot names itself after the seed on its console, prints
// the marker line with its SSH address and host-key fingerprint, and lets
// the real OpenSSH client in with the seeded key against a known_hosts
// holding the seeded host key; a wrong key and a changed host key are
// refused, and power-off stops the server.
func TestOpenSSHLogsIntoPreparedSimNode(t *testing.T) {
	t.Parallel()
	sshBin := fbt.RequireTool(t, "ssh", "openssh-client")
	keygen := fbt.RequireTool(t, "ssh-keygen", "openssh-client")
	for _, tc := range []struct {
		name   string
		layout fbt.Layout
	}{
		{"bookworm firstrun.sh", simBookworm},
		{"trixie cloud-init", simTrixie},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, pub := sshKey(t, keygen, "alice")
			wrongKey, _ := sshKey(t, keygen, "mallory")
			hk, err := firstboot.GenerateHostKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			otherHK, err := firstboot.GenerateHostKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			id, err := firstboot.NewInstanceID(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			img := fbt.Build(t, tc.layout)
			if _, err := firstboot.ApplyPath(img, firstboot.Seed{Hostname: "rack1-node2", AuthorizedKeys: []string{pub}, HostKey: hk, InstanceID: id}); err != nil {
				t.Fatal(err)
			}
			hw, _ := openPreparedSim(t, img)
			lines := consoleLines(t, hw, simSlot)
			boot := bootToLogin(t, hw, simSlot, lines)

			if got := boot[len(boot)-1]; got != "rack1-node2 login: " {
				t.Fatalf("login prompt %q", got)
			}
			var m firstboot.Marker
			found := 0
			for _, l := range boot {
				if mm, err := firstboot.ParseMarker(l); err == nil {
					m, found = mm, found+1
				}
			}
			if found != 1 || m.Hostname != "rack1-node2" || m.Fingerprint != hk.Fingerprint() || len(m.Addrs) != 1 || m.Addrs[0] != sim.DefaultSSHAddr(simSlot).Addr() || m.Port == 0 {
				t.Fatalf("%d markers, last %+v; boot log %q", found, m, boot)
			}
			addr := m.SSHAddrs()[0]

			dir := t.TempDir()
			pinned := filepath.Join(dir, "known_hosts")
			if err := os.WriteFile(pinned, []byte(knownHostsLine(addr, hk.PublicLine())), 0o600); err != nil {
				t.Fatal(err)
			}
			changed := filepath.Join(dir, "known_hosts.changed")
			if err := os.WriteFile(changed, []byte(knownHostsLine(addr, otherHK.PublicLine())), 0o600); err != nil {
				t.Fatal(err)
			}

			for _, c := range []struct {
				name, key, knownHosts, stdin string
				cmd                          []string
				status                       int
				out, errOut                  string
			}{
				{"hostname", key, pinned, "", []string{"hostname"}, 0, "rack1-node2\n", ""},
				{"machine", key, pinned, "", []string{"uname -m"}, 0, "aarch64\n", ""},
				{"user", key, pinned, "", []string{"id -un"}, 0, "pi\n", ""},
				{"unknown command", key, pinned, "", []string{"k3s"}, 127, "", "sh: 1: k3s: not found"},
				{"login shell on a pty", key, pinned, "hostname\rexit\r", []string{"-tt"}, 0, "hostname\r\nrack1-node2\r\n", ""},
				{"wrong key", wrongKey, pinned, "", []string{"hostname"}, 255, "", "Permission denied (publickey)"},
				{"changed host key", key, changed, "", []string{"hostname"}, 255, "", "Host key verification failed"},
			} {
				out, errOut, status, err := runSSH(sshBin, addr, c.key, c.knownHosts, c.stdin, c.cmd...)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				outOK := out == c.out
				if c.cmd[0] == "-tt" { // the banner and prompts surround the answer
					outOK = strings.Contains(out, c.out)
				}
				if status != c.status || !outOK || !strings.Contains(errOut, c.errOut) {
					t.Errorf("%s: status %d out %q stderr %q; want %d %q %q", c.name, status, out, errOut, c.status, c.out, c.errOut)
				}
			}

			// Power off stops the server and ends the sessions it had.
			cl, err := ssh.Dial("tcp", addr.String(), &ssh.ClientConfig{User: "pi",
				Auth:              []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) { return []ssh.Signer{loadSigner(t, key)}, nil })},
				HostKeyCallback:   ssh.FixedHostKey(hostPublic(t, hk)),
				HostKeyAlgorithms: []string{ssh.KeyAlgoED25519}})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if err := hw.board.SetPower(context.Background(), simSlot, false); err != nil {
				t.Fatal(err)
			}
			_ = cl.Wait() // returns once the node closed the connection
			// Nothing holding this node's host key answers there any more:
			// the port is closed, or (other tests' simulated nodes share
			// the default addresses) taken by a node with another key.
			if _, errOut, status, err := runSSH(sshBin, addr, key, pinned, "", "true"); err != nil || status != 255 ||
				!strings.Contains(errOut, "Connection refused") && !strings.Contains(errOut, "Host key verification failed") {
				t.Fatalf("ssh to a node that is off: status %d, %q, %v", status, errOut, err)
			}
		})
	}
}

func loadSigner(t *testing.T, path string) ssh.Signer {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hostPublic(t *testing.T, hk firstboot.HostKey) ssh.PublicKey {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hk.PublicLine()))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestUnpreparedSimNodeBootsWithoutSSH: an image flashed without
// preparation boots as before: the default name, no marker.
func TestUnpreparedSimNodeBootsWithoutSSH(t *testing.T) {
	t.Parallel()
	img := fbt.Build(t, simBookworm)
	hw, state := openPreparedSim(t, img)
	boot := bootToLogin(t, hw, simSlot, consoleLines(t, hw, simSlot))
	if got := boot[len(boot)-1]; got != "node2 login: " {
		t.Fatalf("login prompt %q", got)
	}
	for _, l := range boot {
		if strings.Contains(l, firstboot.MarkerPrefix) {
			t.Fatalf("marker from an unprepared image: %q", l)
		}
	}
	if _, ok, err := readSimSeed(sim.EMMCPath(state, simSlot)); ok || err != nil {
		t.Fatalf("readSimSeed of an unprepared image: %v, %v", ok, err)
	}
}
