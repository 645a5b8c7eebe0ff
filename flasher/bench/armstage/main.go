package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/cespare/xxhash/v2"

	"github.com/turingpi-oss/bmcd/flasher"
	"github.com/turingpi-oss/bmcd/flasher/bmap"
)

// The markers: armcount counts the instructions of every thread from an
// entry into regionStart to an entry into regionStop, except between
// countPause and countResume; regionSplit ends a region and starts the
// next. They must stay out of line: each is its own function at its own
// address, which is all the plugin looks at.

//go:noinline
func regionStart() {}

//go:noinline
func regionStop() {}

//go:noinline
func regionSplit() {}

//go:noinline
func countPause() {}

//go:noinline
func countResume() {}

// chunkSize is the size of the flasher's buffers, the unit the
// primitives work in.
const chunkSize = 4 << 20

func main() {
	stage := flag.String("stage", "", "sha256, xxhash, equal, memmove or flash")
	verify := flag.Bool("verify", false, "flash: read back and verify")
	bmapPath := flag.String("bmap", "", "flash: bmap file")
	sum := flag.Bool("sha256", false, "flash: check the image file's SHA-256, as --sha256 does")
	xz := flag.String("xz", "internal", "flash: xz decoder, internal or external")
	size := flag.Int64("size", 0, "flash: the target's size in bytes")
	flag.Parse()
	if err := run(*stage, flag.Args(), *verify, *bmapPath, *sum, *xz, *size); err != nil {
		fmt.Fprintln(os.Stderr, "armstage:", err)
		os.Exit(1)
	}
}

func run(stage string, images []string, verify bool, bmapPath string, sum bool, xz string, size int64) error {
	if len(images) == 0 {
		return errors.New("no image")
	}
	for _, path := range images {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var fn func() error
		switch stage {
		case "sha256":
			fn = func() error { h := sha256.New(); chunks(data, func(p []byte) { h.Write(p) }); h.Sum(nil); return nil }
		case "xxhash":
			fn = func() error { h := xxhash.New(); chunks(data, func(p []byte) { h.Write(p) }); h.Sum64(); return nil }
		case "equal":
			other := bytes.Clone(data)
			fn = func() error {
				if !bytes.Equal(data, other) {
					return errors.New("equal: copies differ")
				}
				return nil
			}
		case "memmove":
			dst := make([]byte, len(data))
			fn = func() error { chunks(data, func(p []byte) { copy(dst, p) }); return nil }
		case "flash":
			opts, err := flashOptions(data, verify, bmapPath, sum, xz)
			if err != nil {
				return err
			}
			if size <= 0 {
				return errors.New("flash: -size is required")
			}
			t := &memTarget{data: make([]byte, size)}
			fn = func() error { return flash(data, t, opts) }
		default:
			return fmt.Errorf("unknown stage %q", stage)
		}
		// No collection in progress when the region starts, and none
		// inside it (armcount runs this with GOGC=off): the collector's
		// background work is paced by the clock, and what it costs
		// depends on the whole heap of bmcd, not on the stage.
		runtime.GC()
		regionStart()
		err = fn()
		regionStop()
		if err != nil {
			return fmt.Errorf("%s %s: %w", stage, path, err)
		}
	}
	return nil
}

// chunks hands data to fn in the flasher's buffer size.
func chunks(data []byte, fn func([]byte)) {
	for len(data) > 0 {
		n := min(len(data), chunkSize)
		fn(data[:n])
		data = data[n:]
	}
}

func flashOptions(data []byte, verify bool, bmapPath string, sum bool, xz string) (flasher.Options, error) {
	opts := flasher.Options{SkipVerify: !verify}
	// Writing and reading back are phases one after the other: each is
	// a region of its own, which memTarget.Sync, between the two, splits
	// (the second is empty without -verify). No Progress function: its
	// reports come with the host's clock.
	switch xz {
	case "internal":
		opts.XZ = flasher.XZInternal
	case "external":
		opts.XZ = flasher.XZExternal
	default:
		return opts, fmt.Errorf("-xz %q: want internal or external", xz)
	}
	if sum {
		d := sha256.Sum256(data)
		opts.SHA256 = d[:]
	}
	if bmapPath != "" {
		b, err := os.ReadFile(bmapPath)
		if err != nil {
			return opts, err
		}
		if opts.Bmap, err = bmap.Parse(b); err != nil {
			return opts, fmt.Errorf("%s: %w", bmapPath, err)
		}
	}
	return opts, nil
}

func flash(data []byte, t *memTarget, opts flasher.Options) error {
	res, err := flasher.Flash(context.Background(), flasher.ReaderSource{R: &memSource{r: bytes.NewReader(data)}, Size: int64(len(data))}, t, opts)
	if err != nil {
		return err
	}
	if !opts.SkipVerify && !res.Verified {
		return errors.New("flash: not verified")
	}
	return nil
}

// memSource hands out the image without counting the copy.
type memSource struct{ r *bytes.Reader }

func (s *memSource) Read(p []byte) (int, error) {
	countPause()
	n, err := s.r.Read(p)
	countResume()
	return n, err
}

// memTarget is a disk in memory; its copies are not counted.
type memTarget struct{ data []byte }

var _ flasher.Target = (*memTarget)(nil)

func (t *memTarget) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(t.data)) {
		return 0, fmt.Errorf("write at offset %d: %w", off, flasher.ErrTooLarge)
	}
	countPause()
	n := copy(t.data[off:], p)
	countResume()
	return n, nil
}

func (t *memTarget) ReadAt(p []byte, off int64) (int, error) {
	countPause()
	defer countResume()
	if off >= int64(len(t.data)) {
		return 0, io.EOF
	}
	n := copy(p, t.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// String names the target: Flash's log lines print it.
func (t *memTarget) String() string { return "memory" }

func (t *memTarget) Size() int64 { return int64(len(t.data)) }

// Sync ends the write phase's region and begins the verify phase's.
func (t *memTarget) Sync() error  { regionSplit(); return nil }
func (t *memTarget) Close() error { return nil }
