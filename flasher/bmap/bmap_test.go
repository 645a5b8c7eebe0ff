package bmap_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/flasher/bmap"
	"github.com/turingpi-oss/bmcd/flasher/bmap/bmaptest"
)

// sparseImage is the image the bmaps in ../testdata describe.
func sparseImage(t testing.TB) []byte {
	t.Helper()
	f, err := os.Open("../testdata/sparse.img.gz")
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	img, err := io.ReadAll(zr)
	require.NoError(t, err)
	return img
}

func TestParseTestdata(t *testing.T) {
	img := sparseImage(t)
	tests := []struct {
		file     string
		version  string
		checksum string
	}{
		{"sparse.img.bmap", "2.0", "sha256"}, // written by bmaptool create 3.6
		{"sparse.img.v1.3.bmap", "1.3", "sha1"},
		{"sparse.img.v1.0.bmap", "1.0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("../testdata", tt.file))
			require.NoError(t, err)
			m, err := bmap.Parse(data)
			require.NoError(t, err)
			assert.Equal(t, tt.version, m.Version)
			assert.Equal(t, tt.checksum, m.ChecksumType)
			assert.Equal(t, int64(len(img)), m.ImageSize)
			assert.Equal(t, int64(4096), m.BlockSize)
			assert.Equal(t, int64(257), m.BlocksCount)
			assert.Equal(t, int64(10), m.MappedBlocksCount)
			want := []string{"0", "3-4", "40-43", "200", "255-256"}
			var got []string
			for i, r := range m.Ranges {
				got = append(got, r.String())
				off, n := m.Extent(i)
				if h := m.NewHash(); h != nil {
					h.Write(img[off : off+n])
					assert.Equal(t, r.Checksum, h.Sum(nil), "range %s", r)
				} else {
					assert.Nil(t, r.Checksum)
				}
			}
			assert.Equal(t, want, got)
			// The last range ends with the image's partial block.
			off, n := m.Extent(len(m.Ranges) - 1)
			assert.Equal(t, int64(len(img)), off+n)
			assert.Equal(t, int64(9*4096+123), m.MappedSize())
		})
	}
}

// TestBuildMatchesBmaptool checks the test generator against bmaptool's
// output, so that the generated maps used elsewhere are realistic.
func TestBuildMatchesBmaptool(t *testing.T) {
	real, err := os.ReadFile("../testdata/sparse.img.bmap")
	require.NoError(t, err)
	want, err := bmap.Parse(real)
	require.NoError(t, err)
	got, err := bmap.Parse(bmaptest.Create(sparseImage(t), 4096))
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestParseInvalid(t *testing.T) {
	img := bytes.Repeat([]byte{1}, 10*4096+10)
	copy(img[2*4096:], make([]byte, 3*4096)) // blocks 2-4 are a hole
	ranges := bmaptest.Ranges(img, 4096)
	require.Equal(t, []bmaptest.Range{{First: 0, Last: 1}, {First: 5, Last: 10}}, ranges)
	valid := string(bmaptest.Build("2.0", img, 4096, ranges))
	_, err := bmap.Parse([]byte(valid))
	require.NoError(t, err)

	// rebuild edits a valid 2.0 file and fixes its checksum up, so that the
	// edit itself is what Parse must reject.
	rebuild := func(edit func(string) string) []byte {
		s := edit(valid)
		i := strings.Index(s, "<BmapFileChecksum> ") + len("<BmapFileChecksum> ")
		s = s[:i] + strings.Repeat("0", 64) + s[i+64:]
		sum := sha256.Sum256([]byte(s))
		return []byte(strings.Replace(s, strings.Repeat("0", 64), sprintHex(sum[:]), 1))
	}
	withRanges := func(rs ...bmaptest.Range) []byte {
		return bmaptest.Build("2.0", img, 4096, rs)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not xml", []byte("hello"), "EOF"},
		{"other root", []byte(`<map version="2.0"/>`), "expected element type <bmap>"},
		{"no version", rebuild(func(s string) string { return strings.Replace(s, ` version="2.0"`, "", 1) }), "no version"},
		{"version 3", rebuild(func(s string) string { return strings.Replace(s, `"2.0"`, `"3.0"`, 1) }), "unsupported version 3.0"},
		{"bad version", rebuild(func(s string) string { return strings.Replace(s, `"2.0"`, `"two"`, 1) }), "not major.minor"},
		{"file checksum", []byte(strings.Replace(valid, "<ImageSize> 40970", "<ImageSize> 40971", 1)), "file checksum mismatch"},
		{"no ImageSize", rebuild(func(s string) string { return strings.Replace(s, "<ImageSize> 40970 </ImageSize>", "", 1) }), "no ImageSize"},
		{"negative count", rebuild(func(s string) string { return strings.Replace(s, "<BlockSize> 4096", "<BlockSize> -4096", 1) }), "not a count"},
		{"odd block size", rebuild(func(s string) string {
			s = strings.Replace(s, "<BlockSize> 4096", "<BlockSize> 4000", 1)
			return strings.Replace(s, "<BlocksCount> 11", "<BlocksCount> 11", 1)
		}), "power of two"},
		{"blocks count", rebuild(func(s string) string { return strings.Replace(s, "<BlocksCount> 11", "<BlocksCount> 12", 1) }), "BlocksCount 12"},
		{"mapped count", rebuild(func(s string) string { return strings.Replace(s, "<MappedBlocksCount> 8", "<MappedBlocksCount> 9", 1) }), "MappedBlocksCount 9"},
		{"checksum type", rebuild(func(s string) string { return strings.Replace(s, "<ChecksumType> sha256", "<ChecksumType> md5", 1) }), `unsupported ChecksumType "md5"`},
		{"no checksum type", rebuild(func(s string) string { return strings.Replace(s, "<ChecksumType> sha256 </ChecksumType>", "", 1) }), "needs ChecksumType"},
		{"range without checksum", rebuild(func(s string) string {
			i := strings.Index(s, `<Range chksum="`)
			return s[:i] + "<Range>" + s[i+len(`<Range chksum="`)+64+2:]
		}), "has no checksum"},
		{"short range checksum", rebuild(func(s string) string { return strings.Replace(s, `chksum="`, `chksum="0`, 1) }), "want 64 hex digits"},
		{"bad range", rebuild(func(s string) string { return strings.Replace(s, "> 0-1 <", "> 0-x <", 1) }), `"x" is not a count`},
		{"reversed range", rebuild(func(s string) string { return strings.Replace(s, "> 5-10 <", "> 10-5 <", 1) }), "first block after last"},
		{"unsorted", withRanges(bmaptest.Range{First: 5, Last: 10}, bmaptest.Range{First: 0, Last: 1}), "precedes"},
		{"overlapping", withRanges(bmaptest.Range{First: 0, Last: 5}, bmaptest.Range{First: 5, Last: 10}), "overlaps"},
		{"past the end", withRanges(bmaptest.Range{First: 0, Last: 11}), "past the last block 10"},
		{"no BlockMap", rebuild(func(s string) string {
			i, j := strings.Index(s, "<BlockMap>"), strings.Index(s, "</BlockMap>")
			s = s[:i] + s[j+len("</BlockMap>"):]
			return strings.Replace(s, "<MappedBlocksCount> 8", "<MappedBlocksCount> 0", 1)
		}), "no BlockMap"},
		{"1.3 without file sha1", []byte(strings.Replace(string(bmaptest.Build("1.3", img, 4096, ranges)), "BmapFileSHA1", "Nothing", 2)), "no BmapFileSHA1"},
		{"2.0 with sha1", rebuild(func(s string) string { return strings.Replace(s, "<ChecksumType> sha256", "<ChecksumType> sha1", 1) }), `unsupported ChecksumType "sha1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := bmap.Parse(tt.data)
			require.Error(t, err, "parsed: %+v", m)
			assert.ErrorIs(t, err, bmap.ErrInvalid)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestParseVersions(t *testing.T) {
	img := bytes.Repeat([]byte("data"), 3000)
	for _, v := range []string{"1.0", "1.1", "1.2", "1.3", "1.4", "2.0", "2.1"} {
		t.Run(v, func(t *testing.T) {
			m, err := bmap.Parse(bmaptest.Build(v, img, 4096, bmaptest.Ranges(img, 4096)))
			require.NoError(t, err)
			assert.Equal(t, v, m.Version)
			assert.Equal(t, int64(len(img)), m.MappedSize())
		})
	}
}

func sprintHex(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

func FuzzParseBmap(f *testing.F) {
	files, err := filepath.Glob("../testdata/*.bmap")
	require.NoError(f, err)
	require.NotEmpty(f, files)
	for _, name := range files {
		data, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(data)
	}
	img := bytes.Repeat([]byte{7}, 5*512+3)
	f.Add(bmaptest.Build("2.0", img, 512, []bmaptest.Range{{First: 0, Last: 0}, {First: 2, Last: 5}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := bmap.Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), bmap.ErrInvalid.Error()) {
				t.Fatalf("error does not start with the sentinel: %v", err)
			}
			return
		}
		// What Parse accepts can be followed without further checks.
		if m.ImageSize <= 0 || m.BlockSize < 512 || m.BlocksCount != (m.ImageSize+m.BlockSize-1)/m.BlockSize {
			t.Fatalf("inconsistent sizes: %+v", m)
		}
		var mapped, next int64
		for i, r := range m.Ranges {
			if r.First < next || r.Last < r.First || r.Last >= m.BlocksCount {
				t.Fatalf("bad range %d: %v", i, r)
			}
			next = r.Last + 1
			mapped += r.Last - r.First + 1
			off, n := m.Extent(i)
			if off < 0 || n <= 0 || off+n > m.ImageSize {
				t.Fatalf("bad extent %d: %d+%d", i, off, n)
			}
			if h := m.NewHash(); h != nil && len(r.Checksum) != h.Size() {
				t.Fatalf("range %d checksum length %d", i, len(r.Checksum))
			}
		}
		if mapped != m.MappedBlocksCount {
			t.Fatalf("mapped %d, count %d", mapped, m.MappedBlocksCount)
		}
	})
}
