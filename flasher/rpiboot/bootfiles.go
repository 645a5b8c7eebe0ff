package rpiboot

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"
)

// bootfilesName is the archive of per-SoC boot files that usbboot's
// firmware and mass-storage-gadget64 directories carry (reference §4.3).
const bootfilesName = "bootfiles.bin"

// findInArchive finds the regular file name in the tar archive r of size
// bytes and returns where its data lies. bootfiles.bin is a plain ustar
// archive with entries "<soc>/<name>", matched without regard to case
// (usbboot bootfiles.c compares with strcasecmp); a leading "./" is
// ignored. It fails with ErrNotFound if there is no such entry and with
// ErrBadArchive if r is not a tar archive or an entry runs past its end.
func findInArchive(r io.ReaderAt, size int64, name string) (off, n int64, err error) {
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return 0, 0, fmt.Errorf("%s: no entry %s: %w", bootfilesName, name, ErrNotFound)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w: %w", bootfilesName, ErrBadArchive, err)
		}
		if hdr.Typeflag != tar.TypeReg || !strings.EqualFold(strings.TrimPrefix(hdr.Name, "./"), name) {
			continue
		}
		// The reader stops right after an entry's header, where its data
		// begins.
		pos, err := sr.Seek(0, io.SeekCurrent)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w: %w", bootfilesName, ErrBadArchive, err)
		}
		if hdr.Size < 0 || hdr.Size > size-pos {
			return 0, 0, fmt.Errorf("%s: entry %s of %d bytes runs past the end: %w", bootfilesName, hdr.Name, hdr.Size, ErrBadArchive)
		}
		return pos, hdr.Size, nil
	}
}
