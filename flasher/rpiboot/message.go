package rpiboot

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// Wire layout of the boot protocol. All integers are little-endian
// (reference §2; raspberrypi/usbboot main.c sends the C structs raw).
const (
	// bootMessageLen is the boot ROM's first message: int32 image length
	// and a 20-byte signature, all zero unless signed boot on BCM2835/6/7
	// (reference §3.1; main.c boot_message_t).
	bootMessageLen = 4 + 20
	// returnCodeLen is the int32 the ROM returns after the upload
	// (reference §3.2 step 7).
	returnCodeLen = 4
	// fileMessageLen is a second-stage request: int32 command and a
	// 256-byte NUL-terminated file name (reference §4.1; main.c struct
	// file_message, MAX_PATH_LEN).
	fileMessageLen = 4 + fileNameLen
	fileNameLen    = 256
	// maxChunk bounds one bulk transfer: main.c's LIBUSB_MAX_TRANSFER,
	// 16 KiB since usbboot PR #26 (reference §2).
	maxChunk = 16 << 10
	// maxAnnounce is the largest length an announce can carry: wValue
	// holds the low 16 bits, wIndex the high 16 (reference §2).
	maxAnnounce = math.MaxUint32
)

// Command is a second-stage request (reference §4.1).
type Command int32

// Second-stage commands.
const (
	// CommandGetFileSize asks for a file's size: the host answers with
	// an announce of the size, 0 if missing, and no data.
	CommandGetFileSize Command = 0
	// CommandReadFile asks for a file: an announce of its size, then the
	// bytes over bulk.
	CommandReadFile Command = 1
	// CommandDone ends the session.
	CommandDone Command = 2
)

func (c Command) String() string {
	switch c {
	case CommandGetFileSize:
		return "GetFileSize"
	case CommandReadFile:
		return "ReadFile"
	case CommandDone:
		return "Done"
	}
	return fmt.Sprintf("Command(%d)", int32(c))
}

// fileMessage is a request from the second stage.
type fileMessage struct {
	command Command
	name    string
}

// parseFileMessage decodes a 260-byte request. The name ends at the first
// NUL; a name that fills all 256 bytes is refused, as is an unknown
// command (main.c aborts the session on one).
func parseFileMessage(b []byte) (fileMessage, error) {
	if len(b) != fileMessageLen {
		return fileMessage{}, fmt.Errorf("request of %d bytes, want %d: %w", len(b), fileMessageLen, ErrProtocol)
	}
	m := fileMessage{command: Command(int32(binary.LittleEndian.Uint32(b)))}
	if m.command < CommandGetFileSize || m.command > CommandDone {
		return fileMessage{}, fmt.Errorf("unknown command %d: %w", int32(m.command), ErrProtocol)
	}
	name := b[4:]
	end := bytes.IndexByte(name, 0)
	if end < 0 {
		return fileMessage{}, fmt.Errorf("file name not terminated: %w", ErrProtocol)
	}
	m.name = string(name[:end])
	return m, nil
}

// marshal encodes m as the device sends it.
func (m fileMessage) marshal() ([]byte, error) {
	if len(m.name) >= fileNameLen {
		return nil, fmt.Errorf("file name of %d bytes, at most %d: %w", len(m.name), fileNameLen-1, ErrProtocol)
	}
	if bytes.IndexByte([]byte(m.name), 0) >= 0 {
		return nil, fmt.Errorf("file name with a NUL: %w", ErrProtocol)
	}
	b := make([]byte, fileMessageLen)
	binary.LittleEndian.PutUint32(b, uint32(m.command))
	copy(b[4:], m.name)
	return b, nil
}

// bootMessage is the boot ROM's 24-byte message for an image of n bytes,
// with a zero signature.
func bootMessage(n int64) ([]byte, error) {
	if n <= 0 || n > math.MaxInt32 {
		return nil, fmt.Errorf("second stage of %d bytes: %w", n, ErrUnsupported)
	}
	b := make([]byte, bootMessageLen)
	binary.LittleEndian.PutUint32(b, uint32(n))
	return b, nil
}

// splitLength puts a length into a setup packet: wValue = n & 0xffff,
// wIndex = n >> 16 (main.c ep_write, ep_read).
func splitLength(n uint32) (value, index uint16) {
	return uint16(n & 0xffff), uint16(n >> 16)
}
