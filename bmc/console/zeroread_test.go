package console

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// zeroPort is a Port whose Read returns (0, nil), as go.bug.st/serial does
// after a read timeout and some drivers do when the device goes away.
type zeroPort struct{}

func (zeroPort) Read([]byte) (int, error)    { return 0, nil }
func (zeroPort) Write(p []byte) (int, error) { return len(p), nil }
func (zeroPort) Close() error                { return nil }
func (zeroPort) SetMode(Mode) error          { return nil }

var _ Port = zeroPort{}

// TestZeroReadDeviceGone: a (0, nil) read does not spin; it makes the
// reader check the device node, and a missing node counts as lost.
func TestZeroReadDeviceGone(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "ttyUSB0")
	require.NoError(t, os.WriteFile(dev, nil, 0o600))
	clock := clockwork.NewFakeClock()
	c := newTestConsole(t, Config{
		Device: dev,
		Clock:  clock,
		Open: func(device string, _ Mode) (Port, error) {
			if _, err := os.Stat(device); err != nil {
				return nil, err
			}
			return zeroPort{}, nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	// The reader pauses after an empty read while the device exists.
	require.NoError(t, clock.BlockUntilContext(ctx, 1))
	assert.True(t, c.Status().Open)
	require.NoError(t, os.Remove(dev))
	clock.Advance(DefaultReopenMin)
	waitHistory(t, c, "lost at ")
	waitHistory(t, c, ": device gone: ")
	assert.False(t, c.Status().Open)
}
