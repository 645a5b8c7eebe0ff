package clustertest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHD is a Debian OpenSSH sshd listening on 127.0.0.1, stopped at test
// cleanup.
type SSHD struct {
	Addr    string
	HostKey ssh.PublicKey
	// ClientKey is authorised to log in as the current user.
	ClientKey ssh.Signer
	User      string

	mu  sync.Mutex
	log strings.Builder
}

// RequireSSHD returns sshd's path. It needs root (sshd switches users and
// privilege-separates): under CI=true a missing sshd or root fails the
// test, elsewhere it is skipped.
func RequireSSHD(t testing.TB) string {
	t.Helper()
	const p = "/usr/sbin/sshd"
	var why string
	if _, err := os.Stat(p); err != nil {
		why = "sshd not installed (Debian package openssh-server)"
	} else if os.Geteuid() != 0 {
		why = fmt.Sprintf("sshd tests need root (uid %d)", os.Geteuid())
	}
	if why == "" {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; required under CI=true", why)
	}
	t.Skip(why)
	return ""
}

// StartSSHD starts sshd with its own ed25519 host key and an
// authorized_keys file holding a fresh client key, and waits until it
// listens.
func StartSSHD(t testing.TB) *SSHD {
	t.Helper()
	bin := RequireSSHD(t)
	// Debian's sshd refuses to start without its privilege-separation
	// directory, which systemd creates at boot.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hostSigner, hostPEM := NewKey(t)
	writeFile(t, filepath.Join(dir, "host_ed25519"), hostPEM)
	// Like a stock node, sshd also holds an ECDSA key, offered first: a
	// client that does not ask for the pinned key's type gets that one.
	writeFile(t, filepath.Join(dir, "host_ecdsa"), newECDSAKey(t))
	client, _ := NewKey(t)
	writeFile(t, filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(client.PublicKey()))
	port := freePort(t)
	conf := strings.Join([]string{
		"ListenAddress 127.0.0.1:" + port,
		"HostKey " + filepath.Join(dir, "host_ecdsa"),
		"HostKey " + filepath.Join(dir, "host_ed25519"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PidFile none",
		"UsePAM no",
		"StrictModes no",
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"AllowAgentForwarding no",
		"LogLevel VERBOSE",
		// Sessions get a home of their own: the host account's shell
		// startup files (which may do slow or locking work) do not run,
		// as on a fresh node.
		"SetEnv HOME=" + dir,
	}, "\n") + "\n"
	writeFile(t, filepath.Join(dir, "sshd_config"), []byte(conf))

	cmd := exec.Command(bin, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	s := &SSHD{Addr: "127.0.0.1:" + port, HostKey: hostSigner.PublicKey(), ClientKey: client, User: "root"}
	ready := make(chan struct{})
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		s.scanLog(stderr, ready)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-logDone
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.Log())
		}
	})
	select {
	case <-ready:
	case <-logDone:
		_ = cmd.Wait()
		t.Fatalf("sshd exited before listening:\n%s", s.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("sshd not listening after 30s:\n%s", s.Log())
	}
	return s
}

// scanLog keeps sshd's log and closes ready once it listens.
func (s *SSHD) scanLog(r io.Reader, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	once := sync.Once{}
	for sc.Scan() {
		s.mu.Lock()
		s.log.WriteString(sc.Text() + "\n")
		s.mu.Unlock()
		if strings.HasPrefix(sc.Text(), "Server listening on") {
			once.Do(func() { close(ready) })
		}
	}
}

// Log returns what sshd has logged so far.
func (s *SSHD) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
