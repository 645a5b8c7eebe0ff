package flasher

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/turingpi-oss/bmcd/flasher/bmap"
	"github.com/turingpi-oss/bmcd/flasher/bmap/bmaptest"
)

// loopDevice attaches a loop device to a new backing file of size bytes
// filled with fill, and detaches it at cleanup. It returns the device
// and the backing file.
func loopDevice(t *testing.T, size int, fill byte, sectorSize int) (dev, backing string) {
	t.Helper()
	requireLoop(t)
	size = (size + 4095) &^ 4095 // whole sectors
	backing = newTargetFile(t, size, fill)
	args := []string{"--find", "--show"}
	if sectorSize != 0 {
		args = append(args, "--sector-size", strconv.Itoa(sectorSize))
	}
	cmd := exec.Command("losetup", append(args, backing)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "losetup: %s", stderr.String())
	dev = strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "--detach", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup --detach %s: %v: %s", dev, err, out)
		}
	})
	return dev, backing
}

func TestLoopTarget(t *testing.T) {
	for _, sector := range []int{512, 4096} {
		t.Run("sector="+strconv.Itoa(sector), func(t *testing.T) {
			dev, _ := loopDevice(t, 8<<20, 0x55, sector)
			dst, err := OpenTarget(dev)
			require.NoError(t, err)
			defer dst.Close()
			ft := dst.(*fileTarget)
			assert.True(t, ft.block)
			assert.NotNil(t, ft.d, "O_DIRECT")
			assert.Equal(t, int64(sector), ft.align)
			assert.Equal(t, int64(8<<20), dst.Size())

			// Flash's buffers are aligned for O_DIRECT.
			buf, err := allocBuffer(1 << 20)
			require.NoError(t, err)
			defer freeBuffer(buf)
			assert.True(t, ft.aligned(buf, 4096))
			assert.False(t, ft.aligned(buf[:1000], 4096))
			assert.False(t, ft.aligned(buf[1:4097], 4096))

			// Unaligned reads go through the bounce buffer.
			p := make([]byte, 1000)
			n, err := dst.ReadAt(p, 777)
			require.NoError(t, err)
			assert.Equal(t, 1000, n)
			assert.Equal(t, bytes.Repeat([]byte{0x55}, 1000), p)
			// Past the end: ErrTooLarge, nothing written.
			_, err = dst.WriteAt(make([]byte, 4096), 8<<20-2048)
			require.ErrorIs(t, err, ErrTooLarge)
		})
	}
}

// TestLoopFlash writes and verifies images on real loop block devices,
// with O_DIRECT, an unaligned tail, and bmap holes left alone.
func TestLoopFlash(t *testing.T) {
	img := makeImage(imageSize, 30)
	m, err := bmap.Parse(bmaptest.Create(img, 4096))
	require.NoError(t, err)
	tests := []struct {
		name   string
		format Format
		bmap   *bmap.Map
		sector int
	}{
		{"raw", Raw, nil, 512},
		{"raw-4k-sectors", Raw, nil, 4096},
		{"zstd", Zstd, nil, 512},
		{"xz-bmap", XZ, m, 512},
		{"raw-bmap-4k-sectors", Raw, m, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev, backing := loopDevice(t, imageSize+1<<20, 0xAA, tt.sector)
			data := compress(t, tt.format, img)
			sum := sha256.Sum256(data)
			src := FileSource{Path: writeFile(t, "img", data)}
			res, err := flashTo(t, t.Context(), src, dev, Options{Bmap: tt.bmap, SHA256: sum[:]})
			require.NoError(t, err)
			assert.True(t, res.Verified)
			got, err := os.ReadFile(backing)
			require.NoError(t, err)
			if tt.bmap == nil {
				require.True(t, bytes.Equal(img, got[:len(img)]), "image differs")
				assert.Equal(t, len(got)-len(img), bytes.Count(got[len(img):], []byte{0xAA}), "past the image")
			} else {
				checkHoles(t, backing, img, tt.bmap, 0xAA)
			}
		})
	}
}

func TestLoopTooLarge(t *testing.T) {
	dev, backing := loopDevice(t, 1<<20, 0xAA, 0)
	img := makeImage(2<<20, 31)
	_, err := flashTo(t, t.Context(), ReaderSource{R: bytes.NewReader(compress(t, Gzip, img))}, dev, Options{BufferSize: 256 << 10})
	require.ErrorIs(t, err, ErrTooLarge)
	got, err := os.ReadFile(backing)
	require.NoError(t, err)
	require.Len(t, got, 1<<20)
}

// TestNoDirectTarget: where a regular file cannot be opened with
// O_DIRECT (tmpfs before Linux 6.6), Sync drops its cached pages instead
// and the flash still verifies.
func TestNoDirectTarget(t *testing.T) {
	for _, dir := range []string{"/dev/shm", t.TempDir()} {
		t.Run(dir, func(t *testing.T) {
			var st unix.Statfs_t
			if err := unix.Statfs(dir, &st); err != nil {
				t.Skipf("%s: %v", dir, err)
			}
			f, err := os.CreateTemp(dir, "flasher-test-")
			require.NoError(t, err)
			t.Cleanup(func() { os.Remove(f.Name()) })
			require.NoError(t, f.Truncate(2<<20))
			require.NoError(t, f.Close())
			dst, err := OpenTarget(f.Name())
			require.NoError(t, err)
			defer dst.Close()
			ft := dst.(*fileTarget)
			t.Logf("file system %#x: O_DIRECT %v", st.Type, ft.d != nil)
			if ft.d != nil {
				require.NoError(t, ft.d.Close())
				ft.d = nil
			}
			img := makeImage(1<<20+3, 32)
			res, err := Flash(t.Context(), ReaderSource{R: bytes.NewReader(img)}, dst, Options{})
			require.NoError(t, err)
			assert.True(t, res.Verified)
			_, err = Flash(t.Context(), ReaderSource{R: bytes.NewReader(img)}, &corruptingTarget{dst, 1000}, Options{})
			require.ErrorIs(t, err, ErrVerify)
		})
	}
}
