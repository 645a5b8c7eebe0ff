package usbsim

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// placeholder is the content of every file WriteFirmware writes, padded
// to a plausible size: the simulated modules only count and check the
// bytes they are sent, they never run them.
const placeholder = "bmcd simulator placeholder: not Raspberry Pi firmware; the simulated modules never run it.\n"

// WriteFirmware writes into dir a firmware directory laid out like
// usbboot's (msd/, mass-storage-gadget64/ with bootfiles.bin, config.txt
// and boot.img) holding placeholder files, enough for the simulated CM3,
// CM4 and CM5 to boot to mass storage with rpiboot. It ships none of
// Raspberry Pi's binaries: on hardware, point bmcd at usbboot's
// directory instead. Files that already exist are left alone.
func WriteFirmware(dir string) error {
	files := map[string][]byte{
		"msd/bootcode.bin":                 filler(20 << 10),
		"msd/bootcode4.bin":                filler(100 << 10),
		"msd/start.elf":                    filler(64 << 10),
		"msd/start4.elf":                   filler(64 << 10),
		"mass-storage-gadget64/config.txt": []byte("# " + placeholder),
		"mass-storage-gadget64/boot.img":   filler(256 << 10),
	}
	var entries []string
	for _, soc := range []struct {
		dir, bootcode string
		memsys        int
	}{{"2711", "bootcode4.bin", 9}, {"2712", "bootcode5.bin", 4}} {
		entries = append(entries, soc.dir+"/"+soc.bootcode, soc.dir+"/bootmain", soc.dir+"/mcb.bin")
		for i := range soc.memsys {
			entries = append(entries, fmt.Sprintf("%s/memsys%02d.bin", soc.dir, i))
		}
	}
	archive, err := tarOf(entries)
	if err != nil {
		return fmt.Errorf("usbsim: firmware in %s: %w", dir, err)
	}
	files["mass-storage-gadget64/bootfiles.bin"] = archive
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if _, err := os.Stat(p); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("usbsim: firmware: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("usbsim: firmware: %w", err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("usbsim: firmware: %w", err)
		}
	}
	return nil
}

// filler is n bytes of repeated placeholder text.
func filler(n int) []byte {
	return []byte(strings.Repeat(placeholder, n/len(placeholder)+1)[:n])
}

// tarOf is a ustar archive of placeholder files named names.
func tarOf(names []string) ([]byte, error) {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, name := range names {
		data := filler(8 << 10)
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg,
			ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR}
		if err := w.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
