package simssh_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

// offlineNode is a node without internet logging in as user, with uname
// -m machine, and a client logged in.
func offlineNode(t *testing.T, w *simssh.K3s, ip, hostname, user, machine string) (*ssh.Client, *simssh.K3sNode) {
	t.Helper()
	_, key := newKey(t)
	hostPriv, host := newKey(t)
	k := w.Node(hostname)
	srv, err := simssh.Listen(ip+":0", simssh.Config{
		Node:    simssh.Node{Hostname: hostname, User: user, Machine: machine},
		HostKey: hostPriv, AuthorizedKeys: []string{authorized(key)}, K3s: k, Offline: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := dial(srv, user, key, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, k
}

// runIn runs cmd with stdin.
func runIn(t *testing.T, c *ssh.Client, cmd string, stdin []byte) (string, string, int) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var out, errw bytes.Buffer
	sess.Stdin, sess.Stdout, sess.Stderr = bytes.NewReader(stdin), &out, &errw
	err = sess.Run(cmd)
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return out.String(), errw.String(), 0
	case errors.As(err, &exit):
		return out.String(), errw.String(), exit.ExitStatus()
	}
	t.Fatalf("%s: %v", cmd, err)
	return "", "", 0
}

func TestFilesOverSSH(t *testing.T) {
	t.Parallel()
	c, k := offlineNode(t, simssh.NewK3s(), "127.0.5.21", "node1", "pi", "")
	data := bytes.Repeat([]byte("k3s"), 50000)
	sum := sha256.Sum256(data)
	for _, tc := range []struct {
		name, cmd string
		stdin     []byte
		status    int
		out, err  string
	}{
		{"not root outside /tmp", "mkdir -p '/usr/local/bin' && tee '/usr/local/bin/k3s.part' >/dev/null", data, 1, "", "Permission denied"},
		{"sudo may", "sudo -n mkdir -p '/usr/local/bin' && umask 077 && sudo -n tee '/usr/local/bin/k3s.part' >/dev/null", data, 0, "", ""},
		{"sum", "sudo -n sha256sum /usr/local/bin/k3s.part", nil, 0, hex.EncodeToString(sum[:]) + "  /usr/local/bin/k3s.part\n", ""},
		{"chmod and rename", "sudo -n chmod 0755 /usr/local/bin/k3s.part && sudo -n mv -f /usr/local/bin/k3s.part /usr/local/bin/k3s", nil, 0, "", ""},
		{"gone after rename", "sha256sum /usr/local/bin/k3s.part", nil, 1, "", "No such file"},
		{"home is the user's", "tee /home/pi/notes >/dev/null", []byte("x"), 0, "", ""},
		{"bad mode", "chmod 99 /home/pi/notes", nil, 1, "", "invalid mode"},
		{"rm", "rm -f /home/pi/notes && sha256sum /home/pi/notes", nil, 1, "", "No such file"},
	} {
		out, errw, st := runIn(t, c, tc.cmd, tc.stdin)
		if st != tc.status || out != tc.out || !strings.Contains(errw, tc.err) {
			t.Errorf("%s: %q → %d %q %q, want %d %q %q", tc.name, tc.cmd, st, out, errw, tc.status, tc.out, tc.err)
		}
	}
	size, got, mode, ok := k.Files().Stat("/usr/local/bin/k3s")
	if !ok || size != int64(len(data)) || got != hex.EncodeToString(sum[:]) || mode != 0o755 {
		t.Errorf("k3s: %d %s %v %v", size, got, mode, ok)
	}
}

// TestAirgapScript: the uploaded install script with
// INSTALL_K3S_SKIP_DOWNLOAD=true installs the binary already there when
// the node can run it, and fails as the real pieces do otherwise.
func TestAirgapScript(t *testing.T) {
	t.Parallel()
	const script = "/tmp/install.sh"
	const skip = "INSTALL_K3S_SKIP_DOWNLOAD=true K3S_TOKEN=" + token + " sh " + script + " server"
	bin := func(arch string) []byte { return append(simssh.ELFHeader(arch), "rest of k3s"...) }
	for _, tc := range []struct {
		name, machine string
		files         map[string][]byte
		cmd           string
		status        int
		err           string
	}{
		{"arm64 on aarch64", "aarch64", map[string][]byte{script: []byte("#!/bin/sh\n"), "/usr/local/bin/k3s": bin("arm64")}, skip, 0, ""},
		{"armhf on aarch64 (compat)", "aarch64", map[string][]byte{script: []byte("#!/bin/sh\n"), "/usr/local/bin/k3s": bin("arm")}, skip, 0, ""},
		{"armhf on a Pi 3B", "armv7l", map[string][]byte{script: []byte("#!/bin/sh\n"), "/usr/local/bin/k3s": bin("arm")}, skip, 0, ""},
		{"arm64 on a Pi 3B", "armv7l", map[string][]byte{script: []byte("#!/bin/sh\n"), "/usr/local/bin/k3s": bin("arm64")}, skip, 1, "Exec format error"},
		{"amd64 on aarch64", "aarch64", map[string][]byte{script: []byte("#!/bin/sh\n"), "/usr/local/bin/k3s": bin("amd64")}, skip, 1, "Exec format error"},
		{"not an executable", "aarch64", map[string][]byte{script: []byte("#!/bin/sh\n"), "/usr/local/bin/k3s": []byte("<html>404</html>")}, skip, 1, "Exec format error"},
		{"no binary", "aarch64", map[string][]byte{script: []byte("#!/bin/sh\n")}, skip, 1, "Executable k3s binary not found"},
		{"no script", "aarch64", map[string][]byte{"/usr/local/bin/k3s": bin("arm64")}, skip, 2, "cannot open"},
		{"not the install script", "aarch64", map[string][]byte{script: []byte("echo hi\n"), "/usr/local/bin/k3s": bin("arm64")}, skip, 2, "not k3s's install script"},
		{"download offline", "aarch64", map[string][]byte{script: []byte("#!/bin/sh\n")}, "K3S_TOKEN=" + token + " sh " + script + " server", 1, "Download failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, k := offlineNode(t, simssh.NewK3s(), "127.0.5.22", "node1", "root", tc.machine)
			for p, data := range tc.files {
				if _, errw, st := runIn(t, c, "tee "+p+" >/dev/null && chmod 0755 "+p, data); st != 0 {
					t.Fatalf("upload %s: %s", p, errw)
				}
			}
			_, errw, st := run(t, c, tc.cmd)
			if st != tc.status || !strings.Contains(errw, tc.err) {
				t.Fatalf("%d %q, want %d %q", st, errw, tc.status, tc.err)
			}
			_, _, active := run(t, c, "systemctl is-active --quiet k3s")
			if (active == 0) != (tc.status == 0) {
				t.Errorf("k3s active %v after exit %d", active == 0, st)
			}
			if _, _, _, ok := k.Files().Stat(script); tc.files[script] != nil && !ok {
				t.Error("script gone")
			}
		})
	}
}

func TestELFHeader(t *testing.T) {
	t.Parallel()
	for arch, want := range map[string][2]byte{"amd64": {2, 62}, "arm64": {2, 183}, "arm": {1, 40}} {
		h := simssh.ELFHeader(arch)
		if string(h[:4]) != "\x7fELF" || h[4] != want[0] || h[18] != want[1] {
			t.Errorf("%s: % x", arch, h[:20])
		}
	}
	if simssh.ELFHeader("riscv64") != nil {
		t.Error("riscv64: k3s ships no such binary")
	}
}
