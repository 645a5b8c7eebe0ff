//go:build !linux

package bmc

import (
	"fmt"
	"os"
)

// diskSpace is the free and total bytes of the file system holding dir;
// off Linux only whether dir exists is known.
func diskSpace(dir string) (free, total uint64, err error) {
	if _, err := os.Stat(dir); err != nil {
		return 0, 0, err
	}
	return 0, 0, fmt.Errorf("%s: free space not measured on this system", dir)
}
