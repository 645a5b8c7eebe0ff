package flasher

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ulikunitz/xz"
)

// openXZ returns the decompressed stream of the xz stream in in: from an
// xz process, or from the Go decoder; see XZDecoder.
func openXZ(ctx context.Context, in decoderInput, opts *Options, log *slog.Logger) (io.ReadCloser, error) {
	br := in.br
	if opts.XZ != XZInternal {
		path, err := exec.LookPath("xz")
		switch {
		case err == nil:
			log.Debug("flasher: decompressing xz with an xz process", "path", path, "direct", in.file != nil)
			return startXZ(ctx, path, in, opts.MaxDecoderMemory)
		case opts.XZ == XZExternal:
			return nil, fmt.Errorf("xz decoder: %w", err)
		}
		log.Debug("flasher: no xz program, decompressing xz in Go", "err", err)
	}
	// The Go decoder allocates whatever dictionary the block header asks
	// for: check the first block before it does.
	if hdr, _ := br.Peek(12 + 1024); len(hdr) > 0 {
		if dict := xzDictSize(hdr); dict > opts.MaxDecoderMemory {
			return nil, fmt.Errorf("decode xz: %w: dictionary of %d bytes, limit %d",
				ErrMemoryLimit, dict, opts.MaxDecoderMemory)
		}
	}
	xr, err := xz.ReaderConfig{}.NewReader(br)
	if err != nil {
		return nil, decodeError(XZ, err)
	}
	return io.NopCloser(xr), nil
}

// xzDictSize returns the LZMA2 dictionary size the first block of the xz
// stream starting with hdr declares, or -1 if it cannot tell.
func xzDictSize(hdr []byte) int64 {
	if len(hdr) < 13 || !bytes.HasPrefix(hdr, []byte(xzMagic)) {
		return -1
	}
	b := hdr[12:]
	size := (int(b[0]) + 1) * 4
	if b[0] == 0 || len(b) < size {
		return -1 // index (no block) or short peek
	}
	flags := b[1]
	nfilters := int(flags&3) + 1
	p := b[2:size]
	skipVLI := func() (uint64, bool) {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return v, true
	}
	if flags&0x40 != 0 {
		if _, ok := skipVLI(); !ok {
			return -1
		}
	}
	if flags&0x80 != 0 {
		if _, ok := skipVLI(); !ok {
			return -1
		}
	}
	for range nfilters {
		id, ok := skipVLI()
		if !ok {
			return -1
		}
		n, ok := skipVLI()
		if !ok || uint64(len(p)) < n {
			return -1
		}
		props := p[:n]
		p = p[n:]
		if id == 0x21 && n == 1 {
			d := props[0]
			if d > 40 {
				return -1
			}
			if d == 40 {
				return 1<<32 - 1
			}
			return int64(2|d&1) << (d/2 + 11)
		}
	}
	return -1
}

// startXZ runs `xz -dc` on in. Only -d and -c are passed to BusyBox' xz;
// xz-utils 5.4 and later also get -T0, which decodes the blocks of a
// multi-block image (xz -T0 makes them) on every core, within the
// memory limit xz-utils reads from the XZ_DEFAULTS environment variable.
//
// A local file (in.file) is xz's stdin itself: no byte of it passes
// through bmcd, and the progress comes from the file's offset, which xz
// shares. Other sources are copied into a pipe in 256 KiB reads and
// writes: an upload's or a download's body is wrapped by net/http (a
// chunked or length-limited reader over a buffered connection), so
// splice(2) cannot take the bytes from the socket.
func startXZ(ctx context.Context, path string, in decoderInput, memLimit int64) (io.ReadCloser, error) {
	args := []string{"-dc"}
	if xzThreads(ctx, path) {
		args = append(args, "-T0")
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(cmd.Environ(), fmt.Sprintf("XZ_DEFAULTS=--memlimit-decompress=%d", memLimit))
	// Blocking pipes: xz writes 8 KiB at a time, and a reader blocked in
	// read(2), as dd is, keeps up with less work than one woken by the
	// poller for each write.
	outR, outW, err := blockingPipe()
	if err != nil {
		return nil, fmt.Errorf("xz: %w", err)
	}
	x := &xzProc{cmd: cmd, stdout: outR, copied: make(chan struct{})}
	var inR, inW *os.File
	if in.file != nil {
		if _, err := in.file.Seek(in.offset, io.SeekStart); err != nil {
			outR.Close()
			outW.Close()
			return nil, fmt.Errorf("xz: rewind the image: %w", err)
		}
		x.file, x.size, x.count = in.file, in.size, in.count
		cmd.Stdin = in.file
	} else {
		if inR, inW, err = blockingPipe(); err != nil {
			outR.Close()
			outW.Close()
			return nil, fmt.Errorf("xz: %w", err)
		}
		cmd.Stdin = inR
	}
	cmd.Stdout, cmd.Stderr = outW, &x.stderr
	err = cmd.Start()
	if inR != nil {
		inR.Close()
	}
	outW.Close()
	if err != nil {
		if inW != nil {
			inW.Close()
		}
		outR.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	if inW == nil {
		close(x.copied)
		return x, nil
	}
	go func() {
		defer close(x.copied)
		// A failing source is seen by the pipeline's source reader; a
		// failing xz by wait.
		_ = feed(inW, in.br)
		inW.Close()
	}()
	return x, nil
}

// feedSize is the size of the reads and writes that feed a decoder
// process: what a pipe of 1 MiB takes in a few writes, and what a
// socket delivers in one read when the network is fast.
const feedSize = 256 << 10

// feed copies br into w in reads of up to feedSize. Reads that large go
// past br's buffer, straight into buf, once br has handed out what it
// holds. (io.Copy would end in os.File's ReadFrom, which copies through
// 32 KiB when it cannot splice.)
func feed(w io.Writer, br *bufio.Reader) error {
	buf := make([]byte, feedSize)
	for {
		n, err := br.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// xzThreads says whether the xz program at path is xz-utils 5.4 or
// later, which decodes multi-block files in threads with -T0.
func xzThreads(ctx context.Context, path string) bool {
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return false
	}
	var major, minor int
	if _, err := fmt.Sscanf(string(out), "xz (XZ Utils) %d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 5 || major == 5 && minor >= 4
}

// xzProc is the output of an xz process.
type xzProc struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	stderr tailBuffer
	copied chan struct{} // closed when the stdin copier is done
	once   sync.Once
	err    error

	// When xz reads the image file itself: the file, its size, and the
	// count of source bytes consumed that progress reports, updated from
	// the file's offset every progressStep bytes of output.
	file     *os.File
	size     int64
	count    *atomic.Int64
	unpolled int
}

// progressStep is how much output xzProc reads between two looks at how
// far xz has read its input file.
const progressStep = 4 << 20

// Read reads the decompressed stream; at its end, it reports how xz
// exited.
func (x *xzProc) Read(p []byte) (int, error) {
	n, err := x.stdout.Read(p)
	if x.file != nil {
		if x.unpolled += n; x.unpolled >= progressStep {
			x.unpolled = 0
			// The offset xz shares with bmcd's descriptor; an error (the
			// source closed by a cancel) leaves the count as it was.
			if pos, err := x.file.Seek(0, io.SeekCurrent); err == nil {
				x.count.Store(pos)
			}
		}
	}
	if errors.Is(err, io.EOF) {
		if werr := x.wait(); werr != nil {
			return n, werr
		}
		if x.file != nil {
			x.count.Store(x.size) // xz read it to the end to check it
		}
	}
	return n, err
}

// Close stops xz if it still runs and waits for it.
func (x *xzProc) Close() error {
	x.once.Do(func() {
		// Not done yet: whatever the reason, xz's result is not wanted.
		_ = x.cmd.Process.Kill()
		<-x.copied
		_ = x.cmd.Wait()
		x.stdout.Close()
		x.err = errors.New("xz: closed")
	})
	return nil
}

func (x *xzProc) wait() error {
	x.once.Do(func() {
		<-x.copied
		err := x.cmd.Wait()
		x.stdout.Close()
		if err == nil {
			return
		}
		msg := strings.TrimSpace(x.stderr.String())
		switch {
		case strings.Contains(msg, "Unexpected end of input"), strings.Contains(msg, "unexpected EOF"):
			x.err = fmt.Errorf("xz: %w: %s", ErrTruncated, msg)
		case strings.Contains(msg, "Memory usage limit"):
			x.err = fmt.Errorf("xz: %w: %s", ErrMemoryLimit, msg)
		default:
			x.err = fmt.Errorf("xz: %w: %v: %s", ErrCorrupt, err, msg)
		}
	})
	return x.err
}

// tailBuffer keeps the last bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 4 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// xzImageSize returns the uncompressed size of the xz file r of size
// bytes from the indexes of its streams, or -1 if it cannot tell.
func xzImageSize(r io.ReaderAt, size int64) int64 {
	const maxIndex = 16 << 20
	var total int64
	pos := size
	streams := 0
	var word [4]byte
	for pos > 0 {
		// Stream padding: groups of four zero bytes.
		if pos < 12 {
			return -1
		}
		if _, err := r.ReadAt(word[:], pos-4); err != nil {
			return -1
		}
		if word == [4]byte{} {
			pos -= 4
			continue
		}
		var footer [12]byte
		if _, err := r.ReadAt(footer[:], pos-12); err != nil {
			return -1
		}
		if footer[10] != 'Y' || footer[11] != 'Z' ||
			crc32.ChecksumIEEE(footer[4:10]) != binary.LittleEndian.Uint32(footer[0:4]) {
			return -1
		}
		indexSize := (int64(binary.LittleEndian.Uint32(footer[4:8])) + 1) * 4
		if indexSize > maxIndex || indexSize > pos-24 {
			return -1
		}
		index := make([]byte, indexSize)
		if _, err := r.ReadAt(index, pos-12-indexSize); err != nil {
			return -1
		}
		blocks, uncompressed, ok := parseXZIndex(index)
		if !ok {
			return -1
		}
		start := pos - 12 - indexSize - blocks - 12
		if start < 0 {
			return -1
		}
		var hdr [6]byte
		if _, err := r.ReadAt(hdr[:], start); err != nil || string(hdr[:]) != xzMagic {
			return -1
		}
		if total += uncompressed; total < 0 {
			return -1
		}
		pos = start
		streams++
	}
	if streams == 0 {
		return -1
	}
	return total
}

// parseXZIndex returns the size of the blocks an xz index describes and
// their uncompressed size.
func parseXZIndex(idx []byte) (blocks, uncompressed int64, ok bool) {
	n := len(idx)
	if n < 8 || idx[0] != 0 || crc32.ChecksumIEEE(idx[:n-4]) != binary.LittleEndian.Uint32(idx[n-4:]) {
		return 0, 0, false
	}
	p := idx[1 : n-4]
	vli := func() (int64, bool) {
		v, k := binary.Uvarint(p)
		if k <= 0 || k > 9 || v > 1<<62 {
			return 0, false
		}
		p = p[k:]
		return int64(v), true
	}
	count, ok := vli()
	if !ok || count > int64(len(p)) {
		return 0, 0, false
	}
	for range count {
		unpadded, ok1 := vli()
		size, ok2 := vli()
		if !ok1 || !ok2 {
			return 0, 0, false
		}
		blocks += (unpadded + 3) &^ 3
		uncompressed += size
		if blocks < 0 || uncompressed < 0 {
			return 0, 0, false
		}
	}
	for _, b := range p {
		if b != 0 {
			return 0, 0, false
		}
	}
	return blocks, uncompressed, len(p) < 4
}
