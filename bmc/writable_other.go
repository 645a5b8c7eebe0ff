//go:build !linux

package bmc

import (
	"fmt"
	"os"
)

// checkWritable says what would stop a write of the state file in dir
// now. Off Linux it only checks that the directory is there; bmcd runs
// on Linux, this keeps the package building elsewhere.
func checkWritable(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("state dir %s: %w", dir, err)
	}
	return nil
}
