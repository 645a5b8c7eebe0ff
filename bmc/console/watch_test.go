package console

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWatchIsNotCounted: bmcd's own watcher reads what the node prints
// like any client, but Status.Clients counts only the people attached.
func TestWatchIsNotCounted(t *testing.T) {
	t.Parallel()
	p := newPTY(t)
	c := newTestConsole(t, Config{Device: p.path})
	waitOpen(t, c)
	w := c.Watch(0)
	assert.Equal(t, 0, c.Status().Clients, "a watcher is not an attached client")
	cl := c.Attach(0)
	assert.Equal(t, 1, c.Status().Clients)

	_, err := p.master.Write([]byte("hello\n"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	got, _, err := collect(ctx, w, len("hello\n"))
	require.NoError(t, err)
	assert.Equal(t, "hello\n", string(got), "the watcher reads the node's output")

	w.Close()
	assert.Equal(t, 1, c.Status().Clients, "closing a watcher leaves the count alone")
	cl.Close()
	assert.Equal(t, 0, c.Status().Clients)
}
