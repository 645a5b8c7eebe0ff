//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockStateDir creates the state dir if needed and takes its lock
// without waiting. The kernel releases the lock when the process ends,
// however it ends.
func lockStateDir(dir string) (unlock func() error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (it holds %s)", errLocked, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// Unlock explicitly: a child forked elsewhere in the process shares the
	// open file description until its exec closes it, and Close alone would
	// leave the lock held for that moment.
	return func() error {
		err := unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return errors.Join(err, f.Close())
	}, nil
}
