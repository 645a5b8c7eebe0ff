package flasher

import (
	"bufio"
	"compress/bzip2"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
)

// openBzip2 returns the decompressed stream of the bzip2 stream in in:
// from a `bzip2 -dc` process, or from Go's compress/bzip2; opts.Bzip2
// chooses as opts.XZ does for xz.
//
// The process is the default because Go's decoder costs bmcd what the
// controller has least of: it allocates its block buffers (3.6 MiB of
// them for a -9 image) anew for every reader, garbage once the job ends,
// which left bmcd's peak RSS over its 40 MiB budget after bzip2 flashes
// (make bench-mem), and it takes ≈ 270 ARMv7 instructions per byte
// (make bench-arm). The process' memory (≈ 3.7 MB for -9, bzip2(1))
// goes back to the kernel when it exits.
func openBzip2(ctx context.Context, in decoderInput, opts *Options, log *slog.Logger) (io.ReadCloser, error) {
	if opts.Bzip2 != XZInternal {
		path, err := exec.LookPath("bzip2")
		switch {
		case err == nil:
			log.Debug("flasher: decompressing bzip2 with a bzip2 process", "path", path, "direct", in.file != nil)
			return startProc(exec.CommandContext(ctx, path, "-dc"), "bzip2", in, bzip2Failure)
		case opts.Bzip2 == XZExternal:
			return nil, fmt.Errorf("bzip2 decoder: %w", err)
		}
		log.Debug("flasher: no bzip2 program, decompressing bzip2 in Go", "err", err)
	}
	return io.NopCloser(bzip2.NewReader(in.br)), nil
}

// bzip2Failure classifies how a bzip2 process ended. bzip2 exits 0
// after a warning when the stream is followed by bytes that are not
// another stream; the Go decoder and the other formats call that
// corrupt, and so does this.
func bzip2Failure(msg string, err error) error {
	switch {
	case strings.Contains(msg, "trailing garbage"):
		return fmt.Errorf("bzip2: %w: %s", ErrCorrupt, msg)
	case err == nil:
		return nil
	case strings.Contains(msg, "ends unexpectedly"):
		return fmt.Errorf("bzip2: %w: %s", ErrTruncated, firstLine(msg))
	}
	return fmt.Errorf("bzip2: %w: %v: %s", ErrCorrupt, err, firstLine(msg))
}

// firstLine returns the first line of bzip2's message; the rest is
// advice on bzip2recover.
func firstLine(msg string) string {
	sc := bufio.NewScanner(strings.NewReader(msg))
	if sc.Scan() {
		return sc.Text()
	}
	return msg
}
