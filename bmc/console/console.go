package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Defaults for the zero fields of [Config].
const (
	DefaultBufferSize  = 256 << 10
	DefaultLogMaxBytes = 1 << 20
	DefaultReopenMin   = 100 * time.Millisecond
	DefaultReopenMax   = 5 * time.Second
)

// readBufSize is the size of the reader goroutine's read buffer.
const readBufSize = 16 << 10

// Port is an open serial port.
type Port interface {
	io.ReadWriteCloser
	// SetMode applies complete, valid line settings.
	SetMode(Mode) error
}

// OpenFunc opens device with complete, valid line settings. The default
// opens a serial port (serial.go).
type OpenFunc func(device string, mode Mode) (Port, error)

// Config describes one console. Zero fields take the documented defaults.
type Config struct {
	// Slot is the compute-module slot the UART belongs to (reported only).
	Slot int
	// Device is the serial device, e.g. "/dev/ttyS1". Required.
	Device string
	// Mode is the initial line settings; zero fields: 115200 8N1.
	Mode Mode
	// BufferSize is the ring size in bytes; default 256 KiB.
	BufferSize int
	// LogPath is the rotating log file; "" means no log file. When a write
	// would make it exceed LogMaxBytes, it is renamed to LogPath+".1"
	// (replacing it) and a new file is started. The parent directory is
	// created if missing.
	LogPath string
	// LogMaxBytes caps each log file; default 1 MiB.
	LogMaxBytes int64
	// Open opens the device; default a serial port.
	Open OpenFunc
	// ReopenMin and ReopenMax bound the exponential backoff between open
	// attempts; defaults 100 ms and 5 s.
	ReopenMin, ReopenMax time.Duration
	// Clock is used for backoff and for the timestamps in markers; default
	// the real clock.
	Clock clockwork.Clock
	// Logger receives operational messages; default discards them.
	Logger *slog.Logger
}

// Console is the always-on capture of one UART, shared by any number of
// [Client]s. Its methods are safe for concurrent use.
type Console struct {
	cfg Config // defaults applied; cfg.Mode is the initial mode only

	writeSem chan struct{} // holds one token while a Write (or a port close) is in progress
	modeMu   sync.Mutex    // serializes SetMode with opening and closing the port
	logMu    sync.Mutex    // orders ring and log appends; guards log
	log      *logFile      // nil without LogPath

	mu        sync.RWMutex // guards the fields below; clients read under RLock
	ring      *ring
	changed   chan struct{} // closed and replaced on every append
	closed    bool
	port      Port // nil while not open
	mode      Mode
	lastErr   string
	reopens   int
	bytesRead int64
	clients   int

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
}

// New validates cfg, applies its defaults and starts the reader goroutine.
// A device that cannot be opened yet is not an error: it is retried with
// backoff and reported by [Console.Status]. Call [Console.Close] to stop.
func New(cfg Config) (*Console, error) {
	if cfg.Device == "" {
		return nil, fmt.Errorf("%w: slot %d: no device", ErrInvalidConfig, cfg.Slot)
	}
	mode := DefaultMode().Merge(cfg.Mode)
	if err := mode.Validate(); err != nil {
		return nil, fmt.Errorf("console %s: %w", cfg.Device, err)
	}
	cfg.Mode = mode
	switch {
	case cfg.BufferSize < 0:
		return nil, fmt.Errorf("%w: %s: buffer size %d", ErrInvalidConfig, cfg.Device, cfg.BufferSize)
	case cfg.BufferSize == 0:
		cfg.BufferSize = DefaultBufferSize
	}
	switch {
	case cfg.LogMaxBytes < 0:
		return nil, fmt.Errorf("%w: %s: log max bytes %d", ErrInvalidConfig, cfg.Device, cfg.LogMaxBytes)
	case cfg.LogMaxBytes == 0:
		cfg.LogMaxBytes = DefaultLogMaxBytes
	}
	if cfg.ReopenMin < 0 || cfg.ReopenMax < 0 {
		return nil, fmt.Errorf("%w: %s: negative reopen backoff", ErrInvalidConfig, cfg.Device)
	}
	if cfg.ReopenMin == 0 {
		cfg.ReopenMin = DefaultReopenMin
	}
	if cfg.ReopenMax == 0 {
		cfg.ReopenMax = DefaultReopenMax
	}
	cfg.ReopenMax = max(cfg.ReopenMax, cfg.ReopenMin)
	if cfg.Open == nil {
		cfg.Open = openSerial
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("slot", cfg.Slot, "device", cfg.Device)

	c := &Console{
		cfg:      cfg,
		writeSem: make(chan struct{}, 1),
		ring:     newRing(cfg.BufferSize),
		changed:  make(chan struct{}),
		mode:     mode,
		done:     make(chan struct{}),
	}
	if cfg.LogPath != "" {
		c.log = newLogFile(cfg.LogPath, cfg.LogMaxBytes, cfg.Logger, cfg.Clock)
		c.preload()
	}
	c.wg.Add(1)
	go c.run()
	return c, nil
}

// Close stops the reader, closes the port and the log file, and ends every
// client (their Next returns [ErrClosed]). It is idempotent and returns the
// first error met while closing.
func (c *Console) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		port := c.port
		c.port = nil
		close(c.done)
		c.mu.Unlock()
		var errs []error
		if port != nil {
			// Closing a go.bug.st/serial port unblocks a pending Read.
			if err := port.Close(); err != nil {
				errs = append(errs, fmt.Errorf("console: close %s: %w", c.cfg.Device, err))
			}
		}
		c.wg.Wait()
		if c.log != nil {
			c.logMu.Lock()
			errs = append(errs, c.log.close())
			c.logMu.Unlock()
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// Slot returns the slot from the Config.
func (c *Console) Slot() int { return c.cfg.Slot }

// Device returns the device path from the Config.
func (c *Console) Device() string { return c.cfg.Device }

// Mode returns the current line settings.
func (c *Console) Mode() Mode {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mode
}

// SetMode merges change into the current mode, validates the result, and
// applies it to the open port (it is also applied on every reopen). It
// returns the new mode and appends a "[bmcd: mode 1500000 8N1]" marker to
// the ring and the log; a change to the mode it has already does none
// of this. An invalid mode (the error wraps [ErrInvalidMode])
// or one the port refuses changes nothing.
func (c *Console) SetMode(change Mode) (Mode, error) {
	c.modeMu.Lock()
	defer c.modeMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return Mode{}, ErrClosed
	}
	old, port := c.mode, c.port
	c.mu.Unlock()
	mode := old.Merge(change)
	if err := mode.Validate(); err != nil {
		return old, err // names the bad field; the caller knows the console
	}
	if mode == old {
		return mode, nil // nothing changes, so nothing to log or mark
	}
	if port != nil {
		if err := port.SetMode(mode); err != nil {
			// Put back what the port had; a partial change may have stuck.
			_ = port.SetMode(old)
			return old, fmt.Errorf("console: set mode %s on %s: %w", mode, c.cfg.Device, err)
		}
	}
	c.mu.Lock()
	c.mode = mode
	c.mu.Unlock()
	c.cfg.Logger.Info("console mode changed", "mode", mode.String())
	c.appendData(fmt.Appendf(nil, "\r\n[bmcd: mode %s]\r\n", mode), false)
	return mode, nil
}

// History returns a copy of the last tail bytes in the ring (all of them
// if tail <= 0).
func (c *Console) History(tail int) []byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := c.ring.len()
	if tail > 0 {
		n = min(n, tail)
	}
	out := make([]byte, n)
	c.ring.readAt(c.ring.end-int64(n), out)
	return out
}

// Write sends p to the port. Writes are serialized: one Write at a time
// reaches the port, whole. It returns an error wrapping [ErrNotOpen] if the
// port is not open now, [ErrClosed] after Close, and ctx's error if ctx is
// done while waiting for another Write to finish.
func (c *Console) Write(ctx context.Context, p []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	select {
	case c.writeSem <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-c.done:
		return 0, ErrClosed
	}
	defer func() { <-c.writeSem }()
	c.mu.Lock()
	closed, port := c.closed, c.port
	c.mu.Unlock()
	switch {
	case closed:
		return 0, ErrClosed
	case port == nil:
		return 0, fmt.Errorf("console: write %s: %w", c.cfg.Device, ErrNotOpen)
	}
	n := 0
	for n < len(p) {
		m, err := port.Write(p[n:])
		n += m
		if err != nil {
			return n, fmt.Errorf("console: write %s: %w", c.cfg.Device, err)
		}
		if m == 0 {
			return n, fmt.Errorf("console: write %s: %w", c.cfg.Device, io.ErrShortWrite)
		}
	}
	return n, nil
}

// Attach adds a client. It first replays the last history bytes of the ring
// (history < 0: all buffered bytes; 0: none), then everything read after.
func (c *Console) Attach(history int) *Client { return c.attach(history, true) }

// Watch adds a client for bmcd's own use, such as the first-boot marker
// watch: it reads like any client, but Status.Clients, which tells people
// who else is attached, does not count it.
func (c *Console) Watch(history int) *Client { return c.attach(history, false) }

func (c *Console) attach(history int, counted bool) *Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := &Client{c: c, cursor: c.ring.end, counted: counted, closed: make(chan struct{})}
	switch {
	case history < 0:
		cl.cursor = c.ring.oldest()
	case history > 0:
		cl.cursor = max(c.ring.oldest(), c.ring.end-int64(history))
	}
	if counted {
		c.clients++
	}
	return cl
}

// Status is a snapshot of a console's state.
type Status struct {
	Slot      int
	Device    string
	Mode      Mode
	Open      bool   // the port is open now
	Err       string // last open or read error while not open
	Reopens   int    // times the port was lost and opened again
	BytesRead int64  // total read from the port since New
	Buffered  int    // bytes in the ring now
	Clients   int    // attached clients
}

// Status returns a snapshot of the console's state.
func (c *Console) Status() Status {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return Status{
		Slot:      c.cfg.Slot,
		Device:    c.cfg.Device,
		Mode:      c.mode,
		Open:      c.port != nil,
		Err:       c.lastErr,
		Reopens:   c.reopens,
		BytesRead: c.bytesRead,
		Buffered:  c.ring.len(),
		Clients:   c.clients,
	}
}

// appendData appends p to the ring and the log file, counts it as read
// from the port if fromPort, and wakes every waiting client.
func (c *Console) appendData(p []byte, fromPort bool) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	c.mu.Lock()
	c.ring.write(p)
	if fromPort {
		c.bytesRead += int64(len(p))
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	if c.log != nil {
		c.log.write(p)
	}
}
