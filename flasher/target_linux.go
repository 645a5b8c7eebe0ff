package flasher

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// OpenTarget opens the block device or regular file at path for
// writing an image.
//
// A block device's capacity comes from the BLKGETSIZE64 ioctl. It is
// opened twice: with O_DIRECT, used for aligned writes and for all
// reads, and without, used for an unaligned tail; Sync fsyncs both, so
// the device's write cache is flushed too.
//
// A regular file's capacity is its size: the file is never grown. It is
// written and read like a block device, with O_DIRECT where the file
// system supports it (ext4, xfs, and tmpfs since Linux 6.6, where the
// page cache is the medium): a simulated eMMC then costs what a real one
// does, with no copy into the page cache and no writeback threads behind
// the flash. Elsewhere it is written through the page cache and Sync
// asks the kernel to drop the file's cached pages (posix_fadvise
// DONTNEED) so that reads go to the medium.
func OpenTarget(path string) (Target, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open target: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open target: %w", err)
	}
	t := &fileTarget{path: path, f: f, align: alignment}
	switch m := fi.Mode(); {
	case m.IsRegular():
		t.size = fi.Size()
		if t.d, err = os.OpenFile(path, os.O_RDWR|unix.O_DIRECT, 0); err != nil {
			t.d = nil // tmpfs before 6.6 and others: EINVAL
		}
	case m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0:
		t.block = true
		if t.size, err = blockSize(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("open target %s: %w", path, err)
		}
		if lbs, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET); err == nil && lbs > 0 && lbs <= alignment {
			t.align = int64(lbs)
		}
		if t.d, err = os.OpenFile(path, os.O_RDWR|unix.O_DIRECT, 0); err != nil {
			t.d = nil
		}
	default:
		f.Close()
		return nil, fmt.Errorf("open target %s: %v is neither a block device nor a regular file", path, m.Type())
	}
	t.direct = t.d != nil
	return t, nil
}

// blockSize returns the size of the block device f in bytes.
func blockSize(f *os.File) (int64, error) {
	// BLKGETSIZE64 writes a u64 whatever the width of size_t, which its
	// request number is computed from (and x/sys has per architecture).
	var size uint64
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size)))
	}); err != nil {
		return 0, err
	}
	if errno == 0 {
		return int64(size), nil
	}
	// Not a real block device driver? Seeking to the end also tells.
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("BLKGETSIZE64: %w; seek: %w", errno, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return end, nil
}

// Sync flushes what was written to the medium. Where reads cannot
// bypass the page cache, it then drops the target's cached pages.
func (t *fileTarget) Sync() error {
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", pathless(err))
	}
	if t.d != nil {
		if err := t.d.Sync(); err != nil {
			return fmt.Errorf("sync: %w", pathless(err))
		}
	}
	if t.d == nil {
		err := unix.Fadvise(int(t.f.Fd()), 0, 0, unix.FADV_DONTNEED)
		if err != nil && !errors.Is(err, unix.ESPIPE) {
			return fmt.Errorf("drop page cache: %w", err)
		}
		if t.block {
			// Also the buffer cache of a block device (root only).
			_ = unix.IoctlSetInt(int(t.f.Fd()), unix.BLKFLSBUF, 0)
		}
	}
	return nil
}
