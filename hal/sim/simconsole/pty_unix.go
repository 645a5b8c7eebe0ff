//go:build linux || darwin

package simconsole

import (
	"errors"
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// errFull reports output the pseudo-terminal could not take.
var errFull = errors.New("simconsole: console buffer full")

// openPTY opens a pseudo-terminal. The master is non-blocking and in Go's
// poller, so closing it ends a pending Read; the slave, in raw mode, is to
// be kept open for the life of the master.
func openPTY() (master, slave *os.File, path string, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, "", fmt.Errorf("open pty: %w", err)
	}
	defer func() {
		if err != nil {
			_ = m.Close()
			_ = s.Close()
		}
	}()
	if _, err := term.MakeRaw(int(s.Fd())); err != nil {
		return nil, nil, "", fmt.Errorf("make %s raw: %w", s.Name(), err)
	}
	// pty.Open put the master in blocking mode (it used m.Fd()), where a
	// Read cannot be interrupted. Use a non-blocking copy instead: os.NewFile
	// registers it with the poller.
	fd, err := unix.FcntlInt(m.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, nil, "", fmt.Errorf("dup pty master: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, nil, "", fmt.Errorf("set pty master non-blocking: %w", err)
	}
	if err := m.Close(); err != nil {
		_ = unix.Close(fd)
		return nil, nil, "", fmt.Errorf("close pty master: %w", err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), s, s.Name(), nil
}

// nonblockingWriter returns a function that writes to the non-blocking
// file f what it can take now, and drops the rest with errFull.
func nonblockingWriter(f *os.File) func([]byte) (int, error) {
	return func(p []byte) (int, error) {
		rc, err := f.SyscallConn()
		if err != nil {
			return 0, err
		}
		var n int
		var werr error
		err = rc.Write(func(fd uintptr) bool {
			for len(p) > 0 {
				k, err := unix.Write(int(fd), p)
				switch {
				case errors.Is(err, unix.EINTR):
					continue
				case errors.Is(err, unix.EAGAIN):
					werr = errFull
					return true
				case err != nil:
					werr = err
					return true
				case k <= 0:
					werr = errFull
					return true
				}
				n += k
				p = p[k:]
			}
			return true
		})
		if err != nil {
			return n, err
		}
		return n, werr
	}
}
