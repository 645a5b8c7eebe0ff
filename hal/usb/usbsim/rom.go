package usbsim

import (
	"encoding/binary"
	"fmt"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// The boot ROM protocol (reference §3; raspberrypi/usbboot main.c
// second_stage_boot, boot_message_t).
const (
	// bootMessageLen is the boot message: int32 LE image length, then a
	// 20-byte signature (zero unless signed boot on BCM2835/6/7).
	bootMessageLen = 24
	// returnCodeLen is the int32 return code the host reads at the end.
	returnCodeLen = 4
	// maxImageLen bounds the second-stage image the simulated ROM takes.
	// The real ones load it into on-chip memory; the largest image in
	// usbboot is bootcode4.bin at 105,984 bytes (reference §4.3, §5.1).
	maxImageLen = 1 << 20
)

// romPhase is what the boot ROM waits for.
type romPhase int

const (
	romAwaitMessageAnnounce romPhase = iota // control OUT announcing 24
	romAwaitMessage                         // 24 bulk bytes
	romAwaitImageAnnounce                   // control OUT announcing the image length
	romAwaitImage                           // the image over bulk
	romAwaitReturnRead                      // control IN of 4 bytes
	romDone                                 // accepted; about to disconnect
)

// romState is the boot ROM's side of the protocol.
type romState struct {
	phase    romPhase
	message  []byte
	imageLen int
	image    []byte
}

// romControl handles a vendor control request to the boot ROM.
func (m *Module) romControl(in bool, length int, data []byte) outcome {
	r := &m.rom
	if !in {
		if len(data) != 0 {
			return stall("announce with a data stage")
		}
		switch {
		case r.phase == romAwaitMessageAnnounce && length == bootMessageLen:
			r.phase, r.message = romAwaitMessage, r.message[:0]
			return outcome{note: fmt.Sprintf("announce %d: boot message", length)}
		case r.phase == romAwaitImageAnnounce && length == r.imageLen && length > 0 && length <= maxImageLen:
			r.phase, r.image = romAwaitImage, nil
			return outcome{note: fmt.Sprintf("announce %d: image", length)}
		}
		return stall(fmt.Sprintf("unexpected announce %d (%s)", length, r.phase))
	}
	if length != returnCodeLen || len(data) != returnCodeLen {
		return stall(fmt.Sprintf("unexpected read of %d bytes", length))
	}
	if r.phase != romAwaitReturnRead {
		// Nothing to report yet: the ROM NAKs the status stage.
		return outcome{nak: true, note: fmt.Sprintf("read before the upload is complete (%s)", r.phase)}
	}
	q := m.profile.Quirks
	code := q.ROMReturnCode
	out := outcome{data: binary.LittleEndian.AppendUint32(nil, uint32(code)), note: fmt.Sprintf("return code %d", code)}
	m.uploads++
	switch {
	case code != 0 && q.ROMRejectsUpload:
		*r = romState{}
		out.note += ": waiting for a new upload"
	case m.uploads <= q.ROMLostUploads:
		r.phase = romDone
		m.rebootInto(StateROM, m.profile.Timing.SecondStage)
		out.note += fmt.Sprintf(": upload %d lost, the ROM will enumerate again", m.uploads)
	default:
		r.phase = romDone
		m.bootcode = r.image
		m.rebootInto(StateSecondStage, m.profile.Timing.SecondStage)
	}
	return out
}

// romBulk handles bulk data sent to the boot ROM's vendor endpoint.
func (m *Module) romBulk(data []byte) outcome {
	r := &m.rom
	switch r.phase {
	case romAwaitMessage:
		n := min(len(data), bootMessageLen-len(r.message))
		r.message = append(r.message, data[:n]...)
		out := outcome{n: n, nak: n < len(data)}
		if len(r.message) < bootMessageLen {
			out.note = fmt.Sprintf("boot message %d/%d", len(r.message), bootMessageLen)
			return out
		}
		r.imageLen = int(int32(binary.LittleEndian.Uint32(r.message)))
		r.phase = romAwaitImageAnnounce
		out.note = fmt.Sprintf("boot message: image length %d", r.imageLen)
		if r.imageLen <= 0 || r.imageLen > maxImageLen {
			// Nothing sensible can follow; the next announce stalls.
			out.note += " (invalid)"
		}
		return out
	case romAwaitImage:
		n := min(len(data), r.imageLen-len(r.image))
		r.image = append(r.image, data[:n]...)
		out := outcome{n: n, nak: n < len(data), note: fmt.Sprintf("image %d/%d", len(r.image), r.imageLen)}
		if len(r.image) == r.imageLen {
			r.phase = romAwaitReturnRead
		}
		return out
	}
	return outcome{nak: true, note: fmt.Sprintf("bulk data nobody announced (%s)", r.phase)}
}

func (p romPhase) String() string {
	switch p {
	case romAwaitMessageAnnounce:
		return "waiting for the boot message announce"
	case romAwaitMessage:
		return "waiting for the boot message"
	case romAwaitImageAnnounce:
		return "waiting for the image announce"
	case romAwaitImage:
		return "waiting for the image"
	case romAwaitReturnRead:
		return "waiting for the return code read"
	case romDone:
		return "done"
	}
	return fmt.Sprintf("romPhase(%d)", int(p))
}

// stall is the outcome of a request the device refuses.
func stall(why string) outcome {
	return outcome{err: usb.ErrStall, note: why}
}
