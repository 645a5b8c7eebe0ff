package bmc

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"

	"github.com/turingpi-oss/bmcd/flasher"
	"github.com/turingpi-oss/bmcd/flasher/bmap"
)

// FlasherImages is the ImageFactory backed by package flasher: images are
// streamed, decompressed by their magic bytes, written through a few
// fixed buffers and read back.
type FlasherImages struct {
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Buffers and BufferSize are flasher.Options': how many I/O buffers
	// each flash has and their size; zero: the flasher's defaults.
	Buffers, BufferSize int
	// Background, if set, runs each flash under the kernel's idle
	// policy (flasher.Options.Background) and lends the Go scheduler
	// flasher.Threads Ps while it runs: the API, the consoles and the
	// power control go first, the flash takes the CPU that is left.
	// Nil: flashes compete with the rest at the normal priority.
	Background *Procs
}

var _ ImageFactory = FlasherImages{}

// Upload implements ImageFactory.
func (f FlasherImages) Upload(r io.Reader, size int64, spec ImageSpec) (Image, error) {
	name := spec.Name
	if name == "" {
		name = "upload"
	}
	return f.image(flasher.ReaderSource{R: r, Size: size, Name: name}, spec)
}

// URL implements ImageFactory. Board.FlashURL has checked the URL.
func (f FlasherImages) URL(rawURL string, spec ImageSpec) (Image, error) {
	return f.image(flasher.URLSource{URL: rawURL}, spec)
}

func (f FlasherImages) image(src flasher.Source, spec ImageSpec) (Image, error) {
	opts := flasher.Options{SkipVerify: !spec.Verify, Logger: f.Logger, Buffers: f.Buffers, BufferSize: f.BufferSize,
		Background: f.Background != nil}
	if spec.SHA256 != "" {
		sum, err := hex.DecodeString(spec.SHA256)
		if err != nil {
			return nil, fmt.Errorf("image %s: sha256: %w", src, err) // checked by the Board
		}
		opts.SHA256 = sum
	}
	if spec.Bmap != nil {
		m, err := bmap.Parse(spec.Bmap)
		if err != nil {
			return nil, fmt.Errorf("image %s: bmap: %w: %w", src, err, ErrInvalid)
		}
		opts.Bmap = m
	}
	return &flasherImage{src: src, opts: opts, procs: f.Background}, nil
}

// flasherImage is one image to write with flasher.Flash.
type flasherImage struct {
	src   flasher.Source
	opts  flasher.Options
	procs *Procs // lends Ps to a background flash, or nil
}

func (i *flasherImage) String() string { return i.src.String() }

// WriteTo implements Image.
func (i *flasherImage) WriteTo(ctx context.Context, disk string, progress func(FlashProgress)) error {
	dst, err := flasher.OpenTarget(disk)
	if err != nil {
		return err
	}
	opts := i.opts
	opts.Progress = func(p flasher.Progress) { progress(progressOf(p)) }
	err = i.flash(ctx, dst, opts)
	if cerr := dst.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", disk, cerr)
	}
	return err
}

// flash runs flasher.Flash with opts, lending Ps to it while it runs
// in the background.
func (i *flasherImage) flash(ctx context.Context, dst flasher.Target, opts flasher.Options) error {
	if i.procs != nil {
		defer i.procs.Lend(flasher.Threads)()
	}
	_, err := flasher.Flash(ctx, i.src, dst, opts)
	return err
}

// progressOf converts the flasher's report to a job's.
func progressOf(p flasher.Progress) FlashProgress {
	return FlashProgress{
		Phase:         p.Phase.String(),
		BytesIn:       p.BytesIn,
		BytesWritten:  p.BytesWritten,
		BytesVerified: p.BytesVerified,
		Total:         p.Total,
		Rate:          p.Rate,
		ETA:           p.ETA,
	}
}
