package flasher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"

	"golang.org/x/sync/errgroup"

	"github.com/turingpi-oss/bmcd/flasher/bmap"
)

// rangeChecks says whether the bmap carries range checksums.
func (f *flash) rangeChecks() bool {
	return f.opts.Bmap != nil && f.opts.Bmap.ChecksumType != ""
}

// write streams the image through the buffers to the target: the
// reader decompresses into one buffer while the writer writes another
// and the hasher hashes it.
//
// The stages run in an errgroup: the first error cancels the others'
// context and is the one returned.
func (f *flash) write(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	toWriter := make(chan *chunk, len(f.bufs))
	var toHasher chan *chunk
	if !f.opts.SkipVerify {
		f.written = newBlockSums()
	}
	if f.written != nil || f.rangeChecks() {
		toHasher = make(chan *chunk, len(f.bufs))
	}
	f.goStage(g, func() error {
		defer close(toWriter)
		if toHasher != nil {
			defer close(toHasher)
		}
		// When the writer or the hasher fails, the reader may be
		// waiting for the source: closing it lets the reader go. The
		// source stays open once the reader is done.
		stop := context.AfterFunc(ctx, f.closeSrc)
		defer stop()
		return f.produce(ctx, toWriter, toHasher)
	})
	f.goStage(g, func() error { return f.writer(ctx, toWriter) })
	if toHasher != nil {
		f.goStage(g, func() error { return f.hasher(ctx, toHasher) })
	}
	return f.phase(g.Wait)
}

// alignUp rounds n up to the I/O alignment.
func alignUp(n int) int { return (n + alignment - 1) &^ (alignment - 1) }

// readFull reads into p until it is full or r fails; io.EOF means the
// stream ended (maybe after some bytes).
func readFull(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// produce reads the decompressed image into chunks and hands them on.
func (f *flash) produce(ctx context.Context, toWriter, toHasher chan<- *chunk) error {
	capacity := f.dst.Size()
	b := &batch{free: f.free, outs: []chan<- *chunk{toWriter}}
	if toHasher != nil {
		b.outs = append(b.outs, toHasher)
	}

	m := f.opts.Bmap
	extents := 1
	if m != nil {
		extents = len(m.Ranges)
	}
	var pos int64 // in the image
	ended := false
extents:
	for i := range extents {
		off, end, rng := int64(0), int64(math.MaxInt64), -1
		if m != nil {
			o, n := m.Extent(i)
			off, end, rng = o, o+n, i
		}
		if pos < off {
			if err := f.skip(ctx, off-pos, pos); err != nil {
				return err
			}
			pos = off
		}
		for pos < end {
			if err := ctx.Err(); err != nil {
				return err
			}
			c, err := b.room(ctx)
			if err != nil {
				return err
			}
			start := alignUp(c.n)
			want := min(int64(len(c.buf)-start), end-pos, capacity-pos)
			if want == 0 {
				// At the disk's end (bmaps were checked before): the
				// stream must end here too.
				if err := f.expectEOF(func() error {
					return fmt.Errorf("%w: the image goes on past the disk's %d bytes", ErrTooLarge, capacity)
				}); err != nil {
					return err
				}
				ended = true
				break extents
			}
			k, err := readFull(f.dec, c.buf[start:start+int(want)])
			if k > 0 {
				c.segs = append(c.segs, segment{off: pos, start: start, end: start + k, rng: rng, last: rng >= 0 && pos+int64(k) == end})
				c.n = start + k
				pos += int64(k)
			}
			if errors.Is(err, io.EOF) {
				switch {
				case m == nil:
					ended = true
					break extents
				case pos < end:
					return fmt.Errorf("%w: the image ends at %d bytes, inside bmap range %s (ImageSize %d)",
						ErrTruncated, pos, m.Ranges[i], m.ImageSize)
				}
				// The range ends with the stream: what follows finds out
				// whether the bmap expects more.
				continue
			}
			if err != nil {
				return f.readErr(err)
			}
		}
	}
	if m != nil {
		// The unmapped tail, then nothing more.
		if err := f.skip(ctx, m.ImageSize-pos, pos); err != nil {
			return err
		}
		pos = m.ImageSize
		if err := f.expectEOF(func() error {
			return fmt.Errorf("%w: the image goes on past the bmap's ImageSize %d", ErrCorrupt, m.ImageSize)
		}); err != nil {
			return err
		}
	} else if !ended {
		return errors.New("internal error: raw image did not end") // unreachable
	}
	if pos == 0 {
		return fmt.Errorf("%w: the image is empty", ErrTruncated)
	}
	if err := f.finishSource(); err != nil {
		return err
	}
	f.res.ImageSize = pos
	return b.flush(ctx)
}

// expectEOF checks that the decompressed stream has ended; if not it
// returns tooLong().
func (f *flash) expectEOF(tooLong func() error) error {
	if f.seeker != nil {
		if f.in.n-int64(f.br.Buffered()) < f.seeker.size {
			return tooLong()
		}
		return nil
	}
	var b [1]byte
	n, err := readFull(f.dec, b[:])
	switch {
	case n > 0:
		return tooLong()
	case errors.Is(err, io.EOF):
		return nil
	}
	return f.readErr(err)
}

// finishSource checks, once the image has ended, that the source has no
// trailing bytes and matches its expected digest.
func (f *flash) finishSource() error {
	if !f.decProc && f.res.Format != Raw {
		n, err := io.Copy(io.Discard, f.br)
		if err != nil {
			return f.readErr(err)
		}
		if n > 0 {
			return fmt.Errorf("%w: %d bytes of trailing data after the %s stream", ErrCorrupt, n, f.res.Format)
		}
	}
	if serr := f.in.failed(); serr != nil {
		return f.sourceErr(serr)
	}
	if f.in.hash != nil {
		got := f.in.hash.Sum(nil)
		f.res.SHA256 = got
		if !bytes.Equal(got, f.opts.SHA256) {
			return fmt.Errorf("%w: sha256 mismatch: got %x, want %x", ErrChecksum, got, f.opts.SHA256)
		}
	}
	return nil
}

// skip passes over n bytes of the image at pos, a bmap hole.
func (f *flash) skip(ctx context.Context, n, pos int64) error {
	if n <= 0 {
		return nil
	}
	if s := f.seeker; s != nil {
		if b := int64(f.br.Buffered()); n <= b {
			_, err := f.br.Discard(int(n))
			return err
		}
		rest := n - int64(f.br.Buffered())
		if f.in.n+rest > s.size {
			return fmt.Errorf("%w: the image ends at %d bytes, before the bmap's ImageSize %d",
				ErrTruncated, s.size, f.opts.Bmap.ImageSize)
		}
		if _, err := s.file.Seek(rest, io.SeekCurrent); err != nil {
			return f.sourceErr(err)
		}
		f.in.n += rest
		f.tr.in.Add(rest)
		f.br.Reset(f.in)
		return nil
	}
	if f.discard == nil {
		f.discard = make([]byte, discardSize)
	}
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := readFull(f.dec, f.discard[:min(n, int64(len(f.discard)))])
		n -= int64(k)
		pos += int64(k)
		if errors.Is(err, io.EOF) {
			if n > 0 {
				return fmt.Errorf("%w: the image ends at %d bytes, before the bmap's ImageSize %d",
					ErrTruncated, pos, f.opts.Bmap.ImageSize)
			}
			return nil
		}
		if err != nil {
			return f.readErr(err)
		}
	}
	return nil
}

// batch fills chunks taken from a free list and hands each one, once
// full, to every consumer in outs, which release it.
type batch struct {
	free <-chan *chunk
	outs []chan<- *chunk
	c    *chunk // being filled; nil before the first and after a flush
}

// room returns the chunk being filled, with at least alignment bytes
// left: it hands on a fuller one and waits for a free one as needed.
func (b *batch) room(ctx context.Context) (*chunk, error) {
	if b.c != nil && len(b.c.buf)-alignUp(b.c.n) < alignment {
		if err := b.flush(ctx); err != nil {
			return nil, err
		}
	}
	if b.c == nil {
		select {
		case b.c = <-b.free:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b.c, nil
}

// flush hands the chunk being filled, if it holds anything, to outs.
func (b *batch) flush(ctx context.Context) error {
	if b.c == nil || len(b.c.segs) == 0 {
		return nil
	}
	b.c.refs.Store(int32(len(b.outs)))
	for _, out := range b.outs {
		select {
		case out <- b.c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.c = nil
	return nil
}

// consume hands every segment of every chunk from in to fn, then
// releases the chunk, until in is closed.
func (f *flash) consume(ctx context.Context, in <-chan *chunk, fn func(s segment, data []byte) error) error {
	for {
		select {
		case c, ok := <-in:
			if !ok {
				return nil
			}
			for _, s := range c.segs {
				if err := fn(s, c.buf[s.start:s.end]); err != nil {
					return err
				}
			}
			f.release(c)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// writer writes chunks to the target.
func (f *flash) writer(ctx context.Context, in <-chan *chunk) error {
	return f.consume(ctx, in, func(s segment, data []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The target names the offset, Flash the target.
		if _, err := f.dst.WriteAt(data, s.off); err != nil {
			return err
		}
		f.tr.written.Add(int64(len(data)))
		return nil
	})
}

// hasher checks bmap range checksums and sums what is written for the
// read-back.
func (f *flash) hasher(ctx context.Context, in <-chan *chunk) error {
	var ranges *rangeChecker
	if f.rangeChecks() {
		ranges = newRangeChecker(f.opts.Bmap, ErrChecksum, "the image")
	}
	err := f.consume(ctx, in, func(s segment, data []byte) error {
		if f.written != nil {
			f.written.add(s.off, data)
		}
		if ranges == nil {
			return nil
		}
		return ranges.add(s, data)
	})
	if err == nil && f.written != nil {
		f.written.close()
	}
	return err
}

// rangeChecker checks each bmap range's checksum as its bytes go by, in
// order.
type rangeChecker struct {
	m        *bmap.Map
	h        hash.Hash
	sentinel error
	what     string // where the bytes come from, for errors
}

func newRangeChecker(m *bmap.Map, sentinel error, what string) *rangeChecker {
	return &rangeChecker{m: m, h: m.NewHash(), sentinel: sentinel, what: what}
}

// add hashes a segment; at the last segment of a range it compares.
func (r *rangeChecker) add(s segment, data []byte) error {
	r.h.Write(data)
	if !s.last {
		return nil
	}
	defer r.h.Reset()
	return checkRange(r.m, s.rng, r.h, r.sentinel, r.what)
}

// checkRange compares h's sum with the checksum of bmap range i; what
// says where the bytes came from.
func checkRange(m *bmap.Map, i int, h hash.Hash, sentinel error, what string) error {
	r := m.Ranges[i]
	if got := h.Sum(nil); !bytes.Equal(got, r.Checksum) {
		off, n := m.Extent(i)
		return fmt.Errorf("%w: bmap range %s (offset %d, %d bytes): %s has %s %x, the bmap says %x",
			sentinel, r, off, n, what, m.ChecksumType, got, r.Checksum)
	}
	return nil
}

// verify reads back what was written, with a reader goroutine filling
// buffers from the target and a hasher comparing each block's sum with
// the sum of what was written there: the bmap's range checksums were
// checked as the image was written, so the disk holds the image if it
// reads back what it was given.
func (f *flash) verify(ctx context.Context) error {
	m := f.opts.Bmap
	type extent struct {
		off, n int64
		rng    int
	}
	var extents []extent
	var total int64
	if m != nil {
		for i := range m.Ranges {
			off, n := m.Extent(i)
			extents = append(extents, extent{off, n, i})
			total += n
		}
	} else {
		extents = []extent{{0, f.res.ImageSize, -1}}
		total = f.res.ImageSize
	}
	f.tr.start(PhaseVerify, total)

	g, ctx := errgroup.WithContext(ctx)
	ch := make(chan *chunk, len(f.bufs))
	f.goStage(g, func() error {
		defer close(ch)
		b := &batch{free: f.free, outs: []chan<- *chunk{ch}}
		for _, e := range extents {
			for pos, end := e.off, e.off+e.n; pos < end; {
				c, err := b.room(ctx)
				if err != nil {
					return err
				}
				start := alignUp(c.n)
				want := int(min(int64(len(c.buf)-start), end-pos))
				k, err := f.dst.ReadAt(c.buf[start:start+want], pos)
				if k < want {
					if err == nil || errors.Is(err, io.EOF) {
						return fmt.Errorf("read back at offset %d: %w", pos+int64(k), io.ErrUnexpectedEOF)
					}
					return fmt.Errorf("read back: %w", err)
				}
				c.segs = append(c.segs, segment{off: pos, start: start, end: start + k, rng: e.rng, last: pos+int64(k) == end})
				c.n = start + k
				pos += int64(k)
			}
		}
		return b.flush(ctx)
	})
	read := newBlockSums()
	checked := 0 // blocks of f.written compared
	check := func() error {
		var err error
		checked, err = compare(f.written.sums, checked, read.sums)
		read.sums = read.sums[:0]
		return err
	}
	f.goStage(g, func() error {
		err := f.consume(ctx, ch, func(s segment, data []byte) error {
			f.tr.verified.Add(int64(len(data)))
			if read.add(s.off, data) == 0 {
				return nil
			}
			return check()
		})
		if err != nil {
			return err
		}
		read.close()
		if err := check(); err != nil {
			return err
		}
		if checked != len(f.written.sums) {
			return fmt.Errorf("internal error: read back %d blocks, wrote %d", checked, len(f.written.sums))
		}
		return nil
	})
	return f.phase(g.Wait)
}
