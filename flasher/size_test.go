package flasher

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestXZImageSize(t *testing.T) {
	t.Parallel()
	xz := requireTool(t, "xz")
	img := makeImage(3<<20+17, 20)
	run := func(args ...string) []byte {
		out, err := exec_(xz, append(anys(args), img)...)
		require.NoError(t, err)
		return out
	}
	single := run("-c", "-1")
	blocks := run("-c", "-1", "--block-size=1MiB")
	tests := []struct {
		name string
		data []byte
		want int64
	}{
		{"single block", single, int64(len(img))},
		{"several blocks", blocks, int64(len(img))},
		{"two streams", append(bytes.Clone(single), blocks...), 2 * int64(len(img))},
		{"stream padding", append(append(bytes.Clone(single), 0, 0, 0, 0, 0, 0, 0, 0), blocks...), 2 * int64(len(img))},
		{"trailing padding", append(bytes.Clone(single), 0, 0, 0, 0), int64(len(img))},
		{"truncated", single[:len(single)-1], -1},
		{"bad footer crc", func() []byte { b := bytes.Clone(single); b[len(b)-12] ^= 1; return b }(), -1},
		{"garbage", []byte("not an xz file at all"), -1},
		{"zeros", make([]byte, 64), -1},
		{"empty", nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, xzImageSize(bytes.NewReader(tt.data), int64(len(tt.data))))
		})
	}
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestXZDictSize(t *testing.T) {
	t.Parallel()
	xz := requireTool(t, "xz")
	img := []byte("dictionary")
	for preset, want := range map[string]int64{"-0": 256 << 10, "-1": 1 << 20, "-6": 8 << 20, "-9": 64 << 20, "--lzma2=dict=3MiB": 3 << 20} {
		t.Run(preset, func(t *testing.T) {
			out, err := exec_(xz, "-c", preset, img)
			require.NoError(t, err)
			assert.Equal(t, want, xzDictSize(out))
		})
	}
	assert.Equal(t, int64(-1), xzDictSize([]byte("short")))
}

func TestZstdContentSize(t *testing.T) {
	t.Parallel()
	zstd := requireTool(t, "zstd")
	for _, n := range []int{1, 200, 300, 70_000, 5 << 20} {
		out := zstdFile(t, makeImage(n, uint64(n)))
		assert.Equal(t, int64(n), zstdContentSize(out), "size %d", n)
	}
	out, err := exec_(zstd, "-q", "-c", "--no-content-size", "-", []byte("x"))
	require.NoError(t, err)
	assert.Equal(t, int64(-1), zstdContentSize(out))
	assert.Equal(t, int64(-1), zstdContentSize([]byte{0x28, 0xb5, 0x2f, 0xfd}))
}

// zstdFile compresses img from a file, so that the frame header records
// the content size.
func zstdFile(t testing.TB, img []byte) []byte {
	t.Helper()
	out, err := exec_(requireTool(t, "zstd"), "-q", "-c", writeFile(t, "img", img))
	require.NoError(t, err)
	return out
}
