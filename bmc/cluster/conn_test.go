package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/bmc/cluster/clustertest"
)

func node(s *clustertest.SSHD) cluster.Node {
	return cluster.Node{Name: "node1", Addr: s.Addr, HostKey: s.HostKey}
}

func config(s *clustertest.SSHD) cluster.Config {
	return cluster.Config{User: s.User, Signer: s.ClientKey}
}

func dial(t *testing.T, cfg cluster.Config, n cluster.Node) *cluster.Conn {
	t.Helper()
	c, err := cluster.Dial(t.Context(), cfg, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRunOverRealSSHD(t *testing.T) {
	t.Parallel()
	s := clustertest.StartSSHD(t)
	c := dial(t, config(s), node(s))

	res, err := c.Run(t.Context(), "echo out; echo err >&2; cat", strings.NewReader("in\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(res.Stdout), "out\nin\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got, want := string(res.Stderr), "err\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}

	res, err = c.Run(t.Context(), "echo failing >&2; exit 3", nil)
	var ee *cluster.ExitError
	if !errors.As(err, &ee) || ee.Status != 3 || res.ExitStatus != 3 {
		t.Fatalf("exit 3: got %+v, err %v", res, err)
	}
	if !strings.Contains(err.Error(), "node1") || !strings.Contains(err.Error(), "failing") {
		t.Errorf("error %q should name the node and carry stderr", err)
	}
	// A second session on the same connection still works.
	if _, err := c.Run(t.Context(), "true", nil); err != nil {
		t.Fatal(err)
	}
}

func TestUploadOverRealSSHD(t *testing.T) {
	t.Parallel()
	s := clustertest.StartSSHD(t)
	c := dial(t, config(s), node(s))
	dst := filepath.Join(t.TempDir(), "sub dir", "it's k3s")
	payload := bytes.Repeat([]byte("k3s\x00\xff"), 100000)

	if err := c.Upload(t.Context(), dst, 0o755, bytes.NewReader(payload)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Errorf("uploaded %d bytes differ from the %d sent", len(got), len(payload))
	}
	fi, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", fi.Mode().Perm())
	}
	if err := c.Upload(t.Context(), "relative/path", 0o644, strings.NewReader("x")); err == nil {
		t.Error("relative path accepted")
	}
}

func TestHostKeyMismatchRefused(t *testing.T) {
	t.Parallel()
	s := clustertest.StartSSHD(t)
	other, _ := clustertest.NewKey(t)
	n := node(s)
	n.HostKey = other.PublicKey() // the node was re-keyed since it was recorded

	_, err := cluster.Dial(t.Context(), config(s), n)
	if !errors.Is(err, cluster.ErrHostKeyMismatch) {
		t.Fatalf("got %v, want ErrHostKeyMismatch", err)
	}
	for _, want := range []string{"node1", ssh256(s.HostKey), ssh256(other.PublicKey())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestWrongClientKeyRefused(t *testing.T) {
	t.Parallel()
	s := clustertest.StartSSHD(t)
	cfg := config(s)
	cfg.Signer, _ = clustertest.NewKey(t)

	_, err := cluster.Dial(t.Context(), cfg, node(s))
	if !errors.Is(err, cluster.ErrAuth) {
		t.Fatalf("got %v, want ErrAuth", err)
	}
}

// A listener that accepts and never speaks: without the handshake deadline
// Dial would wait forever.
func TestHandshakeDeadline(t *testing.T) {
	t.Parallel()
	addr, _ := silentListener(t)
	signer, _ := clustertest.NewKey(t)
	cfg := cluster.Config{Signer: signer, HandshakeTimeout: 100 * time.Millisecond}
	n := cluster.Node{Name: "silent", Addr: addr, HostKey: signer.PublicKey()}

	_, err := cluster.Dial(t.Context(), cfg, n)
	if !errors.Is(err, cluster.ErrHandshakeTimeout) {
		t.Fatalf("got %v, want ErrHandshakeTimeout", err)
	}
}

// Cancelling the context aborts a handshake the node never answers, well
// before the handshake deadline.
func TestDialCancelled(t *testing.T) {
	t.Parallel()
	addr, accepted := silentListener(t)
	signer, _ := clustertest.NewKey(t)
	cfg := cluster.Config{Signer: signer, HandshakeTimeout: time.Hour}
	n := cluster.Node{Name: "silent", Addr: addr, HostKey: signer.PublicKey()}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := cluster.Dial(ctx, cfg, n)
		errc <- err
	}()
	<-accepted // connected: the handshake is under way
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// The peer stops answering (a proxy that drops everything): keepalives go
// unanswered and the connection is dropped, failing a running command.
func TestKeepaliveDropsSilentPeer(t *testing.T) {
	t.Parallel()
	s := clustertest.StartSSHD(t)
	p := clustertest.StartProxy(t, s.Addr)
	cfg := config(s)
	// Five misses of 100ms: a loaded test machine still answers in time.
	cfg.KeepaliveInterval, cfg.KeepaliveMisses = 100*time.Millisecond, 5
	n := node(s)
	n.Addr = p.Addr
	c := dial(t, cfg, n)
	if _, err := c.Run(t.Context(), "true", nil); err != nil {
		t.Fatal(err)
	}
	// Keepalives answered: the connection outlives several intervals.
	if _, err := c.Run(t.Context(), "sleep 1", nil); err != nil {
		t.Fatalf("connection with a live peer: %v", err)
	}

	p.Stall()
	_, err := c.Run(t.Context(), "sleep 30", nil)
	if !errors.Is(err, cluster.ErrKeepalive) {
		t.Fatalf("run during stall: %v, want ErrKeepalive", err)
	}
	<-c.Done()
	if !errors.Is(c.Err(), cluster.ErrKeepalive) {
		t.Fatalf("Err() = %v, want ErrKeepalive", c.Err())
	}
}

// Cancelling a command's context returns and the node's processes are
// killed, seen in the process table (sshd runs on this host).
func TestCancelKillsRemoteCommand(t *testing.T) {
	t.Parallel()
	s := clustertest.StartSSHD(t)
	c := dial(t, config(s), node(s))
	// Digits only: "sleep 30.<marker>" must be a valid interval.
	marker := fmt.Sprintf("%d%06d", os.Getpid(), time.Now().UnixNano()%1000000)
	// sleep runs as a child of the shell and ignores hangups: only a kill
	// of the command's whole process group ends it.
	cmd := "trap '' HUP TERM PIPE; sleep 30." + marker + " & wait"

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, cmd, nil)
		errc <- err
	}()
	waitFor(t, "remote sleep to start", func() bool { return sleepRunning(marker) })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	waitFor(t, "remote sleep to end", func() bool { return !sleepRunning(marker) })
	if _, err := c.Run(t.Context(), "true", nil); err != nil {
		t.Fatalf("connection after a cancelled command: %v", err)
	}
}

func TestDialRejectsIncompleteNode(t *testing.T) {
	t.Parallel()
	signer, _ := clustertest.NewKey(t)
	cfg := cluster.Config{Signer: signer}
	for name, n := range map[string]cluster.Node{
		"no name":     {Addr: "127.0.0.1:22", HostKey: signer.PublicKey()},
		"no address":  {Name: "n", HostKey: signer.PublicKey()},
		"no host key": {Name: "n", Addr: "127.0.0.1:22"},
	} {
		if _, err := cluster.Dial(t.Context(), cfg, n); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Close ends every goroutine of the connection, including those of a
// cancelled command and of a command still running on the node.
func TestCloseEndsGoroutines(t *testing.T) {
	t.Parallel()
	s := clustertest.StartSSHD(t)
	cfg := config(s)
	// Frequent keepalives, so one is likely in flight at Close.
	cfg.KeepaliveInterval, cfg.KeepaliveMisses = 20*time.Millisecond, 50
	c, err := cluster.Dial(t.Context(), cfg, node(s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(t.Context(), "true", nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Run(ctx, "sleep 30", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	running := make(chan error, 1)
	go func() {
		_, err := c.Run(t.Context(), "sleep 30", nil)
		running <- err
	}()
	waitFor(t, "a second session", func() bool { return strings.Count(s.Log(), "Starting session") >= 3 })

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-running; !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("run during Close: %v, want ErrClosed", err)
	}
	// Other tests' connections are alive too: only frames with this
	// connection as receiver (watch, keepalive, Run) count.
	for _, g := range clustertest.Goroutines(fmt.Sprintf("(%p", c)) {
		t.Errorf("goroutine left after Close:\n%s", g)
	}
	if _, err := c.Run(t.Context(), "true", nil); !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("run after Close: %v, want ErrClosed", err)
	}
}
