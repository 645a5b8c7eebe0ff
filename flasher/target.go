package flasher

import (
	"fmt"
	"io"
	"os"
)

// Target is where an image is written: a block device, or a regular
// file standing in for one (the simulated board's eMMC). Its errors
// name the operation and the offset but not the target, which whoever
// holds it names (Flash does).
//
// After Sync, ReadAt must read what the medium holds, not a copy cached
// on the way: Flash's read-back verification relies on it. The targets
// OpenTarget returns do so; see OpenTarget.
type Target interface {
	io.WriterAt
	io.ReaderAt
	// Size is the capacity in bytes. Writes past it fail with
	// ErrTooLarge.
	Size() int64
	// Sync makes what was written durable.
	Sync() error
	Close() error
}

// alignment is the memory and I/O alignment Flash uses for its buffers
// and its writes: the largest logical block size of common devices, and
// the page size.
const alignment = 4096

// fileTarget is a block device or a regular file.
type fileTarget struct {
	path  string
	f     *os.File // buffered I/O
	d     *os.File // O_DIRECT, or nil where unavailable
	block bool     // a block device
	size  int64
	align int64 // offset, length and memory alignment for d
	// direct says whether reads after Sync bypass the page cache: d is
	// open, or Sync dropped the cached pages.
	direct bool
}

func (t *fileTarget) String() string { return t.path }

// Size returns the capacity.
func (t *fileTarget) Size() int64 { return t.size }

func (t *fileTarget) aligned(p []byte, off int64) bool {
	return t.d != nil && len(p) > 0 && off%t.align == 0 && int64(len(p))%t.align == 0 &&
		int64(addr(p))%t.align == 0
}

// WriteAt writes p at off: with O_DIRECT when open and p and off are
// aligned, through the page cache otherwise.
func (t *fileTarget) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off > t.size || int64(len(p)) > t.size-off {
		return 0, fmt.Errorf("write at offset %d: %d bytes past the end (%d bytes): %w",
			off, off+int64(len(p))-t.size, t.size, ErrTooLarge)
	}
	f := t.f
	if t.aligned(p, off) {
		f = t.d
	}
	n, err := f.WriteAt(p, off)
	if err != nil {
		return n, fmt.Errorf("write at offset %d: %w", off, pathless(err))
	}
	return n, nil
}

// ReadAt reads p at off, with O_DIRECT when open, through an aligned
// bounce buffer when p or off is not aligned.
func (t *fileTarget) ReadAt(p []byte, off int64) (int, error) {
	if off >= t.size {
		return 0, io.EOF
	}
	var short bool
	if int64(len(p)) > t.size-off {
		p, short = p[:t.size-off], true
	}
	var n int
	var err error
	switch {
	case t.d == nil:
		n, err = t.f.ReadAt(p, off)
	case t.aligned(p, off):
		n, err = t.d.ReadAt(p, off)
	default:
		start := off &^ (t.align - 1)
		end := (off + int64(len(p)) + t.align - 1) &^ (t.align - 1)
		bounce := alignedSlice(int(end-start), int(t.align))
		var m int
		m, err = t.d.ReadAt(bounce, start)
		if skip := int(off - start); m > skip {
			n = copy(p, bounce[skip:m])
		}
		if n == len(p) {
			err = nil
		}
	}
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("read at offset %d: %w", off, pathless(err))
	}
	if short && err == nil {
		err = io.EOF
	}
	return n, err
}

// Close closes the target.
func (t *fileTarget) Close() error {
	var err error
	if t.d != nil {
		err = t.d.Close()
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close: %w", pathless(err))
	}
	return nil
}

// pathless strips the path from an *os.PathError: a target's errors
// name the operation and the offset, and Flash names the target once.
func pathless(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// alignedSlice returns a zeroed slice of n bytes from the Go heap whose
// first byte is aligned to align.
func alignedSlice(n, align int) []byte {
	b := make([]byte, n+align)
	skip := 0
	if r := int(addr(b) % uintptr(align)); r != 0 {
		skip = align - r
	}
	return b[skip : skip+n : skip+n]
}
