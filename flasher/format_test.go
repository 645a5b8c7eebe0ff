package flasher

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
		want Format
	}{
		{"empty", nil, Raw},
		{"zeros", make([]byte, 512), Raw},
		{"mbr", append([]byte{0xfa, 0xeb, 0x00}, make([]byte, 509)...), Raw},
		{"gzip", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, Gzip},
		{"gzip magic, other method", []byte{0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 3}, Raw},
		{"gzip short", []byte{0x1f, 0x8b, 8}, Gzip},
		{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 4, 0xe6, 0xd6}, XZ},
		{"xz magic cut", []byte{0xfd, '7', 'z', 'X', 'Z'}, Raw},
		{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x0d}, Zstd},
		{"zstd skippable frame", []byte{0x5e, 0x2a, 0x4d, 0x18, 4, 0, 0, 0}, Zstd},
		{"bzip2", []byte("BZh91AY&SY\x00"), Bzip2},
		{"bzip2 empty stream", []byte("BZh9\x17\x72\x45\x38\x50\x90\x00\x00\x00\x00"), Bzip2},
		{"bzip2 bad level", []byte("BZh01AY&SY\x00"), Raw},
		{"bzip2 header only", []byte("BZh9"), Raw},
		{"text", []byte("BZh9 is not a bzip2 file"), Raw},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReader(bytes.NewReader(tt.data))
			got, err := Detect(br)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			rest, err := io.ReadAll(br)
			require.NoError(t, err)
			assert.Equal(t, len(tt.data), len(rest), "Detect consumed bytes")
		})
	}
}

func TestDetectTestdata(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]Format{
		"hello.gz": Gzip, "hello.xz": XZ, "hello.zst": Zstd, "hello.bz2": Bzip2,
		"sparse.img.gz": Gzip, "sparse.img.bmap": Raw,
	} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", name))
			require.NoError(t, err)
			defer f.Close()
			got, err := Detect(bufio.NewReader(f))
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestDetectReadError(t *testing.T) {
	t.Parallel()
	_, err := Detect(bufio.NewReader(&failingReader{err: io.ErrClosedPipe}))
	require.ErrorIs(t, err, io.ErrClosedPipe)
}

func TestFormatString(t *testing.T) {
	t.Parallel()
	for f, s := range map[Format]string{Raw: "raw", Gzip: "gzip", XZ: "xz", Zstd: "zstd", Bzip2: "bzip2", 9: "Format(9)"} {
		assert.Equal(t, s, f.String())
	}
	for p, s := range map[Phase]string{PhaseOpen: "open", PhaseUpload: "upload", PhaseDownload: "download", PhaseWrite: "write", PhaseSync: "sync", PhaseVerify: "verify", PhaseDone: "done", 9: "unknown"} {
		assert.Equal(t, s, p.String())
	}
}

func FuzzDetect(f *testing.F) {
	files, err := filepath.Glob("testdata/*")
	require.NoError(f, err)
	for _, name := range files {
		if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() {
			data, err := os.ReadFile(name)
			require.NoError(f, err)
			f.Add(data[:min(len(data), 64)])
		}
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte("seed"))
	zw.Close()
	f.Add(b.Bytes())
	f.Add([]byte("BZh91AY&SY"))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		got, err := Detect(br)
		if err != nil {
			t.Fatalf("Detect on memory: %v", err)
		}
		// Peeking only: every byte is still there.
		rest, _ := io.ReadAll(br)
		if !bytes.Equal(rest, data) {
			t.Fatalf("Detect consumed input")
		}
		// Agrees with the magic numbers.
		switch got {
		case Gzip:
			if !bytes.HasPrefix(data, []byte{0x1f, 0x8b, 8}) {
				t.Fatalf("gzip without its magic: %x", data[:min(len(data), 10)])
			}
		case XZ:
			if !bytes.HasPrefix(data, []byte(xzMagic)) {
				t.Fatalf("xz without its magic")
			}
		case Zstd:
			if len(data) < 4 || !bytes.HasPrefix(data, []byte(zstdMagic)) && data[1] != 0x2a {
				t.Fatalf("zstd without its magic")
			}
		case Bzip2:
			if !bytes.HasPrefix(data, []byte("BZh")) {
				t.Fatalf("bzip2 without its magic")
			}
		case Raw:
			if bytes.HasPrefix(data, []byte(xzMagic)) || bytes.HasPrefix(data, []byte(zstdMagic)) || bytes.HasPrefix(data, []byte{0x1f, 0x8b, 8}) {
				t.Fatalf("magic not recognised: %x", data[:min(len(data), 10)])
			}
		default:
			t.Fatalf("unknown format %v", got)
		}
		// Whatever the format, flashing it never panics and fails only
		// with a classified error.
		if len(data) > 4096 {
			return
		}
		dst := &memTarget{buf: make([]byte, 64<<10)}
		_, err = Flash(t.Context(), ReaderSource{R: bytes.NewReader(data)}, dst,
			Options{XZ: XZInternal, BufferSize: 8192, Buffers: 2})
		if err != nil && !errorsIsAny(err, ErrCorrupt, ErrTruncated, ErrTooLarge, ErrMemoryLimit) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}

// memTarget is a Target in memory.
type memTarget struct{ buf []byte }

func (m *memTarget) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > int64(len(m.buf)) {
		return 0, ErrTooLarge
	}
	return copy(m.buf[off:], p), nil
}

func (m *memTarget) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.buf)) {
		return 0, io.EOF
	}
	n := copy(p, m.buf[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memTarget) Size() int64  { return int64(len(m.buf)) }
func (m *memTarget) Sync() error  { return nil }
func (m *memTarget) Close() error { return nil }

func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
