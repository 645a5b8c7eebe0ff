package bmap

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"math"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every error Parse returns.
var ErrInvalid = errors.New("bmap: invalid block map")

// Map is a parsed block map.
type Map struct {
	// Version is the format version, "major.minor".
	Version string
	// ImageSize is the size of the image in bytes.
	ImageSize int64
	// BlockSize is the size of a block in bytes: a power of two between
	// 512 bytes and 1 MiB.
	BlockSize int64
	// BlocksCount is the number of blocks in the image.
	BlocksCount int64
	// MappedBlocksCount is the number of blocks the ranges cover.
	MappedBlocksCount int64
	// ChecksumType is "sha256", "sha1", or "" for a map without
	// checksums (versions 1.0 to 1.2).
	ChecksumType string
	// Ranges are the mapped blocks, sorted and disjoint.
	Ranges []Range
}

// Range is a run of mapped blocks.
type Range struct {
	// First and Last are block numbers, inclusive.
	First, Last int64
	// Checksum is the digest of the range's bytes (the last block cut at
	// ImageSize), or nil if the map has none.
	Checksum []byte
}

// String returns the range as bmaptool writes it: "3-4", or "7" for one
// block.
func (r Range) String() string {
	if r.First == r.Last {
		return strconv.FormatInt(r.First, 10)
	}
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

// Extent returns the byte offset and length of range i in the image.
// The last range may end with a partial block.
func (m *Map) Extent(i int) (off, n int64) {
	r := m.Ranges[i]
	off = r.First * m.BlockSize
	end := min((r.Last+1)*m.BlockSize, m.ImageSize)
	return off, end - off
}

// MappedSize returns the number of image bytes the ranges cover.
func (m *Map) MappedSize() int64 {
	var n int64
	for i := range m.Ranges {
		_, l := m.Extent(i)
		n += l
	}
	return n
}

// NewHash returns a hash of the map's checksum type, or nil if the map
// has no checksums.
func (m *Map) NewHash() hash.Hash {
	switch m.ChecksumType {
	case "sha256":
		return sha256.New()
	case "sha1":
		return sha1.New()
	}
	return nil
}

// xmlBmap mirrors the file. Pointers tell a missing element from an
// empty one.
type xmlBmap struct {
	XMLName           xml.Name `xml:"bmap"`
	Version           *string  `xml:"version,attr"`
	ImageSize         *string  `xml:"ImageSize"`
	BlockSize         *string  `xml:"BlockSize"`
	BlocksCount       *string  `xml:"BlocksCount"`
	MappedBlocksCount *string  `xml:"MappedBlocksCount"`
	ChecksumType      *string  `xml:"ChecksumType"`
	BmapFileChecksum  *string  `xml:"BmapFileChecksum"`
	BmapFileSHA1      *string  `xml:"BmapFileSHA1"`
	BlockMap          *struct {
		Ranges []xmlRange `xml:"Range"`
	} `xml:"BlockMap"`
}

type xmlRange struct {
	Chksum *string `xml:"chksum,attr"`
	SHA1   *string `xml:"sha1,attr"`
	Text   string  `xml:",chardata"`
}

// maxBlockSize bounds BlockSize.
const maxBlockSize = 1 << 20

// Parse parses and validates a bmap file, including its own checksum.
func Parse(data []byte) (*Map, error) {
	var x xmlBmap
	if err := xml.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if x.Version == nil {
		return nil, fmt.Errorf("%w: no version attribute", ErrInvalid)
	}
	m := &Map{Version: strings.TrimSpace(*x.Version)}
	major, minor, err := parseVersion(m.Version)
	if err != nil {
		return nil, err
	}

	fields := []struct {
		name string
		s    *string
		v    *int64
	}{
		{"ImageSize", x.ImageSize, &m.ImageSize},
		{"BlockSize", x.BlockSize, &m.BlockSize},
		{"BlocksCount", x.BlocksCount, &m.BlocksCount},
		{"MappedBlocksCount", x.MappedBlocksCount, &m.MappedBlocksCount},
	}
	for _, f := range fields {
		if f.s == nil {
			return nil, fmt.Errorf("%w: no %s", ErrInvalid, f.name)
		}
		v, err := parseCount(*f.s)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, f.name, err)
		}
		*f.v = v
	}
	if m.ImageSize == 0 {
		return nil, fmt.Errorf("%w: ImageSize is 0", ErrInvalid)
	}
	if m.BlockSize < 512 || m.BlockSize > maxBlockSize || m.BlockSize&(m.BlockSize-1) != 0 {
		return nil, fmt.Errorf("%w: BlockSize %d is not a power of two from 512 to %d", ErrInvalid, m.BlockSize, maxBlockSize)
	}
	if want := (m.ImageSize-1)/m.BlockSize + 1; m.BlocksCount != want {
		return nil, fmt.Errorf("%w: BlocksCount %d, but ImageSize %d makes %d blocks of %d bytes",
			ErrInvalid, m.BlocksCount, m.ImageSize, want, m.BlockSize)
	}

	// Checksum flavour by version, as bmaptool's BmapCopy has it.
	var (
		fileSum *string
		attr    func(xmlRange) *string
	)
	switch {
	case major == 2 || (major == 1 && minor >= 4):
		if x.ChecksumType == nil {
			return nil, fmt.Errorf("%w: version %s needs ChecksumType", ErrInvalid, m.Version)
		}
		m.ChecksumType = strings.TrimSpace(*x.ChecksumType)
		switch {
		case m.ChecksumType == "sha256":
		case m.ChecksumType == "sha1" && major == 1:
		default:
			return nil, fmt.Errorf("%w: unsupported ChecksumType %q", ErrInvalid, m.ChecksumType)
		}
		fileSum, attr = x.BmapFileChecksum, func(r xmlRange) *string { return r.Chksum }
		if fileSum == nil {
			return nil, fmt.Errorf("%w: no BmapFileChecksum", ErrInvalid)
		}
	case minor == 3:
		m.ChecksumType = "sha1"
		fileSum, attr = x.BmapFileSHA1, func(r xmlRange) *string { return r.SHA1 }
		if fileSum == nil {
			return nil, fmt.Errorf("%w: no BmapFileSHA1", ErrInvalid)
		}
	}
	hexLen := 0
	if h := m.NewHash(); h != nil {
		hexLen = 2 * h.Size()
	}

	if x.BlockMap == nil {
		return nil, fmt.Errorf("%w: no BlockMap", ErrInvalid)
	}
	m.Ranges = make([]Range, 0, len(x.BlockMap.Ranges))
	var mapped int64
	next := int64(0) // first block a range may start at
	for i, xr := range x.BlockMap.Ranges {
		r, err := parseRange(xr.Text)
		if err != nil {
			return nil, fmt.Errorf("%w: range %d: %w", ErrInvalid, i, err)
		}
		if r.First < next {
			return nil, fmt.Errorf("%w: range %s overlaps or precedes the one before", ErrInvalid, r)
		}
		if r.Last >= m.BlocksCount {
			return nil, fmt.Errorf("%w: range %s past the last block %d", ErrInvalid, r, m.BlocksCount-1)
		}
		next = r.Last + 1
		mapped += r.Last - r.First + 1
		if attr != nil {
			s := attr(xr)
			if s == nil {
				return nil, fmt.Errorf("%w: range %s has no checksum", ErrInvalid, r)
			}
			if r.Checksum, err = parseHex(*s, hexLen); err != nil {
				return nil, fmt.Errorf("%w: range %s: %w", ErrInvalid, r, err)
			}
		}
		m.Ranges = append(m.Ranges, r)
	}
	if mapped != m.MappedBlocksCount {
		return nil, fmt.Errorf("%w: MappedBlocksCount %d, but the ranges cover %d blocks", ErrInvalid, m.MappedBlocksCount, mapped)
	}
	if fileSum != nil {
		if err := checkFile(data, strings.TrimSpace(*fileSum), m.NewHash(), hexLen); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func parseVersion(v string) (major, minor int, err error) {
	a, b, ok := strings.Cut(v, ".")
	if ok {
		major, err = strconv.Atoi(a)
		if err == nil {
			minor, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || major < 0 || minor < 0 {
		return 0, 0, fmt.Errorf("%w: version %q is not major.minor", ErrInvalid, v)
	}
	if major != 1 && major != 2 {
		return 0, 0, fmt.Errorf("%w: unsupported version %s", ErrInvalid, v)
	}
	return major, minor, nil
}

// parseCount parses a non-negative decimal number, spaces around.
func parseCount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, fmt.Errorf("%q is not a count", s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a count", s)
	}
	if v > math.MaxInt64/maxBlockSize {
		return 0, fmt.Errorf("%d is too large", v)
	}
	return v, nil
}

// parseRange parses "a-b" or "a", spaces allowed around the numbers.
func parseRange(s string) (Range, error) {
	a, b, two := strings.Cut(s, "-")
	first, err := parseCount(a)
	if err != nil {
		return Range{}, err
	}
	last := first
	if two {
		if last, err = parseCount(b); err != nil {
			return Range{}, err
		}
		if last < first {
			return Range{}, fmt.Errorf("%q: first block after last", strings.TrimSpace(s))
		}
	}
	return Range{First: first, Last: last}, nil
}

func parseHex(s string, n int) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) != n {
		return nil, fmt.Errorf("checksum %q: want %d hex digits", s, n)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("checksum %q: %w", s, err)
	}
	return b, nil
}

// checkFile verifies the bmap file's checksum the way bmaptool does: the
// first occurrence of the checksum's text in the file is replaced with
// as many '0's and the result hashed.
func checkFile(data []byte, sum string, h hash.Hash, hexLen int) error {
	want, err := parseHex(sum, hexLen)
	if err != nil {
		return fmt.Errorf("%w: file checksum: %w", ErrInvalid, err)
	}
	i := bytes.Index(data, []byte(sum))
	if i < 0 {
		return fmt.Errorf("%w: file checksum not found in the file", ErrInvalid)
	}
	h.Write(data[:i])
	h.Write(bytes.Repeat([]byte{'0'}, len(sum)))
	h.Write(data[i+len(sum):])
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		return fmt.Errorf("%w: file checksum mismatch: got %x, want %x", ErrInvalid, got, want)
	}
	return nil
}
