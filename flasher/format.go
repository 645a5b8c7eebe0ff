package flasher

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Format is the encoding of an image stream.
type Format int

// The formats Detect recognises.
const (
	Raw Format = iota
	Gzip
	XZ
	Zstd
	Bzip2
)

// String returns the format's usual name: "raw", "gzip", "xz", "zstd",
// "bzip2".
func (f Format) String() string {
	switch f {
	case Raw:
		return "raw"
	case Gzip:
		return "gzip"
	case XZ:
		return "xz"
	case Zstd:
		return "zstd"
	case Bzip2:
		return "bzip2"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// detectLen is how many bytes Detect peeks at.
const detectLen = 10

// Magic numbers.
const (
	xzMagic        = "\xfd7zXZ\x00"
	zstdMagic      = "\x28\xb5\x2f\xfd"
	bzip2BlockMag  = "\x31\x41\x59\x26\x53\x59" // π
	bzip2StreamEnd = "\x17\x72\x45\x38\x50\x90" // √π
)

// Detect tells the format of the stream in br from its magic bytes,
// whatever the file is called. It only peeks: the bytes stay in br for
// the decoder. A stream too short to hold any magic is Raw; an error is
// returned only when reading fails.
//
// The checks are stricter than the bare magic numbers so that a raw
// disk image is not taken for a compressed one by chance: gzip needs
// the deflate method byte, bzip2 the magic of a block or of the stream
// end after its header. A zstd stream may start with a skippable frame.
func Detect(br *bufio.Reader) (Format, error) {
	b, err := br.Peek(detectLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return Raw, fmt.Errorf("detect format: %w", err)
	}
	return detect(b), nil
}

func detect(b []byte) Format {
	switch {
	case len(b) >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8:
		return Gzip
	case bytes.HasPrefix(b, []byte(xzMagic)):
		return XZ
	case bytes.HasPrefix(b, []byte(zstdMagic)):
		return Zstd
	case len(b) >= 4 && binary.LittleEndian.Uint32(b)&0xfffffff0 == 0x184d2a50:
		return Zstd // skippable frame (pzstd, seekable zstd)
	case len(b) >= 10 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h' && b[3] >= '1' && b[3] <= '9' &&
		(string(b[4:10]) == bzip2BlockMag || string(b[4:10]) == bzip2StreamEnd):
		return Bzip2
	}
	return Raw
}
