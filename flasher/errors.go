package flasher

import "errors"

// Sentinel errors. Flash and the other functions of this package wrap
// them with the operation, the device and the offset that failed; test
// for them with errors.Is.
var (
	// ErrTooLarge: the image does not fit on the target.
	ErrTooLarge = errors.New("flasher: image larger than the disk")
	// ErrChecksum: the source's SHA-256 or a bmap range's checksum does
	// not match the expected one.
	ErrChecksum = errors.New("flasher: checksum mismatch")
	// ErrCorrupt: the compressed stream (or the image) is malformed.
	ErrCorrupt = errors.New("flasher: corrupt image")
	// ErrTruncated: the source ended before the image did.
	ErrTruncated = errors.New("flasher: truncated image")
	// ErrVerify: what was read back from the target differs from what
	// was written.
	ErrVerify = errors.New("flasher: read-back verification failed")
	// ErrMemoryLimit: decoding the image needs a larger window or
	// dictionary than Options.MaxDecoderMemory allows.
	ErrMemoryLimit = errors.New("flasher: decoder memory limit exceeded")
)
