package main_test

// End-to-end tests: the real bmcctl binary against a real bmcd process on
// the simulated board, over loopback, as a user would run them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// soak runs the long end-to-end runs (make bench-soak); make test runs
// without them.
var soak = flag.Bool("soak", false, "run the soak tests too")

// otherBMCD runs the tests and benchmarks against another build of bmcd,
// to compare builds side by side on one machine.
var otherBMCD = flag.String("bmcd", "", "bmcd `binary` to run instead of building this tree's")

// binDir holds the binaries that binaries built, removed by TestMain.
var binDir string

// TestMain removes the binaries the end-to-end tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	closeBrowser()
	if binDir != "" {
		if err := os.RemoveAll(binDir); err != nil {
			fmt.Fprintln(os.Stderr, "remove the e2e binaries:", err)
		}
	}
	os.Exit(code)
}

// binaries builds bmcd and bmcctl once per test run.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "bmcd-e2e-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	for _, cmd := range []string{"bmcd", "bmcctl"} {
		// Built as make build ships them: static, no cgo.
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(dir, cmd), "github.com/turingpi-oss/bmcd/cmd/"+cmd)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := build.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", cmd, err, out)
		}
	}
	return dir, nil
})

// daemon is a running bmcd.
type daemon struct {
	url      string
	password string
	stateDir string
	cmd      *exec.Cmd
	stderr   *syncBuffer
	done     chan error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	listeningRE = regexp.MustCompile(`bmcd: listening on (https?://\S+)`)
	passwordRE  = regexp.MustCompile(`(?s)generated a password for user "admin".*?:\n\n\s+(\S+)\n`)
)

// startBMCD starts bmcd on the simulated board with its state in
// stateDir, on a free loopback port, and waits until it listens.
func startBMCD(t testing.TB, stateDir string, args ...string) *daemon {
	t.Helper()
	bin, err := binaries()
	require.NoError(t, err)
	args = append([]string{"--board", "sim", "--listen", "127.0.0.1:0", "--state-dir", stateDir}, args...)
	bmcd := filepath.Join(bin, "bmcd")
	if *otherBMCD != "" {
		bmcd = *otherBMCD
	}
	cmd := exec.Command(bmcd, args...)
	pr, pw := io.Pipe()
	d := &daemon{stateDir: stateDir, cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = io.MultiWriter(d.stderr, pw)
	require.NoError(t, cmd.Start())
	go func() { d.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { d.stop(t) })

	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case d.url = <-found:
	case err := <-d.done:
		t.Fatalf("bmcd exited before listening: %v\n%s", err, d.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("bmcd did not listen within 30 s:\n%s", d.stderr)
	}
	if m := passwordRE.FindStringSubmatch(d.stderr.String()); m != nil {
		d.password = m[1]
	}
	return d
}

// stop sends SIGTERM and waits for a graceful exit.
func (d *daemon) stop(t testing.TB) {
	t.Helper()
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		assert.NoError(t, err, "bmcd must exit cleanly on SIGTERM:\n%s", d.stderr)
		d.done <- err // for a second stop
	case <-time.After(15 * time.Second):
		_ = d.cmd.Process.Kill()
		t.Errorf("bmcd did not stop within 15 s of SIGTERM")
	}
}

// result is one bmcctl run.
type result struct {
	stdout, stderr string
	code           int
}

// bmcctl runs the real binary with its config dir in home.
func bmcctl(t testing.TB, d *daemon, home, stdin string, args ...string) result {
	t.Helper()
	bin, err := binaries()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "bmcctl"), args...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "BMC_HOST="+d.url, "BMC_PASSWORD=")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	d := startBMCD(t, t.TempDir())
	require.NotEmpty(t, d.password, "first start must print the generated password:\n%s", d.stderr)
	home := t.TempDir()

	t.Run("no token is refused", func(t *testing.T) {
		r := bmcctl(t, d, home, "", "power", "status")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "not logged in")
		assert.Empty(t, r.stdout)

		resp, err := http.Get(d.url + "/api/v1/slots")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})

	t.Run("wrong password", func(t *testing.T) {
		r := bmcctl(t, d, home, "not-the-password\n", "login", "--password-stdin")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "bmcctl: ")
		assert.Equal(t, 1, strings.Count(strings.TrimSpace(r.stderr), "\n")+1, "one line: %q", r.stderr)
	})

	t.Run("login", func(t *testing.T) {
		r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "Logged in")
		var tokenFile string
		require.NoError(t, filepath.WalkDir(home, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() && strings.Contains(p, "bmcctl") {
				tokenFile = p
			}
			return err
		}))
		require.NotEmpty(t, tokenFile, "token cache written")
		fi, err := os.Stat(tokenFile)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	})

	t.Run("power on 3", func(t *testing.T) {
		r := bmcctl(t, d, home, "", "power", "on", "3")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "3")
		assert.Contains(t, r.stdout, "on")
	})

	t.Run("status shows slot 3 on", func(t *testing.T) {
		r := bmcctl(t, d, home, "", "-o", "json", "power", "status")
		require.Equal(t, 0, r.code, r.stderr)
		var slots []struct {
			Slot  int    `json:"slot"`
			Power string `json:"power"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &slots), r.stdout)
		require.Len(t, slots, 4)
		for _, s := range slots {
			want := "off"
			if s.Slot == 3 {
				want = "on"
			}
			assert.Equal(t, want, s.Power, "slot %d", s.Slot)
		}
		table := bmcctl(t, d, home, "", "power", "status")
		require.Equal(t, 0, table.code, table.stderr)
		assert.Regexp(t, `(?m)^\s*3\s+on\b`, table.stdout)
	})

	t.Run("power on 9 fails clearly", func(t *testing.T) {
		r := bmcctl(t, d, home, "", "power", "on", "9")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "bmcctl: slot 9: no such slot (the board has slots 1-4)\n", r.stderr)
		assert.Empty(t, r.stdout)
	})

	t.Run("power on abc is a usage error", func(t *testing.T) {
		r := bmcctl(t, d, home, "", "power", "on", "abc")
		assert.Equal(t, 2, r.code)
		assert.Contains(t, r.stderr, `"abc"`)
	})

	t.Run("restart keeps the node running and the session", func(t *testing.T) {
		d.stop(t)
		before, err := os.ReadFile(filepath.Join(d.stateDir, "sim-hardware.json"))
		require.NoError(t, err)
		// Same address: the token is cached per host.
		d2 := startBMCD(t, d.stateDir, "--listen", strings.TrimPrefix(d.url, "http://"))
		assert.Empty(t, d2.password, "the password is generated only once")
		assert.NotContains(t, d2.stderr.String(), "switching slot on")
		r := bmcctl(t, d2, home, "", "-o", "json", "power", "status", "3")
		require.Equal(t, 0, r.code, r.stderr)
		var slot struct {
			Power string `json:"power"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &slot), r.stdout)
		assert.Equal(t, "on", slot.Power)
		d2.stop(t)
		after, err := os.ReadFile(filepath.Join(d.stateDir, "sim-hardware.json"))
		require.NoError(t, err)
		assert.JSONEq(t, string(before), string(after), "hardware untouched across the restart")
	})
}
