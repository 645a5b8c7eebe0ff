package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
)

// image is one generated test image and its encoded versions.
type image struct {
	raw  string // the image, sparse where it is zero
	size int64
}

// path returns the image's file in the given encoding: "" (raw), "gz",
// "bz2", "xz", "zst" or "bmap".
func (im image) path(ext string) string {
	if ext == "" {
		return im.raw
	}
	return im.raw + "." + ext
}

// genImages writes two images to dir, of mib and 2×mib MiB, the first
// the prefix of the second, in runs of 64 KiB to 1 MiB like a root file
// system's: 35 % zeros (holes, which bmaptool maps out), 45 % text-like
// data, 20 % random bytes. Then it encodes each with the Debian tools.
func genImages(dir string, mib int) ([2]image, error) {
	total := 2 * int64(mib) << 20
	data := make([]byte, total)
	r := rand.New(rand.NewPCG(13, 7))
	words := []string{"kernel", "module", "systemd", "libc.so.6", "/usr/lib", "turing", "pi", "eMMC",
		"\x00\x00\x00\x00", "\x7fELF\x01\x01\x01", "config", "0x0000ffff", "firmware", "\n", "  "}
	for pos := int64(0); pos < total; {
		n := min(int64(16+r.IntN(241))<<12, total-pos)
		run := data[pos : pos+n]
		switch kind := r.IntN(100); {
		case kind < 35:
			// zeros
		case kind < 80:
			for i := 0; i < len(run); {
				i += copy(run[i:], words[r.IntN(len(words))])
			}
		default:
			for i := range run {
				run[i] = byte(r.Uint32())
			}
		}
		pos += n
	}
	var ims [2]image
	for i := range ims {
		size := int64(mib) << 20 << i
		ims[i] = image{raw: filepath.Join(dir, fmt.Sprintf("image-%dMiB.img", size>>20)), size: size}
		if err := writeSparse(ims[i].raw, data[:size]); err != nil {
			return ims, err
		}
		for _, enc := range [][]string{
			{"gz", "gzip", "-6", "-n", "-c"},
			{"bz2", "bzip2", "-9", "-c"},
			{"xz", "xz", "-6", "-T1", "-c"},
			{"zst", "zstd", "-q", "-12", "-c"},
		} {
			if err := encode(ims[i].raw, ims[i].path(enc[0]), enc[1], enc[2:]...); err != nil {
				return ims, err
			}
		}
		cmd := exec.Command("bmaptool", "-q", "create", "-o", ims[i].path("bmap"), ims[i].raw)
		if out, err := cmd.CombinedOutput(); err != nil {
			return ims, fmt.Errorf("bmaptool create: %w\n%s", err, out)
		}
	}
	return ims, nil
}

// writeSparse writes data to path, leaving 4 KiB blocks of zeros as
// holes.
func writeSparse(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(len(data))); err != nil {
		f.Close()
		return err
	}
	const block = 4096
	for off := 0; off < len(data); off += block {
		b := data[off:min(off+block, len(data))]
		if allZero(b) {
			continue
		}
		if _, err := f.WriteAt(b, int64(off)); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// encode writes tool's output for args and src to dst.
func encode(src, dst, tool string, args ...string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(tool, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, &stderr
	if err := cmd.Run(); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w\n%s", tool, err, stderr.Bytes())
	}
	return out.Close()
}
