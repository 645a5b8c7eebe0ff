//go:build linux

package bmc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// checkWritable says what would stop a write of the state file in dir
// now: the directory gone, or its file system read-only or full. It
// writes nothing (on a board's SD card a write costs milliseconds), so a
// power request can afford it.
func checkWritable(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("state dir %s: %w", dir, err)
	}
	switch {
	case st.Flags&unix.ST_RDONLY != 0:
		return fmt.Errorf("state dir %s: read-only file system", dir)
	case st.Bavail == 0 || st.Ffree == 0:
		return fmt.Errorf("state dir %s: no space left on the file system", dir)
	}
	return nil
}
