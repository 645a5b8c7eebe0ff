//go:build linux

package main

// The real bmcctl binary on a pseudo-terminal, against the real API server
// on the simulated board (newBMCD):
// what a person at a terminal sees and types, and whether the terminal
// is put back as it was on every way out.

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// onPTY is bmcctl running with a pseudo-terminal as its terminal.
type onPTY struct {
	t      *testing.T
	ptmx   *os.File // the side a terminal emulator holds
	tty    *os.File // bmcctl's stdin, stdout and stderr
	screen *lockedBuffer
	before unix.Termios
	cmd    *exec.Cmd
	done   chan struct{}
	err    error // from Wait, once done is closed
}

// buildBMCCTL builds the binary into a temporary directory of t.
func buildBMCCTL(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bmcctl")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func startOnPTY(t *testing.T, bin string, args ...string) *onPTY {
	t.Helper()
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	require.NoError(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 80}))
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	require.NoError(t, err)
	require.NotZero(t, before.Lflag&unix.ICANON, "a new pty starts cooked")

	p := &onPTY{t: t, ptmx: ptmx, tty: tty, screen: &lockedBuffer{}, before: *before, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = os.Environ() // HOME and BMC_HOST from isolate
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = tty, tty, tty
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	require.NoError(t, p.cmd.Start())
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			_, _ = p.screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		ptmx.Close()
		tty.Close()
	})
	return p
}

// see waits until the screen shows want.
func (p *onPTY) see(want string) {
	p.t.Helper()
	require.Eventually(p.t, func() bool { return strings.Contains(p.screen.String(), want) }, 10*time.Second, 5*time.Millisecond,
		"the screen never showed %q; it has:\n%q", want, p.screen)
}

// waitRaw waits until bmcctl has made the terminal raw: only then are
// keys passed on as typed (before, the line discipline would echo them
// and hold them until Enter).
func (p *onPTY) waitRaw() {
	p.t.Helper()
	require.Eventually(p.t, func() bool {
		tio, err := unix.IoctlGetTermios(int(p.tty.Fd()), unix.TCGETS)
		return err == nil && tio.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) == 0
	}, 10*time.Second, 5*time.Millisecond, "the terminal was not made raw")
}

func (p *onPTY) typeKeys(keys string) {
	p.t.Helper()
	_, err := p.ptmx.Write([]byte(keys))
	require.NoError(p.t, err)
}

// exit waits for bmcctl to end and returns its exit status.
func (p *onPTY) exit() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatalf("bmcctl did not exit; the screen has:\n%q", p.screen)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(p.t, p.err)
	return 0
}

// running fails the test if bmcctl has exited.
func (p *onPTY) running() {
	p.t.Helper()
	select {
	case <-p.done:
		p.t.Fatalf("bmcctl exited (%v); the screen has:\n%q", p.err, p.screen)
	case <-time.After(50 * time.Millisecond):
	}
}

// restored checks that the terminal is exactly as it was before bmcctl.
func (p *onPTY) restored() {
	p.t.Helper()
	after, err := unix.IoctlGetTermios(int(p.tty.Fd()), unix.TCGETS)
	require.NoError(p.t, err)
	assert.Equal(p.t, p.before, *after, "the terminal settings are put back")
}

func TestConsoleTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bmcctl")
	}
	bin := buildBMCCTL(t)
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	f.boot(t, 3)
	history := f.history(t, 3)

	t.Run("type, resize, Ctrl-C, detach", func(t *testing.T) {
		p := startOnPTY(t, bin, "console", "3")
		p.see("Connected to slot 3 console (" + f.devices[3] + ", 115200 8N1). Escape: Ctrl-] q to detach, Ctrl-] ? for help.")
		p.see(history[max(0, len(history)-200):])
		p.waitRaw()

		p.typeKeys("root\r")
		p.see("login: root\r\nPassword: ")
		assert.Equal(t, 1, strings.Count(p.screen.String(), "root\r\n"), "only the node echoes, not the local terminal")
		p.typeKeys("\r")
		p.see(prompt)
		loggedIn := len(f.history(t, 3))

		// The kernel sends SIGWINCH to bmcctl when the size changes.
		require.NoError(t, pty.Setsize(p.ptmx, &pty.Winsize{Rows: 50, Cols: 132}))
		p.typeKeys("echo after resize\r")
		p.see("echo after resize\r\nafter resize\r\n")
		p.typeKeys("\x1d?")
		p.see("[bmcctl: escape sequences]\r\n" +
			"  Ctrl-] q       detach (the node keeps running); Ctrl-] . too\r\n" +
			"  Ctrl-] ?       this help\r\n" +
			"  Ctrl-] Ctrl-]  send Ctrl-] to the node\r\n")
		p.see("run 'stty rows 50 cols 132' on the node")
		p.running()

		// Ctrl-C is a key for the node, not a signal for bmcctl.
		p.typeKeys("sleep 100\x03")
		p.see("sleep 100^C\r\n" + prompt)
		p.running()
		f.waitOutput(t, 3, "sleep 100^C\r\n"+prompt)
		assert.Equal(t, "echo after resize\r\nafter resize\r\n"+prompt+"sleep 100^C\r\n"+prompt, f.history(t, 3)[loggedIn:],
			"what the node received, the escape left out")

		p.typeKeys("\x1dq")
		assert.Equal(t, 0, p.exit())
		p.see("[bmcctl: detached from slot 3 console]")
		p.restored()
	})

	for _, sig := range []struct {
		sig      syscall.Signal
		wantCode int
		wantLine string
	}{
		{sig: syscall.SIGTERM, wantCode: 130, wantLine: "bmcctl: interrupted"},
		{sig: syscall.SIGINT, wantCode: 130, wantLine: "bmcctl: interrupted"},
		{sig: syscall.SIGHUP, wantCode: 1, wantLine: "bmcctl: console: hangup"},
	} {
		t.Run(sig.sig.String(), func(t *testing.T) {
			p := startOnPTY(t, bin, "console", "3", "--history", "0")
			p.see("Escape: Ctrl-] q")
			p.waitRaw()
			require.NoError(t, p.cmd.Process.Signal(sig.sig))
			assert.Equal(t, sig.wantCode, p.exit())
			p.see(sig.wantLine)
			p.restored()
		})
	}

	t.Run("read-only", func(t *testing.T) {
		before := f.history(t, 3)
		p := startOnPTY(t, bin, "console", "3", "--read-only", "--escape", "^a")
		p.see("Connected to slot 3 console (" + f.devices[3] + ", 115200 8N1), read-only. Escape: Ctrl-A q to detach, Ctrl-A ? for help.")
		p.waitRaw()
		p.typeKeys("ls\r")
		p.see("[bmcctl: read-only session: keys are not sent]")
		p.typeKeys("\x1d\x01.")
		assert.Equal(t, 0, p.exit())
		assert.Equal(t, before, f.history(t, 3), "nothing was sent: the node echoed nothing")
		p.restored()
	})

	// Last: the consoles do not come back.
	t.Run("bmcd stops", func(t *testing.T) {
		p := startOnPTY(t, bin, "console", "3", "--history", "0")
		p.see("Escape: Ctrl-] q")
		p.waitRaw()
		require.NoError(t, f.closeConsoles())
		assert.Equal(t, 1, p.exit())
		p.see("bmcctl: console: bmcd is shutting down\r\n")
		p.restored()
	})
}

// TestLoginConfirmsCertificateOnTerminal: at a first login over HTTPS,
// bmcctl shows the certificate's fingerprint and pins it only if the
// person at the terminal says yes.
func TestLoginConfirmsCertificateOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bmcctl")
	}
	bin := buildBMCCTL(t)
	f := newBMCD(t)
	srv, fp := tlsBMCD(t, f)
	isolate(t, srv.URL)
	t.Setenv("BMC_PASSWORD", testPassword)

	p := startOnPTY(t, bin, "login")
	p.see("Its SHA-256 fingerprint is\r\n  " + fp.String() + "\r\n")
	p.see("Pin it and log in? [y/N] ")
	p.typeKeys("n\r")
	assert.Equal(t, 1, p.exit())
	p.see("bmcctl: certificate not accepted; nothing pinned")
	_, ok, err := lookupPin(srv.URL)
	require.NoError(t, err)
	assert.False(t, ok)

	p = startOnPTY(t, bin, "login")
	p.see("Pin it and log in? [y/N] ")
	p.typeKeys("y\r")
	assert.Equal(t, 0, p.exit())
	p.see("Logged in to " + srv.URL)
	entry, ok, err := lookupPin(srv.URL)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, fp.String(), entry.Fingerprint)

	// The next login asks nothing.
	p = startOnPTY(t, bin, "login")
	assert.Equal(t, 0, p.exit())
	assert.NotContains(t, p.screen.String(), "Pin it")
}
