//go:build linux

package main_test

// End-to-end console: the real bmcctl on a pseudo-terminal, against a
// real bmcd whose simulated node writes to a real pseudo-terminal that
// bmcd reads as it reads /dev/ttyS2 on a Turing Pi 2.

import (
	"context"
	"io"
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

func TestEndToEndConsole(t *testing.T) {
	t.Parallel()
	d := startBMCD(t, t.TempDir())
	home := t.TempDir()
	r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin")
	require.Equal(t, 0, r.code, r.stderr)
	r = bmcctl(t, d, home, "", "power", "on", "2")
	require.Equal(t, 0, r.code, r.stderr)

	// The node boots whether or not anyone watches; bmcd keeps it all.
	require.Eventually(t, func() bool {
		r := bmcctl(t, d, home, "", "console", "2", "--log")
		return r.code == 0 && strings.HasSuffix(r.stdout, "node2 login: ")
	}, 30*time.Second, 100*time.Millisecond, "boot log with a login prompt")
	tail := bmcctl(t, d, home, "", "console", "2", "--log", "--tail", "13")
	require.Equal(t, 0, tail.code, tail.stderr)
	assert.Equal(t, "node2 login: ", tail.stdout)

	// Interactive, on a terminal.
	bin, err := binaries()
	require.NoError(t, err)
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	defer ptmx.Close()
	defer tty.Close()
	require.NoError(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 80}))
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "bmcctl"), "console", "2")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "BMC_HOST="+d.url)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	require.NoError(t, cmd.Start())
	scr := &syncBuffer{} // the screen
	go func() { _, _ = io.Copy(scr, ptmx) }()
	see := func(want string) {
		t.Helper()
		require.Eventually(t, func() bool { return strings.Contains(scr.String(), want) }, 20*time.Second,
			10*time.Millisecond, "want %q on the screen:\n%s", want, scr.String())
	}
	send := func(keys string) {
		t.Helper()
		_, err := ptmx.Write([]byte(keys))
		require.NoError(t, err)
	}

	see("Escape: Ctrl-] q")
	see("node2 login: ") // history first
	send("pi\r")
	see("pi\r\nPassword: ")
	send("raspberry\r")
	see("pi@node2:~$ ")
	assert.NotContains(t, scr.String(), "raspberry", "the password is not echoed")
	send("echo end-to-end\r")
	see("\r\nend-to-end\r\n")
	send("\x1dq")
	require.NoError(t, cmd.Wait(), "detach exits 0:\n%s", scr.String())
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	require.NoError(t, err)
	assert.Equal(t, *before, *after, "the terminal is restored")

	// One line sent from a script; the node answers on the console.
	r = bmcctl(t, d, home, "", "console", "2", "--send", "uname -n")
	require.Equal(t, 0, r.code, r.stderr)
	require.Eventually(t, func() bool {
		r := bmcctl(t, d, home, "", "console", "2", "--log", "--tail", "200")
		return strings.Contains(r.stdout, "uname -n\r\nnode2\r\n")
	}, 20*time.Second, 100*time.Millisecond)

	// The log file under the state dir has it too.
	logFile, err := os.ReadFile(filepath.Join(d.stateDir, "console", "slot2.log"))
	require.NoError(t, err)
	assert.Contains(t, string(logFile), "node2 login: ")

	// Slot 3 is off: a line sent to it would be lost, and an attached
	// session is told why it shows nothing.
	r = bmcctl(t, d, home, "", "console", "3", "--send", "ls")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "slot 3 is off")
	r = bmcctl(t, d, home, "", "console", "3", "--history", "0")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "[bmcctl: slot 3 is off: nothing answers until it is switched on]\n")
	assert.Equal(t, 1, strings.Count(r.stderr, "is off"), "said once")

	r = bmcctl(t, d, home, "", "console", "9", "--log")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no such slot")
}
