package bmaptest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Range is a run of blocks, inclusive.
type Range struct{ First, Last int64 }

// Ranges returns the runs of blocks of image that are not all zeros.
func Ranges(image []byte, blockSize int64) []Range {
	var rs []Range
	n := (int64(len(image)) + blockSize - 1) / blockSize
	for b := int64(0); b < n; b++ {
		blk := image[b*blockSize : min((b+1)*blockSize, int64(len(image)))]
		if allZero(blk) {
			continue
		}
		if len(rs) > 0 && rs[len(rs)-1].Last == b-1 {
			rs[len(rs)-1].Last = b
		} else {
			rs = append(rs, Range{b, b})
		}
	}
	return rs
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Build returns a bmap file of the given version ("1.0"…"1.3", "1.4",
// "2.0") for image with the given ranges, checksums included as the
// version has them, and the file's own checksum computed as bmaptool
// does.
func Build(version string, image []byte, blockSize int64, ranges []Range) []byte {
	var newHash func() hash.Hash
	var typeTag, fileTag, attr string
	switch version {
	case "1.0", "1.1", "1.2":
	case "1.3":
		newHash, fileTag, attr = sha1.New, "BmapFileSHA1", "sha1"
	default:
		newHash, typeTag, fileTag, attr = sha256.New, "sha256", "BmapFileChecksum", "chksum"
	}
	size := int64(len(image))
	var mapped int64
	for _, r := range ranges {
		mapped += r.Last - r.First + 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" ?>\n<bmap version=\"%s\">\n", version)
	fmt.Fprintf(&b, "    <ImageSize> %d </ImageSize>\n", size)
	fmt.Fprintf(&b, "    <BlockSize> %d </BlockSize>\n", blockSize)
	fmt.Fprintf(&b, "    <BlocksCount> %d </BlocksCount>\n", (size+blockSize-1)/blockSize)
	fmt.Fprintf(&b, "    <MappedBlocksCount> %d </MappedBlocksCount>\n", mapped)
	zeros := ""
	if newHash != nil {
		if typeTag != "" {
			fmt.Fprintf(&b, "    <ChecksumType> %s </ChecksumType>\n", typeTag)
		}
		zeros = strings.Repeat("0", 2*newHash().Size())
		fmt.Fprintf(&b, "    <%s> %s </%s>\n", fileTag, zeros, fileTag)
	}
	b.WriteString("    <BlockMap>\n")
	for _, r := range ranges {
		txt := fmt.Sprint(r.First)
		if r.Last != r.First {
			txt = fmt.Sprintf("%d-%d", r.First, r.Last)
		}
		if newHash == nil {
			fmt.Fprintf(&b, "        <Range> %s </Range>\n", txt)
			continue
		}
		h := newHash()
		h.Write(image[min(r.First*blockSize, size):min((r.Last+1)*blockSize, size)])
		fmt.Fprintf(&b, "        <Range %s=\"%x\"> %s </Range>\n", attr, h.Sum(nil), txt)
	}
	b.WriteString("    </BlockMap>\n</bmap>\n")
	out := []byte(b.String())
	if newHash != nil {
		h := newHash()
		h.Write(out)
		sum := hex.EncodeToString(h.Sum(nil))
		out = bytes.Replace(out, []byte(zeros), []byte(sum), 1)
	}
	return out
}

// Create maps image's non-zero blocks and builds a version 2.0 bmap.
func Create(image []byte, blockSize int64) []byte {
	return Build("2.0", image, blockSize, Ranges(image, blockSize))
}
