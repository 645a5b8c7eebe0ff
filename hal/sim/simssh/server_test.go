package simssh_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

func newKey(t *testing.T) (ed25519.PrivateKey, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv, s
}

func authorized(s ssh.Signer) string { return string(ssh.MarshalAuthorizedKey(s.PublicKey())) }

// start runs a server for user pi on a free loopback port.
func start(t *testing.T, user ssh.Signer) (*simssh.Server, ssh.Signer) {
	t.Helper()
	hostPriv, host := newKey(t)
	srv, err := simssh.Listen("127.0.0.1:0", simssh.Config{
		Node:           simssh.Node{Hostname: "node2", User: "pi"},
		HostKey:        hostPriv,
		AuthorizedKeys: []string{authorized(user)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, host
}

func dial(srv *simssh.Server, user string, key, host ssh.Signer) (*ssh.Client, error) {
	return ssh.Dial("tcp", srv.Addr().String(), &ssh.ClientConfig{
		User:              user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback:   ssh.FixedHostKey(host.PublicKey()),
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
	})
}

func run(t *testing.T, c *ssh.Client, cmd string) (string, string, int) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var out, errw bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errw
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

func TestCommands(t *testing.T) {
	t.Parallel()
	_, user := newKey(t)
	srv, host := start(t, user)
	c, err := dial(srv, "pi", user, host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name, cmd, out, errOut string
		status                 int
	}{
		{"hostname", "hostname", "node2\n", "", 0},
		{"machine", "uname -m", "aarch64\n", "", 0},
		{"user", "id -un", "pi\n", "", 0},
		{"true", "true", "", "", 0},
		{"false", "false", "", "", 1},
		{"unknown", "k3s --version", "", "sh: 1: k3s: not found\n", 127},
		{"missing file", "cat /etc/shadow", "", "cat: /etc/shadow: No such file or directory\n", 1},
		{"sequence", "hostname; id -un", "node2\npi\n", "", 0},
		{"sequence ends with the last status", "true; false", "", "", 1},
		{"and stops at a failure", "false && hostname", "", "", 1},
		{"and runs on success", "true && uname -m", "aarch64\n", "", 0},
		{"redirect to stderr", "echo tag >&2; hostname", "node2\n", "tag\n", 0},
		{"clock", "timedatectl show -p NTPSynchronized --value", "yes\n", "", 0},
		{"timesyncd file", "test -e /run/systemd/timesync/synchronized", "", "", 0},
		{"test missing file", "test -e /nonexistent", "", "", 1},
		{"cgroup v2", "cat /sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n", "", 0},
		{"no cgroup v1 table", "cat /proc/cgroups", "", "cat: /proc/cgroups: No such file or directory\n", 1},
		{"disk", "df -Pk /var/lib", "Filesystem     1024-blocks    Used Available Capacity Mounted on\n" +
			"/dev/mmcblk0p2    30358348 2318040  28040308       8% /\n", "", 0},
		{"no chrony", "chronyc -n tracking", "", "sh: 1: chronyc: not found\n", 127},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, status := run(t, c, tc.cmd)
			if out != tc.out || errOut != tc.errOut || status != tc.status {
				t.Fatalf("%s: %q %q %d, want %q %q %d", tc.cmd, out, errOut, status, tc.out, tc.errOut, tc.status)
			}
		})
	}
	// $$ is one shell's process id: the same within a command line.
	if _, errOut, _ := run(t, c, "echo $$ >&2; echo $$ >&2"); !regexp.MustCompile(`^([1-9][0-9]*)\n([1-9][0-9]*)\n$`).MatchString(errOut) ||
		strings.Fields(errOut)[0] != strings.Fields(errOut)[1] {
		t.Errorf("$$ twice: %q, want one pid twice", errOut)
	}
	if out, _, _ := run(t, c, "cat /etc/os-release"); !strings.Contains(out, "ID=debian\n") {
		t.Fatalf("os-release: %q", out)
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	_, user := newKey(t)
	_, other := newKey(t)
	srv, host := start(t, user)
	for _, tc := range []struct {
		name      string
		user      string
		key, host ssh.Signer
	}{
		{"key not authorized", "pi", other, host},
		{"other user", "root", user, host},
		{"other host key", "pi", user, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if c, err := dial(srv, tc.user, tc.key, tc.host); err == nil {
				c.Close()
				t.Fatal("logged in")
			}
		})
	}
}

func TestCloseEndsSessions(t *testing.T) {
	t.Parallel()
	_, user := newKey(t)
	srv, host := start(t, user)
	c, err := dial(srv, "pi", user, host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	// The connection is gone: Wait returns once the server closed it.
	if err := c.Wait(); err == nil {
		t.Fatal("connection survived Close")
	}
	if c, err := dial(srv, "pi", user, host); err == nil {
		c.Close()
		t.Fatal("dialled a closed server")
	}
}

func TestListenBadConfig(t *testing.T) {
	t.Parallel()
	hostPriv, user := newKey(t)
	for _, tc := range []struct {
		name string
		cfg  simssh.Config
		want error
	}{
		{"no authorized key", simssh.Config{Node: simssh.Node{User: "pi"}, HostKey: hostPriv}, simssh.ErrNoKeys},
		{"no host key", simssh.Config{Node: simssh.Node{User: "pi"}, AuthorizedKeys: []string{authorized(user)}}, simssh.ErrNoHostKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := simssh.Listen("127.0.0.1:0", tc.cfg); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestShell: a shell without a pty reads commands from its input, as sh
// from a pipe; with a pty it prompts and echoes. exit n is the status.
func TestShell(t *testing.T) {
	t.Parallel()
	_, user := newKey(t)
	srv, host := start(t, user)
	c, err := dial(srv, "pi", user, host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name   string
		pty    bool
		input  string
		out    []string // in this order
		status int
	}{
		{"pipe", false, "hostname\nuname -m\nexit 3\nhostname\n", []string{"node2\naarch64\n"}, 3},
		{"pty", true, "hostname\rexit\r", []string{"pi@node2:~$ ", "hostname\r\nnode2\r\n", "pi@node2:~$ exit\r\n"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			if tc.pty {
				if err := sess.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			sess.Stdin, sess.Stdout = strings.NewReader(tc.input), &out
			err = sess.Shell()
			if err == nil {
				err = sess.Wait()
			}
			status := 0
			var exit *ssh.ExitError
			if errors.As(err, &exit) {
				status = exit.ExitStatus()
			} else if err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if !tc.pty && got != tc.out[0] {
				t.Fatalf("output %q, want %q", got, tc.out[0])
			}
			rest := got
			for _, w := range tc.out {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output %q lacks %q in order", got, w)
				}
				rest = rest[i+len(w):]
			}
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
		})
	}
}
