package console

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.bug.st/serial"
	"golang.org/x/sys/unix"
)

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"no device", Config{}, ErrInvalidConfig},
		{"bad mode", Config{Device: "/dev/null", Mode: Mode{Baud: -1}}, ErrInvalidMode},
		{"negative buffer", Config{Device: "/dev/null", BufferSize: -1}, ErrInvalidConfig},
		{"negative log size", Config{Device: "/dev/null", LogMaxBytes: -1}, ErrInvalidConfig},
		{"negative backoff", Config{Device: "/dev/null", ReopenMin: -1}, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			assert.ErrorIs(t, err, tt.want)
			assert.Nil(t, c)
		})
	}
}

func TestDefaults(t *testing.T) {
	p := newPTY(t)
	c := newTestConsole(t, Config{Slot: 3, Device: p.path, Mode: Mode{Baud: 9600}})
	waitOpen(t, c)
	assert.Equal(t, 3, c.Slot())
	assert.Equal(t, p.path, c.Device())
	assert.Equal(t, Mode{Baud: 9600, DataBits: 8, Parity: "none", StopBits: "1"}, c.Mode())
	assert.Equal(t, DefaultBufferSize, len(c.ring.buf))
	st := c.Status()
	assert.Equal(t, Status{Slot: 3, Device: p.path, Mode: c.Mode(), Open: true}, st)
}

// TestAllBytes checks that every byte value passes unchanged both ways.
func TestAllBytes(t *testing.T) {
	p := newPTY(t)
	c := newTestConsole(t, Config{Device: p.path})
	waitOpen(t, c)
	cl := c.Attach(0)
	defer cl.Close()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	const rounds = 8
	for i := range rounds {
		t.Run(fmt.Sprintf("node to console %d", i), func(t *testing.T) {
			_, err := p.master.Write(all)
			require.NoError(t, err)
			got, missed, err := collect(ctx, cl, len(all))
			require.NoError(t, err)
			assert.Zero(t, missed)
			assert.Equal(t, all, got)
		})
		t.Run(fmt.Sprintf("console to node %d", i), func(t *testing.T) {
			n, err := c.Write(ctx, all)
			require.NoError(t, err)
			assert.Equal(t, len(all), n)
			assert.Equal(t, all, p.readMaster(t, len(all)))
		})
	}
	assert.Equal(t, int64(rounds*len(all)), c.Status().BytesRead)
}

func TestHistory(t *testing.T) {
	p := newPTY(t)
	c := newTestConsole(t, Config{Device: p.path})
	waitOpen(t, c)
	stream := []byte("U-Boot 2024.01\r\nDRAM: 8 GiB\r\nlogin: ")
	_, err := p.master.Write(stream)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.Status().BytesRead == int64(len(stream)) }, waitFor, time.Millisecond)

	for _, tt := range []struct {
		tail int
		want []byte
	}{
		{-1, stream}, {0, stream}, {7, stream[len(stream)-7:]}, {len(stream), stream}, {1000, stream},
	} {
		t.Run(fmt.Sprintf("History(%d)", tt.tail), func(t *testing.T) {
			assert.Equal(t, tt.want, c.History(tt.tail))
		})
	}

	more := []byte("root\r\n")
	for _, tt := range []struct {
		history int
		want    func(before []byte) []byte // given the stream before Attach
	}{
		{-1, func(b []byte) []byte { return b }},
		{0, func([]byte) []byte { return nil }},
		{7, func(b []byte) []byte { return b[len(b)-7:] }},
		{1000, func(b []byte) []byte { return b }},
	} {
		t.Run(fmt.Sprintf("Attach(%d)", tt.history), func(t *testing.T) {
			cl := c.Attach(tt.history)
			defer cl.Close()
			want := append(bytes.Clone(tt.want(stream)), more...)
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			// The new output arrives after the client attached.
			_, err := p.master.Write(more)
			require.NoError(t, err)
			stream = append(stream, more...)
			got, missed, err := collect(ctx, cl, len(want))
			require.NoError(t, err)
			assert.Zero(t, missed)
			assert.Equal(t, string(want), string(got))
			require.Eventually(t, func() bool { return c.Status().BytesRead == int64(len(stream)) }, waitFor, time.Millisecond)
		})
	}
}

// TestRingWrap: a client that does not read loses exactly the overwritten
// bytes, then gets the right ones; clients that keep up lose nothing.
func TestRingWrap(t *testing.T) {
	const size, total, step = 1024, 10000, 256
	p := newPTY(t)
	c := newTestConsole(t, Config{Device: p.path, BufferSize: size})
	waitOpen(t, c)
	slow := c.Attach(0)
	defer slow.Close()
	stream := pattern(total)

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	const fast = 3
	var (
		wg       sync.WaitGroup
		progress [fast]atomic.Int64
		got      [fast][]byte
		missed   [fast]int64
		errs     [fast]error
	)
	for i := range fast {
		cl := c.Attach(0)
		defer cl.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for len(got[i]) < total {
				ch, err := cl.Next(ctx)
				if err != nil {
					errs[i] = err
					return
				}
				missed[i] += ch.Missed
				got[i] = append(got[i], ch.Data...)
				progress[i].Store(int64(len(got[i])))
			}
		}()
	}
	// Pace the node so that the fast clients are never a ring behind.
	for off := 0; off < total; off += step {
		end := min(off+step, total)
		_, err := p.master.Write(stream[off:end])
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			for i := range fast {
				if progress[i].Load() < int64(end) {
					return false
				}
			}
			return true
		}, waitFor, 100*time.Microsecond)
	}
	wg.Wait()
	for i := range fast {
		require.NoError(t, errs[i])
		assert.Zero(t, missed[i], "fast client %d", i)
		assert.Equal(t, stream, got[i], "fast client %d", i)
	}

	ch, err := slow.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(total-size), ch.Missed)
	assert.Equal(t, stream[total-size:], ch.Data)
	assert.Equal(t, size, c.Status().Buffered)
	assert.Equal(t, int64(total), c.Status().BytesRead)
}

// TestFanOut: 99 readers get every byte of 1 MiB, byte-exact, while a
// 100th client never reads; the reader is not held up by it.
func TestFanOut(t *testing.T) {
	const clients, total = 100, 1 << 20
	p := newPTY(t)
	c := newTestConsole(t, Config{Device: p.path, BufferSize: 2 * total})
	waitOpen(t, c)
	idle := c.Attach(0) // never reads until the end
	defer idle.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 4*waitFor)
	defer cancel()
	stream := pattern(total)
	var wg sync.WaitGroup
	errs := make([]error, clients-1)
	for i := range clients - 1 {
		cl := c.Attach(0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			// Compare as the data comes rather than keeping 99 copies.
			for off := 0; off < total; {
				ch, err := cl.Next(ctx)
				switch {
				case err != nil:
					errs[i] = err
				case ch.Missed != 0:
					errs[i] = fmt.Errorf("client %d missed %d bytes at %d", i, ch.Missed, off)
				case !bytes.Equal(stream[off:off+len(ch.Data)], ch.Data):
					errs[i] = fmt.Errorf("client %d got different bytes at %d", i, off)
				}
				if errs[i] != nil {
					return
				}
				off += len(ch.Data)
			}
		}()
	}
	assert.Equal(t, clients, c.Status().Clients)
	for off := 0; off < total; off += 64 << 10 {
		_, err := p.master.Write(stream[off : off+64<<10])
		require.NoError(t, err)
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	st := c.Status()
	assert.Equal(t, int64(total), st.BytesRead)
	assert.Equal(t, 1, st.Clients)
	// The idle client still finds everything there.
	ch, err := idle.Next(ctx)
	require.NoError(t, err)
	assert.Zero(t, ch.Missed)
	assert.Equal(t, stream[:MaxChunk], ch.Data)
}

// TestWriteSerialized: concurrent Writes reach the node whole, never
// interleaved.
func TestWriteSerialized(t *testing.T) {
	const writers, perWriter, block = 32, 4, 1024
	p := newPTY(t)
	c := newTestConsole(t, Config{Device: p.path})
	waitOpen(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()

	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perWriter {
				id := byte(w*perWriter + k)
				n, err := c.Write(ctx, bytes.Repeat([]byte{id}, block))
				assert.NoError(t, err)
				assert.Equal(t, block, n)
			}
		}()
	}
	got := p.readMaster(t, writers*perWriter*block)
	wg.Wait()
	seen := map[byte]bool{}
	for off := 0; off < len(got); off += block {
		b := got[off : off+block]
		require.Equal(t, bytes.Repeat(b[:1], block), b, "block at %d is interleaved", off)
		require.False(t, seen[b[0]], "block %d twice", b[0])
		seen[b[0]] = true
	}
	assert.Len(t, seen, writers*perWriter)
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	c := newTestConsole(t, Config{Device: filepath.Join(dir, "ttyGone")})
	require.Eventually(t, func() bool { return c.Status().Err != "" }, waitFor, time.Millisecond)

	_, err := c.Write(context.Background(), []byte("x"))
	assert.ErrorIs(t, err, ErrNotOpen)
	assert.ErrorContains(t, err, "ttyGone")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Write(ctx, []byte("x"))
	assert.ErrorIs(t, err, context.Canceled)

	// A Write waiting for the lock gives up when its context ends.
	c.writeSem <- struct{}{}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = c.Write(ctx, []byte("x"))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	<-c.writeSem

	require.NoError(t, c.Close())
	_, err = c.Write(context.Background(), []byte("x"))
	assert.ErrorIs(t, err, ErrClosed)
}

// TestLostAndReopened unplugs the port in several ways and checks the
// markers, the counters, the log file and that data flows again.
func TestLostAndReopened(t *testing.T) {
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

	// setup returns a console on a symlink to a pty (so the test can make
	// the device node vanish and come back as another pty), the fake clock,
	// the log path, and the last port the Console opened.
	type rig struct {
		c       *Console
		clock   *clockwork.FakeClock
		link    string
		logPath string
		pty     *ptyPair
		last    func() Port
	}
	setup := func(t *testing.T) *rig {
		dir := t.TempDir()
		r := &rig{clock: clockwork.NewFakeClockAt(start), link: filepath.Join(dir, "ttyNode1"), logPath: filepath.Join(dir, "log", "node1.log")}
		r.pty = newPTY(t)
		require.NoError(t, os.Symlink(r.pty.path, r.link))
		var mu sync.Mutex
		var last Port
		r.last = func() Port { mu.Lock(); defer mu.Unlock(); return last }
		open := func(device string, mode Mode) (Port, error) {
			p, err := openSerial(device, mode)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			last = p
			mu.Unlock()
			return p, nil
		}
		r.c = newTestConsole(t, Config{Device: r.link, Open: open, Clock: r.clock, LogPath: r.logPath, ReopenMin: 100 * time.Millisecond, ReopenMax: 400 * time.Millisecond})
		waitOpen(t, r.c)
		_, err := r.pty.master.Write([]byte("before\r\n"))
		require.NoError(t, err)
		waitHistory(t, r.c, "before\r\n")
		return r
	}
	tests := []struct {
		name     string
		unplug   func(t *testing.T, r *rig) // make the port fail
		replug   func(t *testing.T, r *rig) // make it openable again
		failures int                        // failed reopen attempts between unplug and replug
		lostErr  string                     // in the lost marker
	}{
		{
			name: "device node removed and master closed",
			unplug: func(t *testing.T, r *rig) {
				require.NoError(t, os.Remove(r.link))
				require.NoError(t, r.pty.master.Close())
			},
			replug: func(t *testing.T, r *rig) {
				r.pty = newPTY(t)
				require.NoError(t, os.Symlink(r.pty.path, r.link))
			},
			failures: 2,
			lostErr:  "read: ",
		},
		{
			name: "port closed underneath",
			unplug: func(t *testing.T, r *rig) {
				require.NoError(t, r.last().Close())
			},
			replug:  func(*testing.T, *rig) {},
			lostErr: "read: Port has been closed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			r := setup(t)
			tt.unplug(t, r)
			lost := fmt.Sprintf("\r\n[bmcd: %s lost at 2026-11-25T10:00:00Z: %s", r.link, tt.lostErr)
			waitHistory(t, r.c, lost)
			assert.False(t, r.c.Status().Open)
			_, err := r.c.Write(ctx, []byte("x"))
			assert.ErrorIs(t, err, ErrNotOpen)

			backoff := 100 * time.Millisecond
			var gap time.Duration
			for range tt.failures {
				require.NoError(t, r.clock.BlockUntilContext(ctx, 1))
				r.clock.Advance(backoff)
				gap += backoff
				backoff *= 2
			}
			// The reader waits for its next attempt: the last one failed.
			require.NoError(t, r.clock.BlockUntilContext(ctx, 1))
			if tt.failures > 0 {
				assert.Contains(t, r.c.Status().Err, "no such file")
				assert.False(t, r.c.Status().Open)
			}
			tt.replug(t, r)
			r.clock.Advance(backoff)
			gap += backoff
			reopened := fmt.Sprintf("\r\n[bmcd: %s reopened after %s]\r\n", r.link, gap)
			waitHistory(t, r.c, reopened)
			waitOpen(t, r.c)
			st := r.c.Status()
			assert.Equal(t, 1, st.Reopens)
			assert.Empty(t, st.Err)

			_, err = r.pty.master.Write([]byte("after\r\n"))
			require.NoError(t, err)
			waitHistory(t, r.c, reopened+"after\r\n")
			n, err := r.c.Write(ctx, []byte("hello"))
			require.NoError(t, err)
			assert.Equal(t, 5, n)
			assert.Equal(t, "hello", string(r.pty.readMaster(t, 5)))

			require.NoError(t, r.c.Close())
			log, err := os.ReadFile(r.logPath)
			require.NoError(t, err)
			assert.Equal(t, string(r.c.History(-1)), string(log), "log and ring hold the same stream")
			assert.Contains(t, string(log), "before\r\n"+lost)
			assert.Contains(t, string(log), reopened+"after\r\n")
		})
	}
}

// TestOpenLater: a device missing at New is not an error; it is opened
// when it appears, and that does not count as a reopen.
func TestOpenLater(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "ttyLate")
	clock := clockwork.NewFakeClock()
	c := newTestConsole(t, Config{Device: link, Clock: clock})
	require.Eventually(t, func() bool { return c.Status().Err != "" }, waitFor, time.Millisecond)
	st := c.Status()
	assert.False(t, st.Open)
	assert.Contains(t, st.Err, "no such file")

	p := newPTY(t)
	require.NoError(t, os.Symlink(p.path, link))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, clock.BlockUntilContext(ctx, 1))
	clock.Advance(DefaultReopenMin)
	waitOpen(t, c)
	assert.Zero(t, c.Status().Reopens)
	assert.Empty(t, c.History(-1))
}

// TestSetMode changes the line settings of an open pty and reads them back
// from the slave's termios.
func TestSetMode(t *testing.T) {
	p := newPTY(t)
	c := newTestConsole(t, Config{Device: p.path})
	waitOpen(t, c)
	fd := int(p.slave.Fd())
	termios := func() *unix.Termios {
		tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		require.NoError(t, err)
		return tio
	}
	require.Equal(t, uint32(unix.B115200), termios().Cflag&unix.CBAUD)

	t.Run("1.5 Mbaud", func(t *testing.T) {
		m, err := c.SetMode(Mode{Baud: 1500000})
		require.NoError(t, err)
		want := Mode{Baud: 1500000, DataBits: 8, Parity: "none", StopBits: "1"}
		assert.Equal(t, want, m)
		assert.Equal(t, want, c.Mode())
		assert.Equal(t, want, c.Status().Mode)
		assert.Equal(t, uint32(unix.B1500000), termios().Cflag&unix.CBAUD)
		assert.True(t, bytes.HasSuffix(c.History(-1), []byte("\r\n[bmcd: mode 1500000 8N1]\r\n")), "%q", c.History(-1))
	})
	t.Run("non-standard rate via BOTHER", func(t *testing.T) {
		_, err := c.SetMode(Mode{Baud: 250000})
		require.NoError(t, err)
		tio, err := unix.IoctlGetTermios(fd, unix.TCGETS2)
		require.NoError(t, err)
		assert.Equal(t, uint32(unix.BOTHER), tio.Cflag&unix.CBAUD)
		assert.Equal(t, uint32(250000), tio.Ospeed)
		assert.Equal(t, uint32(250000), tio.Ispeed)
	})
	t.Run("frame 7E2", func(t *testing.T) {
		_, err := c.SetMode(Mode{Baud: 1500000, DataBits: 7, Parity: "even", StopBits: "2"})
		require.NoError(t, err)
		assert.Equal(t, Mode{Baud: 1500000, DataBits: 7, Parity: "even", StopBits: "2"}, c.Mode())
		// The Linux pty driver (pty_set_termios) forces CS8 and clears
		// PARENB, so data bits and parity cannot be read back from a pty;
		// the stop bits and the speed can.
		cflag := termios().Cflag
		assert.NotZero(t, cflag&unix.CSTOPB)
		assert.Equal(t, uint32(unix.B1500000), cflag&unix.CBAUD)
		_, err = c.SetMode(Mode{DataBits: 8, Parity: "none", StopBits: "1"})
		require.NoError(t, err)
	})

	for _, tt := range []struct {
		name    string
		change  Mode
		invalid bool // ErrInvalidMode; otherwise refused by the port
	}{
		{"negative baud", Mode{Baud: -5}, true},
		{"9 data bits", Mode{DataBits: 9}, true},
		{"parity x", Mode{Parity: "x"}, true},
		{"3 stop bits", Mode{StopBits: "3"}, true},
		// Valid, but Linux has no 1.5 stop bits; go.bug.st/serial refuses.
		{"1.5 stop bits", Mode{StopBits: "1.5"}, false},
	} {
		t.Run("refused "+tt.name, func(t *testing.T) {
			before, hist, tio := c.Mode(), c.History(-1), termios()
			_, err := c.SetMode(tt.change)
			require.Error(t, err)
			if tt.invalid {
				// A bad value is the user's: the error says which, not where.
				assert.ErrorIs(t, err, ErrInvalidMode)
				assert.NotContains(t, err.Error(), p.path)
			} else {
				// The port refused: the error names it.
				assert.NotErrorIs(t, err, ErrInvalidMode)
				assert.ErrorContains(t, err, p.path)
			}
			assert.Equal(t, before, c.Mode())
			assert.Equal(t, hist, c.History(-1), "no marker")
			assert.Equal(t, tio, termios())
		})
	}

	t.Run("data still flows", func(t *testing.T) {
		cl := c.Attach(0)
		defer cl.Close()
		_, err := p.master.Write([]byte("fast"))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		got, _, err := collect(ctx, cl, 4)
		require.NoError(t, err)
		assert.Equal(t, "fast", string(got))
	})
}

// TestSetModeReapplied: a mode set while the port is away is used when it
// is opened.
func TestSetModeReapplied(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "ttyLate")
	clock := clockwork.NewFakeClock()
	c := newTestConsole(t, Config{Device: link, Clock: clock})
	require.Eventually(t, func() bool { return c.Status().Err != "" }, waitFor, time.Millisecond)
	_, err := c.SetMode(Mode{Baud: 1500000})
	require.NoError(t, err)

	p := newPTY(t)
	require.NoError(t, os.Symlink(p.path, link))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, clock.BlockUntilContext(ctx, 1))
	clock.Advance(time.Second)
	waitOpen(t, c)
	tio, err := unix.IoctlGetTermios(int(p.slave.Fd()), unix.TCGETS)
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.B1500000), tio.Cflag&unix.CBAUD)
}

func TestLogRotation(t *testing.T) {
	const maxBytes, total = 1000, 4321
	p := newPTY(t)
	logPath := filepath.Join(t.TempDir(), "a", "b", "node.log")
	require.NoError(t, os.MkdirAll(filepath.Dir(logPath), 0o750))
	require.NoError(t, os.WriteFile(logPath+".1", []byte("stale"), 0o640))
	c := newTestConsole(t, Config{Device: p.path, LogPath: logPath, LogMaxBytes: maxBytes})
	waitOpen(t, c)
	stream := pattern(total)
	for off := 0; off < total; off += 300 {
		_, err := p.master.Write(stream[off:min(off+300, total)])
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return c.Status().BytesRead == total }, waitFor, time.Millisecond)
	require.NoError(t, c.Close())

	cur, err := os.ReadFile(logPath)
	require.NoError(t, err)
	old, err := os.ReadFile(logPath + ".1")
	require.NoError(t, err)
	assert.LessOrEqual(t, len(cur), maxBytes)
	assert.LessOrEqual(t, len(old), maxBytes)
	assert.Len(t, old, maxBytes)
	assert.Equal(t, stream[total-len(old)-len(cur):], append(old, cur...), "log files hold the tail of the stream")
	info, err := os.Stat(logPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), info.Mode().Perm())
}

// TestLogFailureDoesNotStall: a log file that cannot be written does not
// stop the console.
func TestLogFailureDoesNotStall(t *testing.T) {
	p := newPTY(t)
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o640))
	c := newTestConsole(t, Config{Device: p.path, LogPath: filepath.Join(blocker, "node.log")})
	waitOpen(t, c)
	_, err := p.master.Write([]byte("still here"))
	require.NoError(t, err)
	waitHistory(t, c, "still here")
}

// TestCloseUnblocks: Close returns promptly while a client waits in Next
// and the reader waits in Read, and ends both; goleak (TestMain) checks
// that no goroutine is left.
func TestCloseUnblocks(t *testing.T) {
	p := newPTY(t)
	c, err := New(Config{Device: p.path})
	require.NoError(t, err)
	waitOpen(t, c)
	cl := c.Attach(0)
	nextErr := make(chan error, 1)
	go func() {
		_, err := cl.Next(context.Background())
		nextErr <- err
	}()
	// Give Next and Read time to block; correctness does not depend on it.
	time.Sleep(20 * time.Millisecond)

	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		assert.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("Close did not return")
	}
	select {
	case err := <-nextErr:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(waitFor):
		t.Fatal("Next did not return")
	}
	assert.NoError(t, c.Close(), "Close is idempotent")
	_, err = cl.Next(context.Background())
	assert.True(t, isClosedErr(err))
	_, err = c.Attach(-1).Next(context.Background())
	assert.ErrorIs(t, err, ErrClosed)
	_, err = c.SetMode(Mode{Baud: 9600})
	assert.ErrorIs(t, err, ErrClosed)
	// The port is really closed: it can be opened again (go.bug.st/serial
	// takes exclusive access while open).
	port, err := serial.Open(p.path, &serial.Mode{BaudRate: 115200})
	require.NoError(t, err)
	require.NoError(t, port.Close())
}

func TestClientCloseAndContext(t *testing.T) {
	p := newPTY(t)
	c := newTestConsole(t, Config{Device: p.path})
	cl := c.Attach(0)
	assert.Equal(t, 1, c.Status().Clients)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := cl.Next(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	done := make(chan error, 1)
	go func() {
		_, err := cl.Next(context.Background())
		done <- err
	}()
	cl.Close()
	cl.Close()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(waitFor):
		t.Fatal("Next did not return after Client.Close")
	}
	assert.Zero(t, c.Status().Clients)
}

// TestHistorySurvivesRestart: a new Console on the same log starts with
// what the earlier one logged (from the rotated file too), marks the
// restart, and counts none of it as read.
func TestHistorySurvivesRestart(t *testing.T) {
	p := newPTY(t)
	logPath := filepath.Join(t.TempDir(), "node.log")
	first, err := New(Config{Device: p.path, LogPath: logPath, LogMaxBytes: 1000})
	require.NoError(t, err)
	waitOpen(t, first)
	stream := pattern(1500) // rotates once: 1000 bytes in .1 at most
	for off := 0; off < len(stream); off += 250 {
		_, err := p.master.Write(stream[off : off+250])
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return first.Status().BytesRead == int64(len(stream)) }, waitFor, time.Millisecond)
	require.NoError(t, first.Close())
	logged := append(mustRead(t, logPath+".1"), mustRead(t, logPath)...)
	require.True(t, bytes.HasSuffix(stream, logged))

	tests := []struct {
		name   string
		buffer int
		want   []byte
	}{
		{"all of it", 64 << 10, logged},
		{"what fits", 256 + 300, logged[len(logged)-300:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case on its own copy: a Console appends its marker.
			copyPath := filepath.Join(t.TempDir(), "node.log")
			require.NoError(t, os.WriteFile(copyPath+".1", mustRead(t, logPath+".1"), 0o640))
			require.NoError(t, os.WriteFile(copyPath, mustRead(t, logPath), 0o640))
			c := newTestConsole(t, Config{Device: p.path + ".missing", LogPath: copyPath, BufferSize: tc.buffer, LogMaxBytes: 1 << 20})
			h := c.History(-1)
			require.True(t, bytes.HasPrefix(h, tc.want), "history starts with the earlier log: %q", tail(h, 100))
			assert.Contains(t, string(h[len(tc.want):]), "what is above was logged before")
			assert.Zero(t, c.Status().BytesRead)
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
