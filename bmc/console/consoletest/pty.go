package consoletest

import (
	"io"
	"os"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// PTY is a pseudo-terminal pair.
type PTY struct {
	// Master is the node's end, non-blocking so that deadlines work and
	// Close unblocks a pending Read.
	Master *os.File
	// Slave is kept open so that the master never sees a hang-up while
	// the code under test closes and reopens Path.
	Slave *os.File
	// Path is the slave's device node, "/dev/pts/N".
	Path string
}

// New opens a pseudo-terminal with its slave in raw mode, so that bytes
// pass unchanged, and closes both ends when t ends.
func New(t testing.TB) *PTY {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	if _, err := term.MakeRaw(int(s.Fd())); err != nil {
		t.Fatalf("make %s raw: %v", s.Name(), err)
	}
	// pty.Open's master is blocking (it called Fd), so a pending Read
	// could not be interrupted: re-wrap a non-blocking duplicate, which
	// the runtime's poller handles.
	fd, err := unix.Dup(int(m.Fd()))
	if err != nil {
		t.Fatalf("dup pty master: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close pty master: %v", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatalf("set pty master non-blocking: %v", err)
	}
	p := &PTY{Master: os.NewFile(uintptr(fd), "/dev/ptmx"), Slave: s, Path: s.Name()}
	t.Cleanup(func() {
		p.Master.Close()
		p.Slave.Close()
	})
	return p
}

// Echo makes the node send back everything it receives, until t ends.
func (p *PTY) Echo() {
	go func() { _, _ = io.Copy(p.Master, p.Master) }()
}
