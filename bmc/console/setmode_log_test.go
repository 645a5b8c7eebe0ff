package console

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockedLog is a log buffer that goroutines may write.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestSetModeUnchangedSaysNothing changes the mode to the one the port
// has: no log line, no marker in the history.
func TestSetModeUnchangedSaysNothing(t *testing.T) {
	t.Parallel()
	p := newPTY(t)
	var log lockedLog
	c, err := New(Config{Slot: 2, Device: p.path, Mode: Mode{Baud: 115200}, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	for _, change := range []Mode{{}, {Baud: 115200}, {DataBits: 8, Parity: "none", StopBits: "1"}} {
		m, err := c.SetMode(change)
		require.NoError(t, err)
		assert.Equal(t, "115200 8N1", m.String())
	}
	assert.NotContains(t, log.String(), "console mode changed")
	assert.Empty(t, c.History(0), "no marker")

	_, err = c.SetMode(Mode{Baud: 9600})
	require.NoError(t, err)
	assert.Contains(t, log.String(), `msg="console mode changed" slot=2`)
	assert.Contains(t, string(c.History(0)), "[bmcd: mode 9600 8N1]")
}
