package flasher_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/turingpi-oss/bmcd/flasher"
)

// Flash a gzip-compressed image streamed from a reader onto the file
// that stands in for a simulated compute module's eMMC.
func ExampleFlash() {
	dir, _ := os.MkdirTemp("", "flasher-example-")
	defer os.RemoveAll(dir)
	emmc := filepath.Join(dir, "emmc.img")
	_ = os.WriteFile(emmc, make([]byte, 8<<20), 0o644) // an 8 MiB eMMC

	var image bytes.Buffer
	zw := gzip.NewWriter(&image)
	_, _ = zw.Write(bytes.Repeat([]byte("turing pi "), 100_000)) // 1 MB image
	_ = zw.Close()

	dst, err := flasher.OpenTarget(emmc)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dst.Close()
	res, err := flasher.Flash(context.Background(), flasher.ReaderSource{R: &image, Name: "upload"}, dst, flasher.Options{
		Progress: func(p flasher.Progress) { /* publish p to the job's watchers */ },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Format, res.ImageSize, res.BytesWritten, res.Verified)
	// Output: gzip 1000000 1000000 true
}
