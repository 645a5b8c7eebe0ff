//go:build !unix

package main

import (
	"fmt"
	"os"
)

// lockStateDir creates the state dir if needed. Without flock(2) there
// is no lock: one bmcd per state dir is up to the user.
func lockStateDir(dir string) (unlock func() error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	return func() error { return nil }, nil
}
