package flasher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logBuffer is a slog handler's output, safe for the flash's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// multiBlockXZ compresses img into 256 KiB blocks, which xz-utils 5.4
// decodes in threads (-T0).
func multiBlockXZ(t *testing.T, img []byte) []byte {
	t.Helper()
	cmd := exec.Command(requireTool(t, "xz"), "-c", "-1", "-T2", "--block-size=256KiB")
	cmd.Stdin = bytes.NewReader(img)
	out, err := cmd.Output()
	require.NoError(t, err)
	return out
}

// TestXZFileDirect: a local xz file is xz's stdin itself (bmcd copies
// none of its bytes), is written and verified, and its progress and
// BytesIn still count the whole file.
func TestXZFileDirect(t *testing.T) {
	t.Parallel()
	img := makeImage(imageSize, 21)
	for _, tc := range []struct {
		name   string
		data   []byte
		direct bool
		opts   Options
	}{
		{name: "one block", data: compress(t, XZ, img), direct: true},
		{name: "many blocks", data: multiBlockXZ(t, img), direct: true},
		// An expected digest needs the bytes: they go through bmcd.
		{name: "with sha256", data: compress(t, XZ, img), direct: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var log logBuffer
			opts := tc.opts
			opts.XZ = XZExternal
			opts.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
			if !tc.direct {
				sum := sha256.Sum256(tc.data)
				opts.SHA256 = sum[:]
			}
			var mu sync.Mutex
			var lastIn int64
			opts.Progress = func(p Progress) {
				mu.Lock()
				lastIn = max(lastIn, p.BytesIn)
				mu.Unlock()
			}
			path := newTargetFile(t, imageSize+1<<20, 0xAA)
			res, err := flashTo(t, t.Context(), FileSource{Path: writeFile(t, "img.xz", tc.data)}, path, opts)
			require.NoError(t, err)
			assert.True(t, res.Verified)
			assert.Equal(t, int64(len(tc.data)), res.BytesIn, "BytesIn is the whole file")
			mu.Lock()
			assert.Equal(t, int64(len(tc.data)), lastIn, "progress reaches the file's end")
			mu.Unlock()
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			require.True(t, bytes.Equal(img, got[:imageSize]), "image differs")
			assert.Equal(t, bytes.Repeat([]byte{0xAA}, 1<<20), got[imageSize:], "past the image")
			assert.Contains(t, log.String(), "direct="+map[bool]string{true: "true", false: "false"}[tc.direct], log.String())
		})
	}
}

// TestXZFileDirectBad: a damaged local xz file fed to xz directly fails
// with the same errors as a streamed one, names the cause, and leaves no
// process or goroutine behind (the package's goleak check).
func TestXZFileDirectBad(t *testing.T) {
	t.Parallel()
	img := makeImage(1<<20, 22)
	data := compress(t, XZ, img)
	flip := func(at int) []byte {
		b := bytes.Clone(data)
		b[at] ^= 0x55
		return b
	}
	tests := []struct {
		name string
		data []byte
		want error
		says string
	}{
		{"truncated", data[:len(data)/2], ErrTruncated, "Unexpected end of input"},
		{"corrupt middle", flip(len(data) / 2), ErrCorrupt, "xz: "},
		{"trailing garbage", append(bytes.Clone(data), bytes.Repeat([]byte("garbage!"), 8)...), ErrCorrupt, "xz: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := newTargetFile(t, 2<<20, 0xAA)
			_, err := flashTo(t, context.Background(), FileSource{Path: writeFile(t, "img.xz", tt.data)}, path, Options{XZ: XZExternal})
			require.ErrorIs(t, err, tt.want)
			assert.True(t, strings.Contains(err.Error(), tt.says), "error %q says %q", err, tt.says)
		})
	}
}
