package ptable_test

import (
	"errors"
	"os"
	"testing"

	"github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
	"github.com/turingpi-oss/bmcd/flasher/firstboot/ptable"
)

func readImage(t *testing.T, img string, size int64) (ptable.Table, error) {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ptable.Read(f, size)
}

func TestReadSfdiskTables(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		layout firstboottest.Layout
		scheme ptable.Scheme
		typ    string
	}{
		{"mbr", firstboottest.Layout{DiskMiB: 40, StartMiB: 4, SizeMiB: 32, NoMkfs: true}, ptable.SchemeMBR, "0e"},
		{"gpt", firstboottest.Layout{GPT: true, DiskMiB: 40, StartMiB: 16, SizeMiB: 4, PartName: "CIDATA", NoMkfs: true}, ptable.SchemeGPT, "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img := firstboottest.Build(t, tc.layout)
			tab, err := readImage(t, img, tc.layout.DiskMiB*firstboottest.MiB)
			if err != nil {
				t.Fatal(err)
			}
			if tab.Scheme != tc.scheme || len(tab.Partitions) != 2 {
				t.Fatalf("got %+v", tab)
			}
			p := tab.Partitions[0]
			if p.Index != 1 || p.Start != tc.layout.StartMiB*firstboottest.MiB || p.Size != tc.layout.SizeMiB*firstboottest.MiB || p.Type != tc.typ || p.Name != tc.layout.PartName {
				t.Fatalf("partition 1 = %+v", p)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	mbr := firstboottest.Layout{DiskMiB: 40, StartMiB: 4, SizeMiB: 32, NoMkfs: true}
	gpt := firstboottest.Layout{GPT: true, DiskMiB: 40, StartMiB: 16, SizeMiB: 4, NoMkfs: true}
	for _, tc := range []struct {
		name   string
		layout firstboottest.Layout
		size   int64 // disk size handed to Read
		damage func(b []byte)
		want   error
	}{
		{"mbr past the disk", mbr, 20 * firstboottest.MiB, nil, ptable.ErrPastDisk},
		{"gpt past the disk", gpt, 18 * firstboottest.MiB, nil, ptable.ErrPastDisk},
		{"no signature", mbr, 0, func(b []byte) { b[510] = 0 }, ptable.ErrNoTable},
		{"gpt header crc", gpt, 0, func(b []byte) { b[512+40]++ }, ptable.ErrCorrupt},
		{"gpt entry crc", gpt, 0, func(b []byte) { b[1024+32]++ }, ptable.ErrCorrupt},
		{"empty mbr", mbr, 0, func(b []byte) { clear(b[446:510]) }, ptable.ErrNoPartition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img := firstboottest.Build(t, tc.layout)
			if tc.damage != nil {
				b, err := os.ReadFile(img)
				if err != nil {
					t.Fatal(err)
				}
				tc.damage(b)
				if err := os.WriteFile(img, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := readImage(t, img, tc.size)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
