package ptable_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
	"github.com/turingpi-oss/bmcd/flasher/firstboot/ptable"
)

// FuzzRead feeds arbitrary first sectors and disk sizes to the parser: it must not panic,
// and every partition it returns must lie inside the disk.
func FuzzRead(f *testing.F) {
	for _, l := range []firstboottest.Layout{
		{DiskMiB: 8, StartMiB: 1, SizeMiB: 4, NoMkfs: true},
		{GPT: true, DiskMiB: 8, StartMiB: 1, SizeMiB: 4, PartName: "CIDATA", NoMkfs: true},
	} {
		img := firstboottest.Build(f, l)
		b, err := os.ReadFile(img)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:34*512], l.DiskMiB*firstboottest.MiB)
	}
	f.Fuzz(func(t *testing.T, head []byte, size int64) {
		tab, err := ptable.Read(bytes.NewReader(head), size)
		if err != nil {
			return
		}
		if len(tab.Partitions) == 0 {
			t.Fatal("no error and no partition")
		}
		for _, p := range tab.Partitions {
			if p.Start <= 0 || p.Size <= 0 || (size > 0 && p.Start+p.Size > size) {
				t.Fatalf("partition %+v outside a %d-byte disk", p, size)
			}
		}
	})
}
