//go:build !linux

package flasher

import (
	"fmt"
	"os"
)

// OpenTarget opens the regular file at path for writing an image. Block
// devices and page-cache bypassing reads are supported on Linux only.
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
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open target %s: not a regular file", path)
	}
	return &fileTarget{path: path, f: f, size: fi.Size(), align: alignment}, nil
}

// Sync flushes what was written.
func (t *fileTarget) Sync() error {
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", pathless(err))
	}
	return nil
}
