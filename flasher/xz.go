package flasher

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os/exec"
	"strings"

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
// startProc feeds it.
func startXZ(ctx context.Context, path string, in decoderInput, memLimit int64) (io.ReadCloser, error) {
	args := []string{"-dc"}
	if xzThreads(ctx, path) {
		args = append(args, "-T0")
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(cmd.Environ(), fmt.Sprintf("XZ_DEFAULTS=--memlimit-decompress=%d", memLimit))
	return startProc(cmd, "xz", in, xzFailure)
}

// xzFailure classifies how an xz process ended.
func xzFailure(msg string, err error) error {
	switch {
	case err == nil:
		return nil
	case strings.Contains(msg, "Unexpected end of input"), strings.Contains(msg, "unexpected EOF"):
		return fmt.Errorf("xz: %w: %s", ErrTruncated, msg)
	case strings.Contains(msg, "Memory usage limit"):
		return fmt.Errorf("xz: %w: %s", ErrMemoryLimit, msg)
	}
	return fmt.Errorf("xz: %w: %v: %s", ErrCorrupt, err, msg)
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
