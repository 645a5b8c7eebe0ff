package firstboot_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/turingpi-oss/bmcd/flasher/firstboot"
	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
	"github.com/turingpi-oss/bmcd/flasher/firstboot/ptable"
)

// TestApplyBadInput: each bad input is refused with its cause and the
// image is left byte for byte as it was.
func TestApplyBadInput(t *testing.T) {
	t.Parallel()
	small := fbt.Layout{DiskMiB: 24, StartMiB: 1, SizeMiB: 16, FATBits: 16, Label: "bootfs", Files: map[string]string{
		"config.txt": "x\n", "cmdline.txt": piCmdline, "issue.txt": "Raspberry Pi reference\n"}}
	for _, tc := range []struct {
		name   string
		layout fbt.Layout
		damage func(t *testing.T, img string) // run on the built image
		seed   func(s *firstboot.Seed)
		want   error
		says   string // the error must name this
	}{
		{name: "boot partition full", layout: small, damage: fill(small), want: firstboot.ErrNoSpace, says: "KiB free"},
		{name: "corrupt FAT (copies differ)", layout: small, damage: patchFAT(1 * fbt.MiB), want: firstboot.ErrCorruptFAT, says: "FAT copies differ"},
		{name: "corrupt FAT (cluster size 3)", layout: small, damage: patch(1*fbt.MiB+13, 3), want: firstboot.ErrCorruptFAT, says: "sectors per cluster"},
		{name: "table past the disk", layout: small, damage: truncate(12 * fbt.MiB), want: ptable.ErrPastDisk},
		{name: "no FAT partition", layout: fbt.Layout{DiskMiB: 24, StartMiB: 1, SizeMiB: 16, NoMkfs: true}, want: firstboot.ErrNoFAT},
		{name: "unrecognised OS", layout: fbt.Layout{DiskMiB: 24, StartMiB: 1, SizeMiB: 16, FATBits: 16, Label: "MYDATA", Files: map[string]string{"notes.txt": "x"}},
			want: firstboot.ErrUnknownOS, says: `labelled "MYDATA" and holds notes.txt`},
		{name: "key is not a public key", layout: small, seed: func(s *firstboot.Seed) { s.AuthorizedKeys = []string{"-----BEGIN OPENSSH PRIVATE KEY-----"} },
			want: firstboot.ErrInvalidSeed, says: "not an OpenSSH public key"},
		{name: "hostname not a DNS label", layout: small, seed: func(s *firstboot.Seed) { s.Hostname = "node_2.local" },
			want: firstboot.ErrInvalidSeed, says: "not a DNS label"},
		{name: "dietpi with another user", layout: dietpi, seed: func(s *firstboot.Seed) { s.User = "pi" },
			want: firstboot.ErrInvalidSeed, says: "root and dietpi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img := fbt.Build(t, tc.layout)
			if tc.damage != nil {
				tc.damage(t, img)
			}
			before, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			s := testSeed(t)
			if tc.seed != nil {
				tc.seed(&s)
			}
			_, err = applyFile(t, img, s)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), img) {
				t.Fatalf("err = %v, want %v naming %q", err, tc.want, tc.says)
			}
			after, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Fatal("the image changed")
			}
		})
	}
}

// fill leaves the partition with less free space than a seed needs.
func fill(l fbt.Layout) func(t *testing.T, img string) {
	return func(t *testing.T, img string) {
		t.Helper()
		mcopy := fbt.RequireTool(t, "mcopy", "mtools")
		free := l.FreeBytes(t, img)
		big := filepath.Join(t.TempDir(), "big.bin")
		// One KiB short of full: less than the two clusters any seed needs.
		if err := os.WriteFile(big, bytes.Repeat([]byte{1}, int(free)-1024), 0o644); err != nil {
			t.Fatal(err)
		}
		fbt.Run(t, "", mcopy, "-i", img+"@@1M", big, "::big.bin")
	}
}

// patchFAT changes one byte of the first FAT of the partition at off.
func patchFAT(off int64) func(t *testing.T, img string) {
	return func(t *testing.T, img string) {
		t.Helper()
		b, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		reserved := int64(b[off+14]) | int64(b[off+15])<<8
		patch(off+reserved*512+100, 0x5A)(t, img)
	}
}

func patch(off int64, b byte) func(t *testing.T, img string) {
	return func(t *testing.T, img string) {
		t.Helper()
		f, err := os.OpenFile(img, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte{b}, off); err != nil {
			t.Fatal(err)
		}
	}
}

func truncate(size int64) func(t *testing.T, img string) {
	return func(t *testing.T, img string) {
		t.Helper()
		if err := os.Truncate(img, size); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDetectFromPrefix: detection on the stream's first MiBs gives the
// answer it gives on the whole disk, and a prefix too short says so.
func TestDetectFromPrefix(t *testing.T) {
	t.Parallel()
	img := fbt.Build(t, bookworm)
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := firstboot.Detect(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	pre, err := firstboot.Detect(firstboot.PrefixReader(b[:32*fbt.MiB]), 0)
	if err != nil {
		t.Fatal(err)
	}
	if whole.Family != firstboot.RaspiosBookworm || pre.Family != whole.Family || pre.Label != "bootfs" || pre.FAT != "FAT32" {
		t.Fatalf("whole %+v, prefix %+v", whole, pre)
	}
	if _, err := firstboot.Detect(firstboot.PrefixReader(b[:2*fbt.MiB]), 0); !errors.Is(err, firstboot.ErrBeyondPrefix) {
		t.Fatalf("2 MiB prefix: err = %v, want ErrBeyondPrefix", err)
	}
}
