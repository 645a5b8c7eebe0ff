package rpiboot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// Setup packets (reference §2; main.c ep_write, ep_read; USB 2.0 §9.4).
const (
	// reqTypeVendorOut announces a length: control OUT, vendor, device.
	reqTypeVendorOut = 0x40
	// reqTypeVendorIn reads a message: control IN, vendor, device.
	reqTypeVendorIn = 0xc0
	// maxStallRetries is how often a bulk chunk is retried after a STALL
	// (balena node-raspberrypi-usbboot lib/index.ts transfer, reference
	// §2).
	maxStallRetries = 3
)

// link is an open boot device and its vendor endpoint: the three
// primitives of the protocol.
type link struct {
	dev usb.Device
	ep  uint8
	t   Timeouts
	log *slog.Logger
}

// announce tells the device a length: a control OUT with no data stage
// and the length split across wValue and wIndex. A zero-length announce
// means "missing" or "acknowledged"; no bulk follows it.
func (l *link) announce(n int64) error {
	if n < 0 || n > maxAnnounce {
		return fmt.Errorf("announce %d bytes: too large for the protocol: %w", n, ErrUnsupported)
	}
	v, i := splitLength(uint32(n))
	_, err := l.dev.Control(reqTypeVendorOut, 0, v, i, nil, l.t.Control)
	return err
}

// read reads len(buf) bytes from the device with a control IN whose
// wValue and wIndex also carry the length. buf is zeroed first, so a
// short answer leaves zeros (main.c ep_read ignores the count).
func (l *link) read(buf []byte, timeout time.Duration) (int, error) {
	clear(buf)
	v, i := splitLength(uint32(len(buf)))
	return l.dev.Control(reqTypeVendorIn, 0, v, i, buf, timeout)
}

// send sends size bytes of r over bulk in chunks of at most 16 KiB.
// Errors name the chunk: "bulk chunk 3/7: ...".
func (l *link) send(ctx context.Context, r io.ReaderAt, size int64) error {
	chunks := (size + maxChunk - 1) / maxChunk
	buf := make([]byte, min(size, maxChunk))
	for c := range chunks {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("bulk chunk %d/%d: %w", c+1, chunks, err)
		}
		off := c * maxChunk
		b := buf[:min(maxChunk, size-off)]
		if n, err := r.ReadAt(b, off); n < len(b) {
			return fmt.Errorf("bulk chunk %d/%d: read firmware at %d: %w", c+1, chunks, off, err)
		}
		if err := l.chunk(b, fmt.Sprintf("%d/%d", c+1, chunks)); err != nil {
			return fmt.Errorf("bulk chunk %d/%d: %w", c+1, chunks, err)
		}
	}
	return nil
}

// chunk sends one chunk. After a STALL it clears the halt and sends what
// the device did not take, up to maxStallRetries times.
func (l *link) chunk(b []byte, which string) error {
	for retries := 0; ; retries++ {
		n, err := l.dev.BulkOut(l.ep, b, l.t.Bulk)
		b = b[min(max(n, 0), len(b)):]
		switch {
		case err == nil && len(b) == 0:
			return nil
		case err == nil:
			return fmt.Errorf("device took %d bytes, %d left: %w", n, len(b), io.ErrShortWrite)
		case !errors.Is(err, usb.ErrStall) || retries == maxStallRetries:
			return err
		}
		l.log.Warn("rpiboot: bulk chunk stalled, retrying", "chunk", which, "retry", retries+1, "err", err)
		if cerr := l.dev.ClearHalt(l.ep); cerr != nil {
			return fmt.Errorf("%w; clear halt: %w", err, cerr)
		}
	}
}
