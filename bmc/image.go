package bmc

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"

	"github.com/turingpi-oss/bmcd/hal"
)

// ImageSpec is what a user says about an image besides its bytes.
type ImageSpec struct {
	// Name describes the image in the job history (a file name or URL).
	Name string
	// SHA256 is the expected digest of the source bytes, hex; "" skips.
	SHA256 string
	// Bmap is a bmaptool block map; nil writes every block.
	Bmap []byte
	// Verify reads the written image back and compares it.
	Verify bool
}

// ImageFactory builds Images from what users hand in. The daemon wires
// one backed by package flasher.
type ImageFactory interface {
	// Upload is an image streamed in by a client; size is -1 if unknown.
	// The image reads r only while its job writes.
	Upload(r io.Reader, size int64, spec ImageSpec) (Image, error)
	// URL is an image the daemon downloads itself.
	URL(url string, spec ImageSpec) (Image, error)
}

// FlashUpload queues a job that writes an image streamed from r. The
// returned channel is closed when the job has finished with r (the job
// is final), so a caller serving an upload knows when to answer. Bad
// input fails with ErrInvalid before anything is queued.
func (b *Board) FlashUpload(slot int, r io.Reader, size int64, spec ImageSpec, opts FlashOptions) (Job, <-chan struct{}, error) {
	if err := CheckText("image name", spec.Name, MaxImageNameLen); err != nil {
		return Job{}, nil, err
	}
	if err := spec.check(); err != nil {
		return Job{}, nil, err
	}
	f := b.cfg.Flash.Images
	if f == nil || b.cfg.Flash.Booter == nil {
		return Job{}, nil, fmt.Errorf("flash: %w", hal.ErrNotSupported)
	}
	img, err := f.Upload(r, size, spec)
	if err != nil {
		return Job{}, nil, err
	}
	return b.flash(slot, img, opts)
}

// FlashURL queues a job that downloads and writes the image at url.
func (b *Board) FlashURL(slot int, url string, spec ImageSpec, opts FlashOptions) (Job, error) {
	for _, s := range []string{url, spec.Name} {
		if err := CheckText("image URL", s, MaxURLLen); err != nil {
			return Job{}, err
		}
	}
	if err := checkImageURL(url); err != nil {
		return Job{}, err
	}
	if err := spec.check(); err != nil {
		return Job{}, err
	}
	f := b.cfg.Flash.Images
	if f == nil || b.cfg.Flash.Booter == nil {
		return Job{}, fmt.Errorf("flash: %w", hal.ErrNotSupported)
	}
	img, err := f.URL(url, spec)
	if err != nil {
		return Job{}, err
	}
	return b.Flash(slot, img, opts)
}

// checkImageURL accepts the http and https URLs the daemon can download.
func checkImageURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalidf("image URL %q: want an http or https URL", rawURL)
	}
	return nil
}

// check checks what a user said about an image, for every ImageFactory:
// the sha256 is 64 hex digits (either case).
func (s ImageSpec) check() error {
	if s.SHA256 == "" {
		return nil
	}
	if sum, err := hex.DecodeString(s.SHA256); err != nil || len(sum) != sha256.Size {
		return invalidf("sha256 %q: want 64 hex digits", s.SHA256)
	}
	return nil
}
