package console

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// run is the reader goroutine: open, read until the port fails, mark the
// gap, back off, reopen; until Close.
func (c *Console) run() {
	defer c.wg.Done()
	backoff := c.cfg.ReopenMin
	var lostAt time.Time // zero until the port has been lost once
	for {
		port, err := c.open()
		if errors.Is(err, ErrClosed) {
			return
		}
		if err != nil {
			c.setErr(err, "console open failed; retrying", backoff)
			if !c.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, c.cfg.ReopenMax)
			continue
		}
		backoff = c.cfg.ReopenMin
		if !lostAt.IsZero() {
			gap := c.cfg.Clock.Since(lostAt).Round(time.Millisecond)
			c.mu.Lock()
			c.reopens++
			c.mu.Unlock()
			c.cfg.Logger.Info("console reopened", "after", gap)
			c.appendData(fmt.Appendf(nil, "\r\n[bmcd: %s reopened after %s]\r\n", c.cfg.Device, gap), false)
			lostAt = time.Time{}
		}

		err = c.readLoop(port)
		if !c.drop(port) {
			return // closed
		}
		lostAt = c.cfg.Clock.Now()
		c.setErr(fmt.Errorf("console: %s lost: %w", c.cfg.Device, err), "console lost; reopening", backoff)
		c.appendData(fmt.Appendf(nil, "\r\n[bmcd: %s lost at %s: %v]\r\n",
			c.cfg.Device, lostAt.UTC().Format(time.RFC3339), err), false)
		if !c.sleep(backoff) {
			return
		}
		backoff = min(2*backoff, c.cfg.ReopenMax)
	}
}

// open opens the device with the current mode and publishes the port. It
// returns ErrClosed if the console was closed meanwhile.
func (c *Console) open() (Port, error) {
	c.modeMu.Lock()
	defer c.modeMu.Unlock()
	c.mu.Lock()
	mode, closed := c.mode, c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	port, err := c.cfg.Open(c.cfg.Device, mode)
	if err != nil {
		return nil, fmt.Errorf("console: open %s: %w", c.cfg.Device, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		port.Close()
		return nil, ErrClosed
	}
	c.port, c.lastErr = port, ""
	return port, nil
}

// readLoop reads port into the ring until an error; it returns that error
// (nil only when the console is being closed).
func (c *Console) readLoop(port Port) error {
	buf := make([]byte, readBufSize)
	for {
		n, err := port.Read(buf)
		if n > 0 {
			c.appendData(buf[:n], true)
		}
		if c.isClosed() {
			return nil
		}
		switch {
		case err != nil:
			return fmt.Errorf("read: %w", err)
		case n == 0:
			// go.bug.st/serial returns (0, nil) only after a read timeout,
			// which we never set; other Ports may do it at EOF-like
			// conditions. Check the device is still there, and pause so a
			// port stuck in this state does not spin.
			if _, err := os.Stat(c.cfg.Device); err != nil {
				return fmt.Errorf("device gone: %w", err)
			}
			if !c.sleep(c.cfg.ReopenMin) {
				return nil
			}
		}
	}
}

// drop unpublishes and closes a failed port. It waits for an in-progress
// Write or SetMode to finish first so that neither uses a closed (and
// perhaps reused) file descriptor. It returns false if the console is
// closed (Close then owns the port).
func (c *Console) drop(port Port) bool {
	select {
	case c.writeSem <- struct{}{}:
	case <-c.done:
		return false
	}
	defer func() { <-c.writeSem }()
	c.modeMu.Lock()
	defer c.modeMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.port = nil
	c.mu.Unlock()
	if err := port.Close(); err != nil {
		c.cfg.Logger.Debug("console close after loss", "err", err)
	}
	return true
}

// setErr records err as the reason the port is not open and logs it when
// it differs from the previous one.
func (c *Console) setErr(err error, msg string, retry time.Duration) {
	c.mu.Lock()
	same := c.lastErr == err.Error()
	c.lastErr = err.Error()
	c.mu.Unlock()
	if !same {
		c.cfg.Logger.Warn(msg, "err", err, "retry", retry)
	}
}

// sleep waits d on the clock; it returns false if Close came first.
func (c *Console) sleep(d time.Duration) bool {
	t := c.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return true
	case <-c.done:
		return false
	}
}

// isClosed reports whether Close has been called.
func (c *Console) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}
