package console

import (
	"context"
	"sync"
)

// MaxChunk is the most data one [Client.Next] call returns.
const MaxChunk = 32 << 10

// Client is one attached reader of a [Console]. It is a cursor into the
// console's ring buffer and costs no memory of its own. Next must not be
// called concurrently; Close may be called at any time.
type Client struct {
	c         *Console
	cursor    int64 // absolute offset of the next byte to return
	counted   bool  // among Status.Clients (not bmcd's own watchers)
	closed    chan struct{}
	closeOnce sync.Once
}

// Chunk is what [Client.Next] returns: Data, or Missed > 0, or both.
// Missed counts the bytes that were overwritten in the ring before this
// client read them; the client's cursor has then jumped to the oldest byte
// still buffered, and Data (if any) starts there.
type Chunk struct {
	Data   []byte
	Missed int64
}

// Next blocks until there is data (or news of missed data) and returns up to
// [MaxChunk] bytes. Data is a fresh slice the caller may keep. Next returns
// [ErrClosed] after [Console.Close] or [Client.Close], and ctx's error if ctx
// is done first.
func (cl *Client) Next(ctx context.Context) (Chunk, error) {
	c := cl.c
	for {
		// Readers share the lock: the cursor is this client's own, and the
		// ring, closed and changed only change under the write lock.
		c.mu.RLock()
		if c.closed || cl.isClosed() {
			c.mu.RUnlock()
			return Chunk{}, ErrClosed
		}
		var ch Chunk
		if oldest := c.ring.oldest(); cl.cursor < oldest {
			ch.Missed = oldest - cl.cursor
			cl.cursor = oldest
		}
		if avail := c.ring.end - cl.cursor; avail > 0 {
			ch.Data = make([]byte, min(avail, MaxChunk))
			cl.cursor += int64(c.ring.readAt(cl.cursor, ch.Data))
		}
		changed := c.changed
		c.mu.RUnlock()
		if ch.Missed > 0 || len(ch.Data) > 0 {
			return ch, nil
		}
		select {
		case <-changed:
		case <-cl.closed:
			return Chunk{}, ErrClosed
		case <-c.done:
			return Chunk{}, ErrClosed
		case <-ctx.Done():
			return Chunk{}, ctx.Err()
		}
	}
}

// Close detaches the client; a blocked or later Next returns [ErrClosed].
// Close is idempotent.
func (cl *Client) Close() {
	cl.closeOnce.Do(func() {
		close(cl.closed)
		if cl.counted {
			cl.c.mu.Lock()
			cl.c.clients--
			cl.c.mu.Unlock()
		}
	})
}

// isClosed reports whether Close was called.
func (cl *Client) isClosed() bool {
	select {
	case <-cl.closed:
		return true
	default:
		return false
	}
}
