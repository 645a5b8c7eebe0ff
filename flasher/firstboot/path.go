package firstboot

import (
	"fmt"
	"io"
	"os"
)

// ApplyPath runs Apply on an image file or a block device (such as
// /dev/mmcblk0 or a node's eMMC over USB), whose size it takes by seeking
// to the end, and syncs it before returning.
func ApplyPath(path string, s Seed) (Result, error) {
	f, size, err := openSized(path, os.O_RDWR)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	res, err := Apply(f, size, s)
	if err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return res, fmt.Errorf("sync %s: %w", path, err)
	}
	return res, nil
}

// DetectPath runs Detect on an image file or a block device.
func DetectPath(path string) (Plan, error) {
	f, size, err := openSized(path, os.O_RDONLY)
	if err != nil {
		return Plan{}, err
	}
	defer f.Close()
	p, err := Detect(f, size)
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ReadSeedPath runs ReadSeed on an image file or a block device.
func ReadSeedPath(path string) (Plan, Seed, error) {
	f, size, err := openSized(path, os.O_RDONLY)
	if err != nil {
		return Plan{}, Seed{}, err
	}
	defer f.Close()
	p, s, err := ReadSeed(f, size)
	if err != nil {
		return p, Seed{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, s, nil
}

// openSized opens a file or device; Stat reports 0 for a block device,
// seeking to the end gives its size.
func openSized(path string, flag int) (*os.File, int64, error) {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, 0, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("size of %s: %w", path, err)
	}
	return f, size, nil
}
