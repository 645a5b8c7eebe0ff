package firstboottest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// MiB is a mebibyte.
const MiB = 1 << 20

// Layout describes a test image: one FAT partition, optionally followed by
// a second (Linux) partition, like the OS images bmcd flashes.
type Layout struct {
	GPT      bool
	DiskMiB  int64
	StartMiB int64
	SizeMiB  int64
	FATBits  int    // 16 or 32
	Cluster  int    // sectors per cluster; 0 lets mkfs.fat choose
	Label    string // volume label
	PartType string // MBR type byte ("c") or GPT type GUID; a FAT type when empty
	PartName string // GPT partition name
	Files    map[string]string
	NoMkfs   bool // leave the partition unformatted
}

// Build writes the image into a temporary file and returns its path.
func Build(t testing.TB, l Layout) string {
	t.Helper()
	sfdisk := RequireTool(t, "sfdisk", "fdisk")
	mkfs := RequireTool(t, "mkfs.fat", "dosfstools")
	mcopy := RequireTool(t, "mcopy", "mtools")
	img := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(l.DiskMiB * MiB); err != nil {
		t.Fatal(err)
	}
	f.Close()
	Run(t, l.sfdiskScript(), sfdisk, "-q", "--no-reread", "--no-tell-kernel", img)
	if l.NoMkfs {
		return img
	}
	args := []string{"-F", strconv.Itoa(l.FATBits), "-n", l.Label, "--offset", strconv.FormatInt(l.StartMiB*MiB/512, 10)}
	if l.Cluster > 0 {
		args = append(args, "-s", strconv.Itoa(l.Cluster))
	}
	args = append(args, img, strconv.FormatInt(l.SizeMiB*MiB/1024, 10))
	Run(t, "", mkfs, args...)
	names := make([]string, 0, len(l.Files))
	for n := range l.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	src := t.TempDir()
	for _, n := range names {
		p := filepath.Join(src, n)
		if err := os.WriteFile(p, []byte(l.Files[n]), 0o644); err != nil {
			t.Fatal(err)
		}
		Run(t, "", mcopy, "-i", l.mtoolsImage(img), p, "::"+n)
	}
	return img
}

func (l Layout) sfdiskScript() string {
	typ := l.PartType
	switch {
	case typ != "":
	case l.GPT:
		typ = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
	case l.FATBits == 32:
		typ = "c"
	default:
		typ = "e"
	}
	s := "label: dos\n"
	if l.GPT {
		s = "label: gpt\n"
	}
	s += fmt.Sprintf("start=%dMiB, size=%dMiB, type=%s", l.StartMiB, l.SizeMiB, typ)
	if l.GPT && l.PartName != "" {
		s += ", name=" + l.PartName
	}
	s += "\n"
	if rest := l.DiskMiB - l.StartMiB - l.SizeMiB - 2; rest > 1 {
		lin := "83"
		if l.GPT {
			lin = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
		}
		s += fmt.Sprintf("start=%dMiB, size=%dMiB, type=%s\n", l.StartMiB+l.SizeMiB, rest, lin)
	}
	return s
}

func (l Layout) mtoolsImage(img string) string {
	return fmt.Sprintf("%s@@%d", img, l.StartMiB*MiB)
}

// Partition copies the FAT partition out of the image into its own file,
// for tools that cannot take an offset (fsck.fat).
func (l Layout) Partition(t testing.TB, img string) string {
	t.Helper()
	in, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	p := filepath.Join(t.TempDir(), "part.img")
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, io.NewSectionReader(in, l.StartMiB*MiB, l.SizeMiB*MiB)); err != nil {
		t.Fatal(err)
	}
	return p
}

// Fsck runs fsck.fat -n on the image's FAT partition and fails the test
// when it reports anything.
func (l Layout) Fsck(t testing.TB, img string) {
	t.Helper()
	fsck := RequireTool(t, "fsck.fat", "dosfstools")
	out, err := RunErr("", fsck, "-n", l.Partition(t, img))
	if err != nil {
		t.Fatalf("fsck.fat -n: %v\n%s", err, out)
	}
}

// ReadFile reads a file from the image's FAT partition with mtype.
func (l Layout) ReadFile(t testing.TB, img, name string) string {
	t.Helper()
	mtype := RequireTool(t, "mtype", "mtools")
	return Run(t, "", mtype, "-i", l.mtoolsImage(img), "::"+name)
}

// HasFile reports whether mdir lists the file.
func (l Layout) HasFile(t testing.TB, img, name string) bool {
	t.Helper()
	mdir := RequireTool(t, "mdir", "mtools")
	_, err := RunErr("", mdir, "-b", "-i", l.mtoolsImage(img), "::"+name)
	return err == nil
}

// FreeBytes is the free space mdir reports on the image's FAT partition.
func (l Layout) FreeBytes(t testing.TB, img string) int64 {
	t.Helper()
	mdir := RequireTool(t, "mdir", "mtools")
	out := Run(t, "", mdir, "-i", l.mtoolsImage(img), "::")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[len(f)-2] == "bytes" && f[len(f)-1] == "free" {
			n, err := strconv.ParseInt(strings.Join(f[:len(f)-2], ""), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	t.Fatalf("mdir printed no free space:\n%s", out)
	return 0
}
