package bmc

import (
	"context"
	"errors"
	"fmt"

	"github.com/turingpi-oss/bmcd/flasher"
	"github.com/turingpi-oss/bmcd/flasher/firstboot"
)

// imageDetector is an Image that can be read twice (a file or a URL, not
// an upload), so its OS can be decided before the slot is touched.
type imageDetector interface {
	// CanDetect is false for an image read only once (an upload).
	CanDetect() bool
	// DetectOS decides the OS family from the image's first bytes. It
	// fails with firstboot.ErrBeyondPrefix when they do not suffice.
	DetectOS(ctx context.Context) (firstboot.Plan, error)
}

// Bounds of the prefix detection. The boot partition's tables lie in the
// first ~8 MiB of a Raspberry Pi OS image and the first 20 MiB of the
// RK1's, mostly zeros before them: the window spans 32 MiB of the image
// but only its non-zero blocks are kept, at most prefixKeep bytes, so the
// detection stays well inside a 128 MB controller's budget.
const (
	prefixWindow = 32 << 20
	prefixKeep   = 8 << 20
	prefixBlock  = 4096
)

// errPrefixDone stops the flasher once the prefix is read.
var errPrefixDone = errors.New("image prefix read")

// DetectOS implements imageDetector for file and URL sources: it runs the
// flasher into a prefixTarget, which stops it at the window's end.
func (i *flasherImage) DetectOS(ctx context.Context) (firstboot.Plan, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := &prefixTarget{blocks: map[int64][]byte{}}
	opts := i.opts
	opts.SkipVerify, opts.SHA256, opts.Progress = true, nil, nil // only the prefix is read
	err := i.flash(ctx, t, opts)
	if err != nil && !errors.Is(err, errPrefixDone) {
		return firstboot.Plan{}, err
	}
	return firstboot.Detect(t, 0)
}

// CanDetect implements imageDetector: file and URL sources can be read twice.
func (i *flasherImage) CanDetect() bool {
	switch i.src.(type) {
	case flasher.URLSource, flasher.FileSource:
		return true
	}
	return false
}

// prefixTarget is a flasher.Target that keeps the non-zero 4 KiB blocks
// of the image's first prefixWindow bytes, and reads zeros elsewhere in
// the window.
type prefixTarget struct {
	blocks map[int64][]byte
	kept   int
	end    int64 // the furthest byte written
}

var _ flasher.Target = (*prefixTarget)(nil)

func (t *prefixTarget) Size() int64  { return 1 << 62 } // the disk's size is not known here
func (t *prefixTarget) Sync() error  { return nil }
func (t *prefixTarget) Close() error { return nil }

func (t *prefixTarget) WriteAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= prefixWindow {
			return n, errPrefixDone
		}
		b := pos / prefixBlock
		in := int(pos % prefixBlock)
		m := min(prefixBlock-in, len(p)-n)
		chunk := p[n : n+m]
		if blk := t.blocks[b]; blk != nil {
			copy(blk[in:], chunk)
		} else if !allZero(chunk) {
			if t.kept+prefixBlock > prefixKeep {
				return n, errPrefixDone
			}
			blk = make([]byte, prefixBlock)
			copy(blk[in:], chunk)
			t.blocks[b] = blk
			t.kept += prefixBlock
		}
		n += m
		t.end = max(t.end, pos+int64(m))
	}
	return n, nil
}

// ReadAt reads the kept prefix; past what was written it fails with
// firstboot.ErrBeyondPrefix, so detection never guesses.
func (t *prefixTarget) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > t.end {
		return 0, fmt.Errorf("read %d bytes at %d: %w", len(p), off, firstboot.ErrBeyondPrefix)
	}
	for n := 0; n < len(p); {
		pos := off + int64(n)
		in := int(pos % prefixBlock)
		m := min(prefixBlock-in, len(p)-n)
		if blk := t.blocks[pos/prefixBlock]; blk != nil {
			copy(p[n:n+m], blk[in:])
		} else {
			clear(p[n : n+m])
		}
		n += m
	}
	return len(p), nil
}

func allZero(p []byte) bool {
	for _, c := range p {
		if c != 0 {
			return false
		}
	}
	return true
}

// detectFirst is the job's step detect for an image that asks to be
// prepared: it refuses one whose OS bmcd cannot prepare before the slot
// is touched, where the image can be read twice and its first bytes
// suffice; otherwise step prepare decides on the written disk.
func (b *Board) detectFirst(ctx context.Context, step func(string), slot int, img Image) error {
	d, ok := img.(imageDetector)
	if !ok || !d.CanDetect() {
		return nil
	}
	step("detect")
	plan, err := d.DetectOS(ctx)
	switch {
	case errors.Is(err, firstboot.ErrBeyondPrefix):
		b.log.Info("bmc: the image's first bytes do not show its OS; deciding after the write", "slot", slot, "image", img.String())
		return nil
	case err != nil:
		return err
	}
	b.log.Info("bmc: image OS", "slot", slot, "family", plan.Family, "label", plan.Label)
	return nil
}
