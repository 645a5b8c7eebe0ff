package console

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"
)

// logRetry is how long logFile waits after a failure before it tries to
// open the file again.
const logRetry = 30 * time.Second

// logFile appends to a size-capped file that is rotated to path+".1".
// Errors never stop the caller: the first one is logged, writes are
// dropped, and the file is opened again after logRetry. It is not safe for
// concurrent use.
type logFile struct {
	path   string
	max    int64
	logger *slog.Logger
	clock  clockwork.Clock

	f         *os.File
	size      int64
	failed    bool      // an error was logged and not yet followed by success
	retryAt   time.Time // no open attempt before this time while failed
	closedErr error     // set by close; no more writes
}

// newLogFile returns a logFile for path; nothing is opened until the
// first write.
func newLogFile(path string, maxBytes int64, logger *slog.Logger, clock clockwork.Clock) *logFile {
	return &logFile{path: path, max: maxBytes, logger: logger, clock: clock}
}

// write appends p, rotating as needed so that no file exceeds max bytes.
func (l *logFile) write(p []byte) {
	if l.closedErr != nil {
		return
	}
	for len(p) > 0 {
		if l.f == nil && !l.open() {
			return
		}
		if l.size >= l.max {
			if err := l.rotate(); err != nil {
				l.fail(err)
				return
			}
			continue
		}
		chunk := p[:min(int64(len(p)), l.max-l.size)]
		n, err := l.f.Write(chunk)
		l.size += int64(n)
		if err != nil {
			l.fail(fmt.Errorf("console: write log %s: %w", l.path, err))
			return
		}
		p = p[n:]
	}
}

// open opens (creating) the file and its directory. It reports success.
func (l *logFile) open() bool {
	if l.failed && l.clock.Now().Before(l.retryAt) {
		return false
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o750); err != nil {
		l.fail(fmt.Errorf("console: create log dir %s: %w", filepath.Dir(l.path), err))
		return false
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		l.fail(fmt.Errorf("console: open log: %w", err))
		return false
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		l.fail(fmt.Errorf("console: stat log: %w", err))
		return false
	}
	l.f, l.size = f, st.Size()
	if l.failed {
		l.failed = false
		l.logger.Info("console log file writable again", "path", l.path)
	}
	return true
}

// rotate renames the current file to path+".1" and starts a new one.
func (l *logFile) rotate() error {
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("console: close log %s: %w", l.path, err)
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("console: rotate log: %w", err)
	}
	l.open() // on failure, open has logged and scheduled a retry
	return nil
}

// fail closes the file, logs err if it is the first error since the last
// success, and schedules the next open attempt.
func (l *logFile) fail(err error) {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	if !l.failed {
		l.logger.Error("console log file failing; console output is not logged until it recovers", "path", l.path, "err", err)
	}
	l.failed = true
	l.retryAt = l.clock.Now().Add(logRetry)
}

// close closes the file; later writes are ignored.
func (l *logFile) close() error {
	l.closedErr = ErrClosed
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("console: close log %s: %w", l.path, err)
	}
	return nil
}
