package console

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc/console/consoletest"
)

// waitFor is the generous upper bound for things that happen "soon".
const waitFor = 10 * time.Second

// ptyPair is a pseudo-terminal standing in for a node's UART. The Console
// opens path (the slave) through go.bug.st/serial; the test plays the node
// on master.
type ptyPair struct {
	master *os.File // non-blocking, so deadlines and Close unblock reads
	slave  *os.File // kept open so the master never sees EIO
	path   string
}

// newPTY opens a pty for the test (see consoletest.New).
func newPTY(t testing.TB) *ptyPair {
	t.Helper()
	p := consoletest.New(t)
	return &ptyPair{master: p.Master, slave: p.Slave, path: p.Path}
}

// readMaster reads exactly n bytes from the master within waitFor.
func (p *ptyPair) readMaster(t testing.TB, n int) []byte {
	t.Helper()
	require.NoError(t, p.master.SetReadDeadline(time.Now().Add(waitFor)))
	buf := make([]byte, n)
	_, err := io.ReadFull(p.master, buf)
	require.NoError(t, err)
	return buf
}

// newTestConsole starts a Console and closes it at the end of the test.
func newTestConsole(t testing.TB, cfg Config) *Console {
	t.Helper()
	c, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// waitOpen waits until c has its port open.
func waitOpen(t testing.TB, c *Console) {
	t.Helper()
	require.Eventually(t, func() bool { return c.Status().Open }, waitFor, time.Millisecond, "port %s never opened: %+v", c.Device(), c.Status())
}

// waitHistory waits until c's ring contains sub.
func waitHistory(t testing.TB, c *Console, sub string) {
	t.Helper()
	require.Eventually(t, func() bool { return bytes.Contains(c.History(-1), []byte(sub)) }, waitFor, time.Millisecond,
		"history never contained %q; have %q", sub, tail(c.History(-1), 300))
}

// tail returns the last n bytes of b, for messages.
func tail(b []byte, n int) []byte {
	return b[max(0, len(b)-n):]
}

// collect reads from cl until it has n data bytes; missed bytes are
// counted separately.
func collect(ctx context.Context, cl *Client, n int) (data []byte, missed int64, err error) {
	data = make([]byte, 0, n)
	for len(data) < n {
		ch, err := cl.Next(ctx)
		if err != nil {
			return data, missed, err
		}
		missed += ch.Missed
		data = append(data, ch.Data...)
	}
	return data, missed, nil
}

// pattern returns n bytes that do not repeat with a short period.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// isClosedErr reports whether err is ErrClosed.
func isClosedErr(err error) bool { return errors.Is(err, ErrClosed) }
