package firstboot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"time"

	"github.com/diskfs/go-diskfs/backend"
)

const blockSize = 512

// overlay presents one partition to go-diskfs with every write held in
// memory until flush. An edit that fails half-way is dropped whole, so bad
// input leaves the disk as it was. It also keeps the first read error,
// because go-diskfs ignores some (it reads the FAT tables with `_, _ =`).
type overlay struct {
	base    io.ReaderAt // the partition, from its first byte
	size    int64
	blocks  map[int64][]byte // block number → 512 bytes
	readErr error
	pos     int64
}

var _ backend.Storage = (*overlay)(nil)
var _ backend.WritableFile = (*overlay)(nil)

func newOverlay(base io.ReaderAt, size int64) *overlay {
	return &overlay{base: base, size: size, blocks: map[int64][]byte{}}
}

func (o *overlay) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= o.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off+int64(n) < o.size {
		at := off + int64(n)
		blk, in := at/blockSize, at%blockSize
		chunk := min(int64(len(p)-n), blockSize-in, o.size-at)
		if b, ok := o.blocks[blk]; ok {
			copy(p[n:n+int(chunk)], b[in:])
		} else if err := o.readBase(p[n:n+int(chunk)], at); err != nil {
			return n, err
		}
		n += int(chunk)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (o *overlay) readBase(p []byte, off int64) error {
	m, err := o.base.ReadAt(p, off)
	if err != nil && !(errors.Is(err, io.EOF) && m == len(p)) {
		if o.readErr == nil {
			o.readErr = fmt.Errorf("read at byte %d of the partition: %w", off, err)
		}
		return o.readErr
	}
	return nil
}

func (o *overlay) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > o.size {
		return 0, fmt.Errorf("write of %d bytes at %d outside the %d-byte partition", len(p), off, o.size)
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		blk, in := at/blockSize, at%blockSize
		b, ok := o.blocks[blk]
		if !ok {
			b = make([]byte, blockSize)
			if _, err := o.ReadAt(b[:min(blockSize, o.size-blk*blockSize)], blk*blockSize); err != nil && !errors.Is(err, io.EOF) {
				return n, err
			}
			o.blocks[blk] = b
		}
		n += copy(b[in:], p[n:])
	}
	return n, nil
}

// flush writes the held blocks to w (the partition, from its first byte)
// in ascending order, merging runs of adjacent blocks into one write.
func (o *overlay) flush(w io.WriterAt) (int64, error) {
	nums := make([]int64, 0, len(o.blocks))
	for k := range o.blocks {
		nums = append(nums, k)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	var total int64
	for i := 0; i < len(nums); {
		j := i + 1
		for j < len(nums) && nums[j] == nums[j-1]+1 {
			j++
		}
		run := make([]byte, 0, (j-i)*blockSize)
		for _, k := range nums[i:j] {
			run = append(run, o.blocks[k]...)
		}
		if end := nums[i]*blockSize + int64(len(run)); end > o.size {
			run = run[:len(run)-int(end-o.size)]
		}
		if _, err := w.WriteAt(run, nums[i]*blockSize); err != nil {
			return total, fmt.Errorf("write %d bytes at byte %d of the partition: %w", len(run), nums[i]*blockSize, err)
		}
		total += int64(len(run))
		i = j
	}
	return total, nil
}

// The rest satisfies backend.Storage; go-diskfs reads and writes with
// ReadAt and WriteAt only.

func (o *overlay) Read(p []byte) (int, error) {
	n, err := o.ReadAt(p, o.pos)
	o.pos += int64(n)
	return n, err
}

func (o *overlay) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += o.pos
	case io.SeekEnd:
		off += o.size
	}
	if off < 0 {
		return 0, fmt.Errorf("seek to %d", off)
	}
	o.pos = off
	return off, nil
}

func (o *overlay) Close() error                            { return nil }
func (o *overlay) Stat() (fs.FileInfo, error)              { return sizeInfo(o.size), nil }
func (o *overlay) Sys() (*os.File, error)                  { return nil, backend.ErrNotSuitable }
func (o *overlay) Writable() (backend.WritableFile, error) { return o, nil }
func (o *overlay) Path() string                            { return "" }

type sizeInfo int64

func (s sizeInfo) Name() string       { return "partition" }
func (s sizeInfo) Size() int64        { return int64(s) }
func (s sizeInfo) Mode() fs.FileMode  { return 0o600 }
func (s sizeInfo) ModTime() time.Time { return time.Time{} }
func (s sizeInfo) IsDir() bool        { return false }
func (s sizeInfo) Sys() any           { return nil }
