package flasher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/turingpi-oss/bmcd/flasher/bmap"
	"github.com/turingpi-oss/bmcd/flasher/bmap/bmaptest"
)

// imageSize is not a multiple of any block size: the tail is unaligned.
const imageSize = 1<<20 + 4096 + 777

// sourceKinds builds the three kinds of sources over the same bytes.
var sourceKinds = []struct {
	name string
	make func(t *testing.T, data []byte) Source
}{
	{"file", func(t *testing.T, data []byte) Source { return FileSource{Path: writeFile(t, "image", data)} }},
	{"reader", func(t *testing.T, data []byte) Source {
		return ReaderSource{R: bytes.NewReader(data), Size: int64(len(data))}
	}},
	{"reader-unknown-size", func(t *testing.T, data []byte) Source {
		return ReaderSource{R: io.MultiReader(bytes.NewReader(data))}
	}},
	{"url", func(t *testing.T, data []byte) Source {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "image", time.Time{}, bytes.NewReader(data))
		}))
		t.Cleanup(srv.Close)
		return URLSource{URL: srv.URL + "/image"}
	}},
	{"url-chunked", func(t *testing.T, data []byte) Source {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for b := data; len(b) > 0; {
				n := min(len(b), 100_000)
				if _, err := w.Write(b[:n]); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				b = b[n:]
			}
		}))
		t.Cleanup(srv.Close)
		return URLSource{URL: srv.URL}
	}},
}

type formatCase struct {
	name   string
	format Format
	// xz chooses the decoder of xz and bzip2 images.
	xz     XZDecoder
	encode func(t *testing.T, img []byte) []byte
	// slow decoders (pure Go xz and bzip2, slower still under -race) are
	// not run with every kind of source.
	slow bool
}

var formatCases = []formatCase{
	{"raw", Raw, XZAuto, func(t *testing.T, img []byte) []byte { return img }, false},
	{"gzip", Gzip, XZAuto, func(t *testing.T, img []byte) []byte { return compress(t, Gzip, img) }, false},
	{"gzip-multistream", Gzip, XZAuto, func(t *testing.T, img []byte) []byte {
		h := len(img) / 3
		return append(compress(t, Gzip, img[:h]), compress(t, Gzip, img[h:])...)
	}, false},
	{"xz-external", XZ, XZExternal, func(t *testing.T, img []byte) []byte { return compress(t, XZ, img) }, false},
	{"xz-internal", XZ, XZInternal, func(t *testing.T, img []byte) []byte { return compress(t, XZ, img) }, true},
	{"xz-concatenated", XZ, XZInternal, func(t *testing.T, img []byte) []byte {
		h := len(img) / 2
		return append(compress(t, XZ, img[:h]), compress(t, XZ, img[h:])...)
	}, true},
	{"zstd", Zstd, XZAuto, func(t *testing.T, img []byte) []byte { return compress(t, Zstd, img) }, false},
	{"zstd-multiframe", Zstd, XZAuto, func(t *testing.T, img []byte) []byte {
		h := len(img) / 2
		return append(compress(t, Zstd, img[:h]), compress(t, Zstd, img[h:])...)
	}, false},
	{"bzip2-external", Bzip2, XZExternal, func(t *testing.T, img []byte) []byte { return compress(t, Bzip2, img) }, false},
	{"bzip2-internal", Bzip2, XZInternal, func(t *testing.T, img []byte) []byte { return compress(t, Bzip2, img) }, true},
}

func TestMain(m *testing.M) {
	// As bmcd does: Options.Background's threads are never the main one.
	runtime.LockOSThread()
	goleak.VerifyTestMain(m)
}

// TestFlashRoundTrip writes every format from every kind of source and
// checks the disk holds the image, the rest untouched.
func TestFlashRoundTrip(t *testing.T) {
	t.Parallel()
	img := makeImage(imageSize, 1)
	for _, fc := range formatCases {
		t.Run(fc.name, func(t *testing.T) {
			t.Parallel()
			data := fc.encode(t, img)
			sum := sha256.Sum256(data)
			for i, sk := range sourceKinds {
				if fc.slow && i%2 == 1 {
					continue
				}
				t.Run(sk.name, func(t *testing.T) {
					path := newTargetFile(t, imageSize+1<<20, 0xAA)
					opts := Options{SHA256: sum[:], XZ: fc.xz, Bzip2: fc.xz, BufferSize: 512 << 10}
					res, err := flashTo(t, t.Context(), sk.make(t, data), path, opts)
					require.NoError(t, err)
					assert.Equal(t, fc.format, res.Format)
					assert.Equal(t, int64(len(data)), res.BytesIn)
					assert.Equal(t, int64(imageSize), res.ImageSize)
					assert.Equal(t, int64(imageSize), res.BytesWritten)
					assert.Equal(t, sum[:], res.SHA256)
					assert.True(t, res.Verified)
					got, err := os.ReadFile(path)
					require.NoError(t, err)
					require.True(t, bytes.Equal(img, got[:imageSize]), "image differs")
					assert.Equal(t, bytes.Repeat([]byte{0xAA}, 1<<20), got[imageSize:], "past the image")
				})
			}
		})
	}
}

// bmapImage is an image with holes (all-zero blocks) and its bmap.
func bmapImage(t *testing.T) ([]byte, []byte, *bmap.Map) {
	img := makeImage(imageSize, 2)
	// Holes every 160 KiB, as well as makeImage's own runs of zeros;
	// data in the last 32 KiB, where the tests cut the image short.
	for off := 96 << 10; off+96<<10 <= len(img); off += 160 << 10 {
		clear(img[off : off+64<<10])
	}
	for i := len(img) - 32<<10; i < len(img); i++ {
		img[i] = byte(i%251 + 1)
	}
	raw := bmaptest.Create(img, 4096)
	m, err := bmap.Parse(raw)
	require.NoError(t, err)
	require.Greater(t, len(m.Ranges), 5)
	require.Less(t, m.MappedSize(), int64(len(img))*3/4, "too few holes")
	return img, raw, m
}

// checkHoles checks the mapped ranges hold the image and the holes still
// hold the target's fill.
func checkHoles(t *testing.T, path string, img []byte, m *bmap.Map, fill byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	isFill := func(b []byte) bool { return bytes.Count(b, []byte{fill}) == len(b) }
	var pos int64
	for i := range m.Ranges {
		off, n := m.Extent(i)
		require.True(t, isFill(got[pos:off]), "hole %d-%d was written", pos, off)
		require.True(t, bytes.Equal(img[off:off+n], got[off:off+n]), "range %s", m.Ranges[i])
		pos = off + n
	}
	require.True(t, isFill(got[pos:]), "bytes after %d were written", pos)
}

func TestFlashBmap(t *testing.T) {
	t.Parallel()
	img, _, m := bmapImage(t)
	for _, fc := range formatCases {
		t.Run(fc.name, func(t *testing.T) {
			t.Parallel()
			data := fc.encode(t, img)
			for i, sk := range sourceKinds[:3] {
				for _, verify := range []bool{true, false} {
					if (!verify || fc.slow) && i > 0 {
						continue
					}
					t.Run(fmt.Sprintf("%s/verify=%v", sk.name, verify), func(t *testing.T) {
						path := newTargetFile(t, imageSize+8192, 0xAA)
						opts := Options{Bmap: m, XZ: fc.xz, Bzip2: fc.xz, SkipVerify: !verify, BufferSize: 512 << 10}
						res, err := flashTo(t, t.Context(), sk.make(t, data), path, opts)
						require.NoError(t, err)
						assert.Equal(t, m.MappedSize(), res.BytesWritten)
						assert.Equal(t, int64(len(data)), res.BytesIn)
						assert.Equal(t, verify, res.Verified)
						checkHoles(t, path, img, m, 0xAA)
					})
				}
			}
		})
	}
}

// TestFlashBmaptool flashes bmaps written by the real bmaptool: the
// committed one and one made now from a sparse file.
func TestFlashBmaptool(t *testing.T) {
	t.Parallel()
	t.Run("testdata", func(t *testing.T) {
		gz, err := os.ReadFile("testdata/sparse.img.gz")
		require.NoError(t, err)
		for _, name := range []string{"sparse.img.bmap", "sparse.img.v1.3.bmap", "sparse.img.v1.0.bmap"} {
			t.Run(name, func(t *testing.T) {
				raw, err := os.ReadFile("testdata/" + name)
				require.NoError(t, err)
				m, err := bmap.Parse(raw)
				require.NoError(t, err)
				path := newTargetFile(t, 2<<20, 0xAA)
				_, err = flashTo(t, t.Context(), ReaderSource{R: bytes.NewReader(gz)}, path, Options{Bmap: m})
				require.NoError(t, err)
				img := decodeAll(t, gz)
				checkHoles(t, path, img, m, 0xAA)
			})
		}
	})
	t.Run("created", func(t *testing.T) {
		bmaptool := requireTool(t, "bmaptool")
		img := makeImage(imageSize, 3)
		// A sparse file: zero runs of whole blocks become holes.
		path := writeFile(t, "sparse.img", nil)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		require.NoError(t, err)
		require.NoError(t, f.Truncate(int64(len(img))))
		for off := 0; off < len(img); off += 4096 {
			blk := img[off:min(off+4096, len(img))]
			if !bytes.Equal(blk, make([]byte, len(blk))) {
				_, err := f.WriteAt(blk, int64(off))
				require.NoError(t, err)
			}
		}
		require.NoError(t, f.Close())
		out, err := exec_(bmaptool, "create", path)
		require.NoError(t, err)
		m, err := bmap.Parse(out)
		require.NoError(t, err)
		for _, fc := range formatCases[:2] {
			t.Run(fc.name, func(t *testing.T) {
				dst := newTargetFile(t, imageSize, 0xAA)
				_, err := flashTo(t, t.Context(), ReaderSource{R: bytes.NewReader(fc.encode(t, img))}, dst, Options{Bmap: m})
				require.NoError(t, err)
				checkHoles(t, dst, img, m, 0xAA)
			})
		}
	})
}

func TestFlashBmapMismatch(t *testing.T) {
	t.Parallel()
	img, _, m := bmapImage(t)
	// Change a byte inside the third range: the image no longer matches.
	off, n := m.Extent(2)
	bad := bytes.Clone(img)
	bad[off+n/2] ^= 0xff
	wantRange := fmt.Sprintf("bmap range %s (offset %d, %d bytes)", m.Ranges[2], off, n)

	tests := []struct {
		name string
		data []byte
		src  int // index in sourceKinds
		gz   bool
		want error
		text string
	}{
		{"range checksum/file", bad, 0, false, ErrChecksum, wantRange},
		{"range checksum/stream", bad, 2, false, ErrChecksum, wantRange},
		{"range checksum/gzip", bad, 1, true, ErrChecksum, wantRange},
		// A known size is checked before anything is written.
		{"shorter/file", img[:len(img)-5000], 0, false, ErrCorrupt, "its bmap says"},
		{"longer/file", append(bytes.Clone(img), 1, 2, 3), 0, false, ErrCorrupt, "its bmap says"},
		{"shorter/stream", img[:len(img)-5000], 2, false, ErrTruncated, "inside bmap range"},
		{"shorter/gzip", img[:len(img)-5000], 1, true, ErrTruncated, "inside bmap range"},
		{"longer/stream", append(bytes.Clone(img), 1, 2, 3), 2, false, ErrCorrupt, "past the bmap's ImageSize"},
		{"longer/gzip", append(bytes.Clone(img), 1, 2, 3), 1, true, ErrCorrupt, "past the bmap's ImageSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if tt.gz {
				data = compress(t, Gzip, data)
			}
			path := newTargetFile(t, imageSize+8192, 0xAA)
			_, err := flashTo(t, t.Context(), sourceKinds[tt.src].make(t, data), path, Options{Bmap: m})
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.text)
		})
	}
}

func decodeAll(t *testing.T, data []byte) []byte {
	t.Helper()
	path := newTargetFile(t, 4<<20, 0)
	res, err := flashTo(t, t.Context(), ReaderSource{R: bytes.NewReader(data)}, path, Options{SkipVerify: true})
	require.NoError(t, err)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	return got[:res.ImageSize]
}

// TestFlashBadInput: corrupt and truncated streams of every format fail
// with the right sentinel, never a silently short image.
func TestFlashBadInput(t *testing.T) {
	t.Parallel()
	img := makeImage(256<<10+333, 4)
	for _, fc := range formatCases {
		if fc.format == Raw {
			continue
		}
		data := fc.encode(t, img)
		flip := func(at int) []byte {
			b := bytes.Clone(data)
			b[at] ^= 0x55
			return b
		}
		tests := []struct {
			name string
			data []byte
			want error
		}{
			{"truncated-early", data[:len(data)*2/5], ErrTruncated}, // inside the first stream of two
			{"truncated-tail", data[:len(data)-3], ErrTruncated},
			{"truncated-header", data[:detectLen], ErrTruncated},
			{"corrupt-middle", flip(len(data) / 2), ErrCorrupt},
			{"corrupt-trailer", flip(len(data) - 2), ErrCorrupt},
			{"trailing-garbage", append(bytes.Clone(data), bytes.Repeat([]byte("garbage!"), 8)...), ErrCorrupt},
		}
		for _, tt := range tests {
			t.Run(fc.name+"/"+tt.name, func(t *testing.T) {
				// Independent files; the parent ends only when they do,
				// so no other test's leak check sees their goroutines.
				t.Parallel()
				path := newTargetFile(t, 2<<20, 0xAA)
				_, err := flashTo(t, t.Context(), ReaderSource{R: bytes.NewReader(tt.data)}, path, Options{XZ: fc.xz, Bzip2: fc.xz})
				require.Error(t, err)
				assert.ErrorIs(t, err, tt.want)
			})
		}
	}
	t.Run("raw/truncated-known-size", func(t *testing.T) {
		path := newTargetFile(t, 2<<20, 0xAA)
		src := ReaderSource{R: bytes.NewReader(img[:len(img)/2]), Size: int64(len(img))}
		_, err := flashTo(t, t.Context(), src, path, Options{})
		require.ErrorIs(t, err, ErrTruncated)
		assert.Contains(t, err.Error(), fmt.Sprintf("ended after %d of %d bytes", len(img)/2, len(img)))
	})
	t.Run("raw/longer-than-announced", func(t *testing.T) {
		path := newTargetFile(t, 2<<20, 0xAA)
		src := ReaderSource{R: bytes.NewReader(img), Size: int64(len(img) - 10)}
		_, err := flashTo(t, t.Context(), src, path, Options{})
		require.ErrorIs(t, err, ErrCorrupt)
	})
	t.Run("empty", func(t *testing.T) {
		path := newTargetFile(t, 2<<20, 0xAA)
		_, err := flashTo(t, t.Context(), ReaderSource{R: bytes.NewReader(nil)}, path, Options{})
		require.ErrorIs(t, err, ErrTruncated)
		assert.Contains(t, err.Error(), "empty")
	})
}

func TestFlashSHA256(t *testing.T) {
	t.Parallel()
	img := makeImage(1<<20, 5)
	data := compress(t, Gzip, img)
	good := sha256.Sum256(data)
	bad := good
	bad[0] ^= 1
	tests := []struct {
		name string
		sum  []byte
		want error
	}{
		{"match", good[:], nil},
		{"mismatch", bad[:], ErrChecksum},
		{"of the image, not the source", func() []byte { s := sha256.Sum256(img); return s[:] }(), ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := newTargetFile(t, 2<<20, 0)
			_, err := flashTo(t, t.Context(), ReaderSource{R: bytes.NewReader(data)}, path, Options{SHA256: tt.sum})
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), fmt.Sprintf("sha256 mismatch: got %x, want %x", good, tt.sum))
		})
	}
}

func TestFlashTooLarge(t *testing.T) {
	t.Parallel()
	img := makeImage(2<<20+100, 6)
	small := 2 << 20 // the disk
	_, rawBmap, _ := func() ([]byte, []byte, *bmap.Map) {
		raw := bmaptest.Create(img, 4096)
		m, err := bmap.Parse(raw)
		require.NoError(t, err)
		return img, raw, m
	}()
	m, err := bmap.Parse(rawBmap)
	require.NoError(t, err)
	tests := []struct {
		name string
		src  func(t *testing.T) Source
		bmap *bmap.Map
		// early: nothing may be written at all.
		early bool
	}{
		{"raw file", func(t *testing.T) Source { return FileSource{Path: writeFile(t, "img", img)} }, nil, true},
		{"raw upload with size", func(t *testing.T) Source { return ReaderSource{R: bytes.NewReader(img), Size: int64(len(img))} }, nil, true},
		{"bmap", func(t *testing.T) Source { return ReaderSource{R: bytes.NewReader(img)} }, m, true},
		{"xz file (index)", func(t *testing.T) Source { return FileSource{Path: writeFile(t, "img.xz", compress(t, XZ, img))} }, nil, true},
		{"zstd (frame header)", func(t *testing.T) Source { return ReaderSource{R: bytes.NewReader(zstdFile(t, img))} }, nil, true},
		{"zstd stream", func(t *testing.T) Source { return ReaderSource{R: bytes.NewReader(compress(t, Zstd, img))} }, nil, false},
		{"raw stream", func(t *testing.T) Source { return ReaderSource{R: io.MultiReader(bytes.NewReader(img))} }, nil, false},
		{"gzip stream", func(t *testing.T) Source { return ReaderSource{R: bytes.NewReader(compress(t, Gzip, img))} }, nil, false},
		{"xz stream", func(t *testing.T) Source { return ReaderSource{R: bytes.NewReader(compress(t, XZ, img))} }, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := newTargetFile(t, small, 0xAA)
			res, err := flashTo(t, t.Context(), tt.src(t), path, Options{Bmap: tt.bmap, BufferSize: 256 << 10})
			require.ErrorIs(t, err, ErrTooLarge)
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Len(t, got, small, "the file grew")
			if tt.early {
				assert.True(t, bytes.Equal(got, bytes.Repeat([]byte{0xAA}, small)), "something was written")
			} else {
				assert.Positive(t, res.BytesWritten)
				assert.LessOrEqual(t, res.BytesWritten, int64(small))
				assert.True(t, bytes.Equal(got[:res.BytesWritten], img[:res.BytesWritten]))
			}
		})
	}
	t.Run("exactly the disk size", func(t *testing.T) {
		path := newTargetFile(t, len(img), 0xAA)
		_, err := flashTo(t, t.Context(), ReaderSource{R: bytes.NewReader(compress(t, Gzip, img))}, path, Options{})
		require.NoError(t, err)
	})
}

// slowReader hands out data in small pieces, then blocks until closed.
type slowReader struct {
	data   []byte
	piece  int
	closed chan struct{}
	once   sync.Once
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		<-s.closed
		return 0, errors.New("closed")
	}
	n := copy(p[:min(len(p), s.piece)], s.data)
	s.data = s.data[n:]
	return n, nil
}

func (s *slowReader) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

func TestFlashCancel(t *testing.T) {
	img := makeImage(4<<20, 7)
	for _, fc := range []formatCase{formatCases[0], formatCases[1], formatCases[3], formatCases[6]} {
		t.Run(fc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			data := fc.encode(t, img)
			// Half the image arrives, then the source stalls.
			src := &slowReader{data: data[:len(data)/2], piece: 256 << 10, closed: make(chan struct{})}
			ctx, cancel := context.WithCancel(t.Context())
			path := newTargetFile(t, 16<<20, 0)
			opts := Options{XZ: fc.xz, Bzip2: fc.xz, Progress: func(p Progress) {
				if p.BytesIn >= int64(len(data)/2) {
					cancel()
				}
			}}
			start := time.Now()
			_, err := flashTo(t, ctx, ReaderSource{R: src}, path, opts)
			require.ErrorIs(t, err, context.Canceled)
			assert.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

func TestFlashCancelDuringWrite(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	img := makeImage(4<<20, 8)
	path := newTargetFile(t, 4<<20, 0)
	dst, err := OpenTarget(path)
	require.NoError(t, err)
	defer dst.Close()
	ctx, cancel := context.WithCancel(t.Context())
	tgt := &cancellingTarget{Target: dst, at: 2, cancel: cancel}
	res, err := Flash(ctx, ReaderSource{R: bytes.NewReader(img)}, tgt, Options{BufferSize: 256 << 10})
	require.ErrorIs(t, err, context.Canceled)
	// The writer checks the context before each write: nothing is
	// written once the flash is cancelled.
	assert.Equal(t, int32(2), tgt.writes.Load(), "writes")
	assert.Less(t, res.BytesWritten, int64(len(img)))
}

// cancellingTarget cancels the flash from inside its write number at
// and counts every write.
type cancellingTarget struct {
	Target
	at     int32
	cancel context.CancelFunc
	writes atomic.Int32
}

func (c *cancellingTarget) WriteAt(p []byte, off int64) (int, error) {
	if c.writes.Add(1) == c.at {
		c.cancel()
	}
	return c.Target.WriteAt(p, off)
}

// slowTarget delays every write.
type slowTarget struct {
	Target
	delay time.Duration
}

func (s *slowTarget) WriteAt(p []byte, off int64) (int, error) {
	time.Sleep(s.delay)
	return s.Target.WriteAt(p, off)
}

// failingReader returns data, then an error, as a client vanishing in
// the middle of an upload does.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestFlashSourceFails(t *testing.T) {
	img := makeImage(1<<20, 9)
	gone := errors.New("connection reset by peer")
	for _, fc := range formatCases {
		t.Run(fc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			data := fc.encode(t, img)
			path := newTargetFile(t, 4<<20, 0)
			src := ReaderSource{R: &failingReader{data: data[:len(data)/2], err: gone}, Name: "upload"}
			_, err := flashTo(t, t.Context(), src, path, Options{XZ: fc.xz, Bzip2: fc.xz})
			require.ErrorIs(t, err, gone)
			assert.Contains(t, err.Error(), "read source: connection reset by peer")
			assert.NotErrorIs(t, err, ErrCorrupt)
		})
	}
}

func TestURLSourceErrors(t *testing.T) {
	t.Parallel()
	img := makeImage(1<<20, 10)
	mux := http.NewServeMux()
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(img)))
		_, _ = w.Write(img[:len(img)/2])
	})
	mux.HandleFunc("/stall", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(img[:1000])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tests := []struct {
		name string
		src  URLSource
		want error
		text string
	}{
		{"404", URLSource{URL: srv.URL + "/missing"}, nil, "server answered 404 Not Found"},
		{"short body", URLSource{URL: srv.URL + "/short"}, ErrTruncated, "unexpected EOF"},
		{"stalled", URLSource{URL: srv.URL + "/stall", IdleTimeout: 200 * time.Millisecond}, ErrIdle, "no data for 200ms"},
		{"bad URL", URLSource{URL: "http://[::1"}, nil, "download"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := newTargetFile(t, 2<<20, 0)
			_, err := flashTo(t, t.Context(), tt.src, path, Options{})
			require.Error(t, err)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			assert.Contains(t, err.Error(), tt.text)
		})
	}
	t.Run("status error", func(t *testing.T) {
		_, _, err := URLSource{URL: srv.URL + "/missing"}.Open(t.Context())
		var se *StatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, http.StatusNotFound, se.StatusCode)
	})
}

// corruptingTarget flips a byte of what is read back at one offset.
type corruptingTarget struct {
	Target
	at int64
}

func (c *corruptingTarget) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.Target.ReadAt(p, off)
	if c.at >= off && c.at < off+int64(n) {
		p[c.at-off] ^= 1
	}
	return n, err
}

func TestFlashVerifyMismatch(t *testing.T) {
	t.Parallel()
	img, _, m := bmapImage(t)
	off, _ := m.Extent(3)
	// The error names the block of the first difference.
	block := func(at int64) string {
		return fmt.Sprintf("first in the %d-byte block at offset %d", verifyBlock, at/verifyBlock*verifyBlock)
	}
	tests := []struct {
		name string
		bmap *bmap.Map
		at   int64
		text string
	}{
		{"whole image", nil, imageSize - 10, block(imageSize - 10)},
		{"first byte", nil, 0, block(0)},
		{"bmap range", m, off + 1, block(off + 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := newTargetFile(t, imageSize, 0)
			dst, err := OpenTarget(path)
			require.NoError(t, err)
			defer dst.Close()
			_, err = Flash(t.Context(), ReaderSource{R: bytes.NewReader(img)}, &corruptingTarget{dst, tt.at}, Options{Bmap: tt.bmap})
			require.ErrorIs(t, err, ErrVerify)
			assert.Contains(t, err.Error(), tt.text)
			_, err = Flash(t.Context(), ReaderSource{R: bytes.NewReader(img)}, &corruptingTarget{dst, tt.at}, Options{Bmap: tt.bmap, SkipVerify: true})
			require.NoError(t, err)
		})
	}
}

func TestFlashProgress(t *testing.T) {
	t.Parallel()
	img := makeImage(8<<20, 11)
	data := compress(t, Gzip, img)
	path := newTargetFile(t, 8<<20, 0)
	dst, err := OpenTarget(path)
	require.NoError(t, err)
	defer dst.Close()
	var reports []Progress
	start := time.Now()
	_, err = Flash(t.Context(), FileSource{Path: writeFile(t, "img.gz", data)},
		&slowTarget{Target: dst, delay: 30 * time.Millisecond},
		Options{BufferSize: 512 << 10, Progress: func(p Progress) { reports = append(reports, p) }})
	require.NoError(t, err)
	elapsed := time.Since(start)

	require.NotEmpty(t, reports)
	phases := []Phase{}
	for i, p := range reports {
		if i == 0 || p.Phase != reports[i-1].Phase {
			phases = append(phases, p.Phase)
		}
		if i > 0 {
			q := reports[i-1]
			assert.GreaterOrEqual(t, p.BytesIn, q.BytesIn)
			assert.GreaterOrEqual(t, p.BytesWritten, q.BytesWritten)
			assert.GreaterOrEqual(t, p.BytesVerified, q.BytesVerified)
		}
	}
	assert.Equal(t, []Phase{PhaseOpen, PhaseWrite, PhaseSync, PhaseVerify, PhaseDone}, phases)
	// Throttled: ten a second plus the phase changes.
	assert.LessOrEqual(t, len(reports), int(elapsed/progressInterval)+len(phases)+1)

	var sawRate, sawETA bool
	for _, p := range reports {
		if p.Phase == PhaseWrite {
			assert.Equal(t, int64(len(data)), p.Total)
			sawRate = sawRate || p.Rate > 0
			sawETA = sawETA || p.ETA > 0
		}
	}
	assert.True(t, sawRate, "no rate while writing")
	assert.True(t, sawETA, "no ETA while writing")
	last := reports[len(reports)-1]
	assert.Equal(t, PhaseDone, last.Phase)
	assert.Equal(t, int64(len(data)), last.BytesIn)
	assert.Equal(t, int64(len(data)), last.Total, "done: all of the source")
	assert.Equal(t, int64(len(img)), last.BytesWritten)
	assert.Equal(t, int64(len(img)), last.BytesVerified)
}

// TestFlashMemoryFlat flashes twenty times and compares the heap after
// the first and the last.
func TestFlashMemoryFlat(t *testing.T) {
	img := makeImage(4<<20, 12)
	data := compress(t, Zstd, img)
	path := newTargetFile(t, 4<<20, 0)
	var first, last runtime.MemStats
	for i := range 20 {
		_, err := flashTo(t, t.Context(), ReaderSource{R: bytes.NewReader(data)}, path, Options{})
		require.NoError(t, err)
		if i == 0 {
			first = memStats()
		}
	}
	last = memStats()
	t.Logf("after flash 1: HeapInuse %d KiB, Sys %d KiB; after 20: HeapInuse %d KiB, Sys %d KiB",
		first.HeapInuse>>10, first.Sys>>10, last.HeapInuse>>10, last.Sys>>10)
	assert.Less(t, last.HeapInuse, first.HeapInuse+8<<20)
	assert.Less(t, last.Sys, first.Sys+16<<20)
}

func TestFlashOptionsBuffers(t *testing.T) {
	t.Parallel()
	img := makeImage(1<<20+5, 13)
	for _, o := range []Options{{BufferSize: 1}, {BufferSize: 8192, Buffers: 1}, {BufferSize: 100_000, Buffers: 7}} {
		t.Run(fmt.Sprintf("%dx%d", o.Buffers, o.BufferSize), func(t *testing.T) {
			_, _, m := func() ([]byte, []byte, *bmap.Map) {
				raw := bmaptest.Create(img, 4096)
				m, err := bmap.Parse(raw)
				require.NoError(t, err)
				return img, raw, m
			}()
			for _, bm := range []*bmap.Map{nil, m} {
				path := newTargetFile(t, 2<<20, 0)
				o.Bmap = bm
				_, err := flashTo(t, t.Context(), ReaderSource{R: bytes.NewReader(compress(t, Gzip, img))}, path, o)
				require.NoError(t, err)
				got, err := os.ReadFile(path)
				require.NoError(t, err)
				require.True(t, bytes.Equal(img, got[:len(img)]))
			}
		})
	}
}

func TestDecoderMemoryLimit(t *testing.T) {
	t.Parallel()
	img := makeImage(1<<20, 14)
	xzTool := requireTool(t, "xz")
	zstdTool := requireTool(t, "zstd")
	bigXZ, err := exec_(xzTool, "-c", "--lzma2=dict=16MiB", "-", img)
	require.NoError(t, err)
	bigZstd, err := exec_(zstdTool, "-q", "-c", "--long=25", "-", img)
	require.NoError(t, err)
	tests := []struct {
		name string
		data []byte
		xz   XZDecoder
	}{
		{"xz-internal", bigXZ, XZInternal},
		{"xz-external", bigXZ, XZExternal},
		{"zstd", bigZstd, XZAuto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := newTargetFile(t, 2<<20, 0)
			_, err := flashTo(t, t.Context(), ReaderSource{R: bytes.NewReader(tt.data)}, path, Options{XZ: tt.xz, MaxDecoderMemory: 8 << 20})
			require.ErrorIs(t, err, ErrMemoryLimit)
			_, err = flashTo(t, t.Context(), ReaderSource{R: bytes.NewReader(tt.data)}, path, Options{XZ: tt.xz})
			require.NoError(t, err)
		})
	}
}

// failingTarget fails every write.
type failingTarget struct{ Target }

func (failingTarget) WriteAt(p []byte, off int64) (int, error) {
	return 0, errors.New("I/O error")
}

// TestFlashWriteFailsWhileSourceStalls: a failing disk ends the flash even
// though the source has stopped sending (the stalled read is cut short).
func TestFlashWriteFailsWhileSourceStalls(t *testing.T) {
	img := makeImage(6<<20, 15)
	for _, fc := range []formatCase{formatCases[0], formatCases[3]} {
		t.Run(fc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			data := fc.encode(t, img)
			src := &slowReader{data: data[:len(data)*3/4], piece: 64 << 10, closed: make(chan struct{})}
			path := newTargetFile(t, 8<<20, 0)
			dst, err := OpenTarget(path)
			require.NoError(t, err)
			defer dst.Close()
			done := make(chan error, 1)
			go func() {
				_, err := Flash(t.Context(), ReaderSource{R: src}, failingTarget{dst}, Options{XZ: fc.xz, Bzip2: fc.xz, BufferSize: 1 << 20})
				done <- err
			}()
			select {
			case err := <-done:
				require.Error(t, err)
				assert.Contains(t, err.Error(), "I/O error")
			case <-time.After(10 * time.Second):
				t.Fatal("Flash did not return")
			}
		})
	}
}

// TestURLSourceNoLeak: the default client leaves no connection or
// goroutine behind, the server still up.
func TestURLSourceNoLeak(t *testing.T) {
	img := makeImage(1<<20, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "img", time.Time{}, bytes.NewReader(img))
	}))
	defer srv.Close()
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	path := newTargetFile(t, 2<<20, 0)
	_, err := flashTo(t, t.Context(), URLSource{URL: srv.URL}, path, Options{})
	require.NoError(t, err)
}

// TestURLSourceSlowDisk: a disk slower than the idle timeout per buffer
// does not fail a healthy download.
func TestURLSourceSlowDisk(t *testing.T) {
	t.Parallel()
	img := makeImage(3<<20, 17)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "img", time.Time{}, bytes.NewReader(img))
	}))
	defer srv.Close()
	path := newTargetFile(t, 4<<20, 0)
	dst, err := OpenTarget(path)
	require.NoError(t, err)
	defer dst.Close()
	slow := &slowTarget{Target: dst, delay: 150 * time.Millisecond}
	_, err = Flash(t.Context(), URLSource{URL: srv.URL, IdleTimeout: 100 * time.Millisecond}, slow,
		Options{BufferSize: 256 << 10, Buffers: 2})
	require.NoError(t, err)
}

// TestFirstPhaseNamesTheSource: until the first bytes arrive, a flash
// reports what it waits for: a file opening, an upload, a download.
func TestFirstPhaseNamesTheSource(t *testing.T) {
	t.Parallel()
	img := makeImage(1<<20, 21)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(img) }))
	defer srv.Close()
	tests := []struct {
		name string
		src  Source
		want Phase
	}{
		{"file", FileSource{Path: writeFile(t, "img", img)}, PhaseOpen},
		{"upload", ReaderSource{R: bytes.NewReader(img)}, PhaseUpload},
		{"URL", URLSource{URL: srv.URL}, PhaseDownload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var first *Progress
			_, err := flashTo(t, t.Context(), tt.src, newTargetFile(t, 1<<20, 0), Options{Progress: func(p Progress) {
				if first == nil {
					first = &p
				}
			}})
			require.NoError(t, err)
			require.NotNil(t, first)
			assert.Equal(t, tt.want.String(), first.Phase.String())
		})
	}
}
