package bmc

import (
	"fmt"
	"io"

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

func (b *Board) images() (ImageFactory, error) {
	if b.cfg.Flash.Images == nil || b.cfg.Flash.Booter == nil {
		return nil, fmt.Errorf("flash: %w", hal.ErrNotSupported)
	}
	return b.cfg.Flash.Images, nil
}

// FlashUpload queues a job that writes an image streamed from r. The
// returned channel is closed when the job has finished with r (the job
// is final), so a caller serving an upload knows when to answer.
func (b *Board) FlashUpload(slot int, r io.Reader, size int64, spec ImageSpec, opts FlashOptions) (Job, <-chan struct{}, error) {
	if err := CheckText("image name", spec.Name, MaxImageNameLen); err != nil {
		return Job{}, nil, err
	}
	f, err := b.images()
	if err != nil {
		return Job{}, nil, err
	}
	img, err := f.Upload(r, size, spec)
	if err != nil {
		return Job{}, nil, err
	}
	return b.flashAndWatch(slot, img, opts)
}

// FlashURL queues a job that downloads and writes the image at url.
func (b *Board) FlashURL(slot int, url string, spec ImageSpec, opts FlashOptions) (Job, error) {
	for _, s := range []string{url, spec.Name} {
		if err := CheckText("image URL", s, MaxURLLen); err != nil {
			return Job{}, err
		}
	}
	f, err := b.images()
	if err != nil {
		return Job{}, err
	}
	img, err := f.URL(url, spec)
	if err != nil {
		return Job{}, err
	}
	return b.Flash(slot, img, opts)
}

// flashAndWatch queues img and returns a channel closed when the job is final.
func (b *Board) flashAndWatch(slot int, img Image, opts FlashOptions) (Job, <-chan struct{}, error) {
	sub := b.Subscribe(0)
	job, err := b.Flash(slot, img, opts)
	if err != nil {
		sub.Close()
		return Job{}, nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { sub.Close() }()
		for {
			if j, err := b.Job(job.ID); err != nil || j.State.Final() {
				return
			}
			if _, ok := <-sub.C; !ok {
				// Dropped for lagging: resubscribe and look again.
				sub = b.Subscribe(0)
			}
		}
	}()
	return job, done, nil
}
