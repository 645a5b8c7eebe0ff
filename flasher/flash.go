package flasher

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/turingpi-oss/bmcd/flasher/bmap"
)

// Options modify a flash. The zero value writes the whole image and
// verifies it.
type Options struct {
	// SHA256, if set, is the expected digest of the source bytes as
	// received (compressed if the image is). A mismatch fails the flash
	// with ErrChecksum once the source is consumed.
	SHA256 []byte
	// Bmap, if set, restricts writing to its mapped ranges and checks
	// each range's checksum as it streams (ErrChecksum). The holes on
	// the target are left as they are.
	Bmap *bmap.Map
	// SkipVerify skips reading the image back after writing it.
	SkipVerify bool
	// Progress, if set, receives progress reports, at most ten a second
	// plus one at each phase change, one at a time.
	Progress func(Progress)
	// Logger defaults to discarding.
	Logger *slog.Logger
	// BufferSize is the size of each I/O buffer; default 4 MiB. It is
	// rounded up to a multiple of 4096.
	BufferSize int
	// Buffers is the number of I/O buffers; default 4, at least 2.
	// Memory is Buffers×BufferSize plus the decoder's window.
	Buffers int
	// MaxDecoderMemory bounds the decoder's window or dictionary;
	// default DefaultMaxDecoderMemory. Larger ones fail with
	// ErrMemoryLimit.
	MaxDecoderMemory int64
	// XZ chooses the xz decoder; default XZAuto.
	XZ XZDecoder
	// Bzip2 chooses the bzip2 decoder the same way: XZAuto runs
	// `bzip2 -dc` if a bzip2 program is in $PATH and Go's decoder
	// otherwise, XZExternal requires the program, XZInternal is Go's.
	Bzip2 XZDecoder
	// Background runs the flash's own threads, and the decoder processes
	// it starts, under the kernel's idle policy (SCHED_IDLE, Linux): a
	// daemon's requests, consoles and other processes take the CPU from
	// the flash the moment they want it, and the flash has the rest.
	// With it, GOMAXPROCS should leave Ps for the rest of the program
	// beyond the flash's threads (Threads per flash), or those threads,
	// preempted by the kernel, hold every P.
	Background bool
}

// Threads is the most threads of its own a flash keeps busy at once:
// the reader and decoder, the writer, the hasher and a decoder process'
// feeder.
const Threads = 4

// Result describes a flash; after a failure, how far it got.
type Result struct {
	Format Format
	// BytesIn is the number of source bytes consumed.
	BytesIn int64
	// BytesWritten is the number of bytes written to the target.
	BytesWritten int64
	// ImageSize is the size of the decompressed image.
	ImageSize int64
	// SHA256 is the digest of the source bytes when Options.SHA256 was
	// set (and so it was computed).
	SHA256 []byte
	// Verified says that the image was read back and matched.
	Verified bool
	// Duration is the time Flash took.
	Duration time.Duration
}

const (
	defaultBufferSize = 4 << 20
	defaultBuffers    = 4
	// sourceBufferSize is the read-ahead on the source.
	sourceBufferSize = 256 << 10
	// discardSize is the scratch buffer for skipped bmap holes.
	discardSize = 256 << 10
)

func (o *Options) setDefaults() {
	if o.BufferSize <= 0 {
		o.BufferSize = defaultBufferSize
	}
	o.BufferSize = (o.BufferSize + alignment - 1) &^ (alignment - 1)
	if o.Buffers <= 0 {
		o.Buffers = defaultBuffers
	}
	o.Buffers = max(o.Buffers, 2)
	if o.MaxDecoderMemory <= 0 {
		o.MaxDecoderMemory = DefaultMaxDecoderMemory
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Flash writes the image from src to dst: it detects the format from
// the magic bytes, decompresses as the bytes stream in, writes through
// a few fixed buffers (only the mapped ranges when opts.Bmap is set),
// syncs, and reads the image back unless opts.SkipVerify is set.
//
// Nothing is written if the image is known up front not to fit (raw
// size, bmap ImageSize, xz index of a local file, zstd frame header);
// otherwise the flash fails with ErrTooLarge as soon as the stream
// passes dst's end, before writing past it.
//
// Cancelling ctx stops the flash within one buffer; Flash returns the
// context's error wrapped and leaves no goroutine behind. Flash does
// not close dst.
func Flash(ctx context.Context, src Source, dst Target, opts Options) (res Result, err error) {
	opts.setDefaults()
	begin := time.Now()
	f := &flash{src: src, dst: dst, opts: &opts, log: opts.Logger, tr: &tracker{fn: opts.Progress}}
	if opts.Background {
		// Not on the caller's thread: its policy would outlive Flash.
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.background()
			err = f.run(ctx)
		}()
		<-done
	} else {
		err = f.run(ctx)
	}
	res = f.res
	res.BytesIn, res.BytesWritten = f.tr.in.Load(), f.tr.written.Load()
	res.Duration = time.Since(begin)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("flash %s to %s: %w", src, dst, context.Cause(ctx))
		} else {
			err = fmt.Errorf("flash %s to %s: %w", src, dst, err)
		}
		f.log.Debug("flasher: flash failed", "source", src.String(), "target", fmt.Sprint(dst), "err", err)
		return res, err
	}
	f.tr.start(PhaseDone, f.tr.in.Load())
	f.log.Info("flasher: flashed", "source", src.String(), "target", fmt.Sprint(dst),
		"format", res.Format.String(), "image", res.ImageSize, "written", res.BytesWritten,
		"verified", res.Verified, "duration", res.Duration.Round(time.Millisecond))
	return res, nil
}

// flash is the state of one Flash call.
type flash struct {
	src  Source
	dst  Target
	opts *Options
	log  *slog.Logger
	tr   *tracker
	res  Result

	idleFailed sync.Once // background's warning

	in       *sourceReader
	closeSrc func() // closes the source once
	br       *bufio.Reader
	dec      io.Reader
	decProc  bool       // dec is a decoder process' output
	seeker   *rawSeeker // raw file source skipping holes by seeking; or nil

	bufs    []*chunk
	free    chan *chunk
	discard []byte // scratch for skipped holes

	// Set by the hasher, read after it is done.
	written *blockSums // sums of what was written, when verifying
}

func (f *flash) run(ctx context.Context) error {
	if f.opts.SHA256 != nil && len(f.opts.SHA256) != sha256.Size {
		return fmt.Errorf("expected SHA-256 has %d bytes, not %d", len(f.opts.SHA256), sha256.Size)
	}
	f.tr.start(f.src.OpenPhase(), -1)
	rc, size, err := f.src.Open(ctx)
	if err != nil {
		return err
	}
	// Closing the source unblocks a pending read when ctx is done.
	var closeOnce sync.Once
	closeSrc := func() { closeOnce.Do(func() { rc.Close() }) }
	f.closeSrc = closeSrc
	stop := context.AfterFunc(ctx, closeSrc)
	defer func() {
		stop()
		closeSrc()
	}()

	f.in = &sourceReader{r: rc, size: size, count: &f.tr.in}
	if f.opts.Background {
		f.in.r = foregroundReader{pieceReader{r: rc, piece: backgroundPiece}}
	}
	if f.opts.SHA256 != nil {
		f.in.hash = sha256.New()
	}
	f.br = bufio.NewReaderSize(f.in, sourceBufferSize)
	format, err := Detect(f.br)
	if err != nil {
		return f.sourceErr(err)
	}
	f.res.Format = format
	f.tr.start(PhaseWrite, size)

	if err := f.precheck(rc, size, format); err != nil {
		return err
	}
	in := decoderInput{br: f.br, background: f.opts.Background}
	if file, ok := rc.(*os.File); ok && size >= 0 && f.in.hash == nil {
		in.file, in.offset, in.size, in.count = file, f.in.n-int64(f.br.Buffered()), size, &f.tr.in
	}
	dec, err := openDecoder(ctx, format, in, f.opts, f.log)
	if err != nil {
		if serr := f.in.failed(); serr != nil {
			return f.sourceErr(serr)
		}
		return err
	}
	defer func() {
		closeSrc() // first: an xz process' feeder may be blocked reading it
		dec.Close()
	}()
	f.dec = dec
	_, f.decProc = dec.(*decoderProc)
	if f.opts.Background {
		f.dec = pieceReader{r: dec, piece: backgroundPiece}
	}
	if format == Raw && f.opts.Bmap != nil && f.in.hash == nil {
		if file, ok := rc.(*os.File); ok && size >= 0 {
			f.seeker = &rawSeeker{file: file, size: size}
		}
	}

	// Every goroutine that touches the buffers is done before run
	// returns, so they can go back to the kernel then.
	defer func() {
		for _, c := range f.bufs {
			freeBuffer(c.buf)
		}
	}()
	for range f.opts.Buffers {
		b, err := allocBuffer(f.opts.BufferSize)
		if err != nil {
			return err
		}
		f.bufs = append(f.bufs, &chunk{buf: b})
	}
	f.free = make(chan *chunk, len(f.bufs))
	for _, c := range f.bufs {
		f.free <- c
	}

	if err := f.write(ctx); err != nil {
		return err
	}

	f.tr.start(PhaseSync, -1)
	if err := f.phase(func() error { return f.dst.Sync() }); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if f.opts.SkipVerify {
		return nil
	}
	if err := f.verify(ctx); err != nil {
		return err
	}
	f.res.Verified = true
	return nil
}

// precheck fails before anything is written when the image is known not
// to fit, or not to match its bmap.
func (f *flash) precheck(rc io.Reader, size int64, format Format) error {
	capacity := f.dst.Size()
	known, exact := int64(-1), true
	switch format {
	case Raw:
		known = size
	case XZ:
		if ra, ok := rc.(io.ReaderAt); ok && size > 0 {
			known = xzImageSize(ra, size)
		}
	case Zstd:
		if hdr, _ := f.br.Peek(18); len(hdr) > 0 {
			known, exact = zstdContentSize(hdr), false
		}
	}
	if m := f.opts.Bmap; m != nil {
		if m.ImageSize > capacity {
			return fmt.Errorf("%w: the bmap's image is %d bytes, the disk %d", ErrTooLarge, m.ImageSize, capacity)
		}
		if known >= 0 && (known > m.ImageSize || exact && known != m.ImageSize) {
			return fmt.Errorf("%w: the image is %d bytes, its bmap says %d", ErrCorrupt, known, m.ImageSize)
		}
		return nil
	}
	if known > capacity {
		return fmt.Errorf("%w: the image is %d bytes, the disk %d", ErrTooLarge, known, capacity)
	}
	return nil
}

// zstdContentSize returns the content size in the header of the zstd
// frame at the start of hdr, or -1. Further frames may follow: it is a
// lower bound of the stream's size.
func zstdContentSize(hdr []byte) int64 {
	if len(hdr) < 5 || !bytes.HasPrefix(hdr, []byte(zstdMagic)) {
		return -1
	}
	fhd := hdr[4]
	single := fhd&0x20 != 0
	p := 5
	if !single {
		p++ // window descriptor
	}
	p += []int{0, 1, 2, 4}[fhd&3] // dictionary ID
	n := []int{0, 2, 4, 8}[fhd>>6]
	if n == 0 && single {
		n = 1
	}
	if n == 0 || len(hdr) < p+n {
		return -1
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(hdr[p+i])
	}
	if n == 2 {
		v += 256
	}
	if v > 1<<62 {
		return -1
	}
	return int64(v)
}

// phase runs fn on another goroutine, reporting progress meanwhile.
func (f *flash) phase(fn func() error) error {
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		f.background()
		err = fn()
	}()
	f.tr.wait(done)
	return err
}

// goStage runs fn as one of g's stages, in the background when asked.
func (f *flash) goStage(g *errgroup.Group, fn func() error) {
	g.Go(func() error {
		f.background()
		return fn()
	})
}

// background moves the calling goroutine, one of the flash's own, to an
// idle thread when Options.Background asks for it. Failing costs only
// the priority, and is logged once.
func (f *flash) background() {
	if !f.opts.Background {
		return
	}
	if err := idleThread(); err != nil {
		f.idleFailed.Do(func() { f.log.Warn("flash: threads keep their priority", "err", err) })
	}
}

// sourceErr describes a failure of the source itself.
func (f *flash) sourceErr(err error) error {
	return fmt.Errorf("read source: %w", err)
}

// readErr describes an error reading the decompressed stream: the
// source's, if it failed, or the decoder's.
func (f *flash) readErr(err error) error {
	if serr := f.in.failed(); serr != nil {
		return f.sourceErr(serr)
	}
	return decodeError(f.res.Format, err)
}

// sourceReader counts and hashes the source bytes and checks the
// announced size.
type sourceReader struct {
	r     io.Reader
	size  int64 // announced, or -1
	n     int64
	count *atomic.Int64
	hash  hash.Hash // or nil

	mu  sync.Mutex
	err error // first error other than EOF
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		if s.hash != nil {
			s.hash.Write(p[:n])
		}
		s.n += int64(n)
		s.count.Add(int64(n))
	}
	switch {
	case s.size >= 0 && s.n > s.size:
		err = fmt.Errorf("%w: the source is longer than its announced %d bytes", ErrCorrupt, s.size)
	case errors.Is(err, io.EOF) && s.size >= 0 && s.n < s.size:
		err = fmt.Errorf("%w: the source ended after %d of %d bytes", ErrTruncated, s.n, s.size)
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		s.mu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.mu.Unlock()
	}
	return n, err
}

func (s *sourceReader) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// rawSeeker skips holes of a raw image file by seeking.
type rawSeeker struct {
	file *os.File
	size int64
}

// chunk is one I/O buffer on its way from the reader to the writer and
// the hasher.
type chunk struct {
	buf  []byte
	n    int // bytes used, including alignment gaps
	segs []segment
	refs atomic.Int32
}

// segment is a contiguous piece of the image in a chunk.
type segment struct {
	off        int64 // offset in the image
	start, end int   // in chunk.buf
	rng        int   // bmap range index, or -1
	last       bool  // ends its bmap range
}

func (c *chunk) reset() {
	c.n = 0
	c.segs = c.segs[:0]
}

// release returns c to the free list once both consumers are done.
func (f *flash) release(c *chunk) {
	if c.refs.Add(-1) == 0 {
		c.reset()
		f.free <- c // never blocks: capacity is the number of chunks
	}
}
