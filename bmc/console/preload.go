package console

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// previousLog returns the last n bytes that earlier runs left in the log
// at path: the tail of path+".1" followed by path.
func previousLog(path string, n int) ([]byte, error) {
	var out []byte
	for _, p := range []string{path, path + ".1"} {
		if len(out) >= n {
			break
		}
		b, err := fileTail(p, n-len(out))
		if err != nil {
			return nil, err
		}
		out = append(b, out...)
	}
	return out, nil
}

// fileTail reads the last n bytes of the file at path; none if it is missing.
func fileTail(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(fi.Size()-int64(n), 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}

// preload puts what the log kept from before this process into the
// history, so that a client attaching after bmcd restarted still sees
// how the node got where it is, and marks the restart. A log that
// cannot be read costs the old history only.
func (c *Console) preload() {
	old, err := previousLog(c.cfg.LogPath, c.cfg.BufferSize-256)
	if err != nil {
		c.cfg.Logger.Warn("console: earlier history unreadable", "log", c.cfg.LogPath, "err", err)
		return
	}
	if len(old) == 0 {
		return
	}
	c.ring.write(old)
	c.appendData(fmt.Appendf(nil, "\r\n[bmcd: started at %s; what is above was logged before]\r\n",
		c.cfg.Clock.Now().UTC().Format(time.RFC3339)), false)
}
