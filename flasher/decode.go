package flasher

import (
	"bufio"
	"compress/bzip2"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// DefaultMaxDecoderMemory is the default bound on a decoder's window or
// dictionary: enough for xz -9 and zstd --ultra -21 images, while the
// Turing Pi 2's controller has 128 MB of RAM in all.
const DefaultMaxDecoderMemory = 64 << 20

// XZDecoder chooses how xz images are decompressed.
type XZDecoder int

// The xz decoders. Measured on a 256 MiB image the pure-Go decoder
// (github.com/ulikunitz/xz) takes about twice as long as xz-utils' `xz
// -dc`, so by default Flash pipes xz images through an xz process when
// one is installed.
const (
	// XZAuto runs `xz -dc` if an xz program is in $PATH, and the Go
	// decoder otherwise.
	XZAuto XZDecoder = iota
	// XZExternal requires the xz program.
	XZExternal
	// XZInternal always uses the Go decoder.
	XZInternal
)

// decoderInput is what a decoder reads.
type decoderInput struct {
	br *bufio.Reader
	// file, if set, is the source itself: a regular file whose bytes
	// nothing else in bmcd needs to see (no expected digest). A decoder
	// process may take it as its stdin, so the bytes go from the page
	// cache to the decoder without passing through bmcd; it must then
	// start at offset, the first byte br has not handed out, and report
	// how far it read in count.
	file   *os.File
	offset int64
	size   int64
	count  *atomic.Int64
	// background: a decoder process runs under the idle policy, as
	// the flash's threads do (Options.Background).
	background bool
}

// openDecoder returns the decompressed stream of in, whose format is f.
func openDecoder(ctx context.Context, f Format, in decoderInput, opts *Options, log *slog.Logger) (io.ReadCloser, error) {
	br := in.br
	switch f {
	case Raw:
		return io.NopCloser(br), nil
	case Gzip:
		// klauspost's gzip is the standard library's API with a faster
		// inflate; its errors are the standard library's.
		zr, err := kgzip.NewReader(br)
		if err != nil {
			return nil, decodeError(f, err)
		}
		return zr, nil
	case Bzip2:
		return openBzip2(ctx, in, opts, log)
	case Zstd:
		zr, err := zstd.NewReader(br,
			// One goroutine is the fastest in streaming mode (measured)
			// and keeps memory at one window plus one block.
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(uint64(opts.MaxDecoderMemory)),
			zstd.WithDecoderMaxMemory(uint64(opts.MaxDecoderMemory)),
		)
		if err != nil {
			return nil, fmt.Errorf("zstd decoder: %w", err)
		}
		return zstdReadCloser{zr}, nil
	case XZ:
		return openXZ(ctx, in, opts, log)
	}
	return nil, fmt.Errorf("decode: unknown format %v", f)
}

type zstdReadCloser struct{ *zstd.Decoder }

func (z zstdReadCloser) Close() error { z.Decoder.Close(); return nil }

// decodeError classifies an error a decoder of format f returned, once
// it is known that the source itself did not fail.
func decodeError(f Format, err error) error {
	var (
		flateErr flate.CorruptInputError
		bzErr    bzip2.StructuralError
	)
	switch {
	case errors.Is(err, ErrTruncated), errors.Is(err, ErrCorrupt), errors.Is(err, ErrMemoryLimit):
		return fmt.Errorf("decode %s: %w", f, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("decode %s: %w: %w", f, ErrTruncated, err)
	case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return fmt.Errorf("decode %s: %w: %w", f, ErrMemoryLimit, err)
	case errors.As(err, &flateErr), errors.As(err, &bzErr),
		errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum):
		return fmt.Errorf("decode %s: %w: %w", f, ErrCorrupt, err)
	}
	return fmt.Errorf("decode %s: %w: %w", f, ErrCorrupt, err)
}
