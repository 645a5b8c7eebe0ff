package rpiboot

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// bootROM sends the second stage to the boot ROM d and waits for the
// second stage to enumerate, which it returns. A ROM that shows up again
// instead (at a new address, or still there a while after a non-zero
// return code) gets the upload again, up to maxROMUploads uploads in
// all: main.c sends it again for as long as the port shows a ROM, and the
// BCM2711 ROM can come back after the upload (usbboot PR #63).
func (s *session) bootROM(ctx context.Context, d usb.DeviceInfo) (usb.DeviceInfo, error) {
	for upload := 1; ; upload++ {
		code, rom, err := s.romStage(ctx, d)
		if err != nil {
			return rom, err
		}
		sent := s.clock.Now()
		next, err := s.waitFor(ctx, "wait for second stage", s.t.SecondStage, func(n usb.DeviceInfo) bool {
			switch st, _ := Identify(n); {
			case st == StageFileServer:
				return true
			case st != StageROM:
				return false
			case n.Bus != rom.Bus || n.Address != rom.Address:
				return true // re-enumerated: the upload was lost
			}
			// The same ROM: after return code 0 it is about to leave; after
			// another it may wait for a new upload.
			return code != 0 && s.clock.Since(sent) >= romLeave
		})
		if err != nil {
			return next, err
		}
		if st, _ := Identify(next); st == StageFileServer {
			return next, nil
		}
		if upload == maxROMUploads {
			if code != 0 {
				return next, s.fail("send second stage", fmt.Errorf("the ROM is still there after %d uploads, the last answered with return code %d (0x%08x): %w",
					upload, code, uint32(code), ErrReturnCode))
			}
			return next, s.fail("send second stage", fmt.Errorf("the ROM came back after each of %d uploads: %w", upload, ErrUploadLost))
		}
		s.log.Warn("rpiboot: the boot ROM is back after the upload; sending the second stage again",
			"upload", upload, "max_uploads", maxROMUploads, "return_code", code, "device", next.String())
		d = next
	}
}

// romStage sends the second stage to the boot ROM d (reference §3.2):
// announce 24, the boot message, announce N, the N-byte image in chunks,
// then it reads the 4-byte return code, which it returns with the device
// it sent to. A non-zero code is logged, not an error: main.c reads it
// and carries on, and what follows (the second stage, or the ROM again)
// tells whether the upload took.
func (s *session) romStage(ctx context.Context, d usb.DeviceInfo) (int32, usb.DeviceInfo, error) {
	name := s.chip.secondStageFile()
	f, err := s.fw.Open(s.chip, s.payload, name)
	if err != nil {
		return 0, d, s.fail("load second stage", err)
	}
	defer f.Close()
	msg, err := bootMessage(f.Size())
	if err != nil {
		return 0, d, s.fail("load second stage", fmt.Errorf("%s: %w", f.Source, err))
	}

	dev, d, err := s.open(ctx, d, StageROM)
	if err != nil {
		return 0, d, err
	}
	defer s.closeDevice(dev)
	l, err := s.claim(dev, d)
	if err != nil {
		return 0, d, err
	}

	if err := l.announce(bootMessageLen); err != nil {
		return 0, d, s.fail(fmt.Sprintf("send boot message: announce %d bytes", bootMessageLen), err)
	}
	if err := l.send(ctx, bytes.NewReader(msg), bootMessageLen); err != nil {
		return 0, d, s.fail("send boot message", err)
	}
	if err := l.announce(f.Size()); err != nil {
		return 0, d, s.fail(fmt.Sprintf("send second stage: announce %d bytes", f.Size()), err)
	}
	if err := l.send(ctx, f, f.Size()); err != nil {
		return 0, d, s.fail("send second stage", err)
	}
	s.log.Info("rpiboot: second stage sent", "file", f.Source, "bytes", f.Size())

	if err := s.sleep(ctx, romSettle); err != nil {
		return 0, d, s.fail("read return code", err)
	}
	buf := make([]byte, returnCodeLen)
	n, err := l.read(buf, s.t.Read)
	if err != nil {
		return 0, d, s.fail("read return code", err)
	}
	if n < returnCodeLen {
		return 0, d, s.fail("read return code", fmt.Errorf("%d bytes, want %d: %w", n, returnCodeLen, ErrProtocol))
	}
	code := int32(binary.LittleEndian.Uint32(buf))
	if code != 0 {
		s.log.Warn("rpiboot: the boot ROM answered the upload with a non-zero return code; waiting to see whether the second stage starts",
			"return_code", fmt.Sprintf("%d (0x%08x)", code, uint32(code)))
	}
	return code, d, nil
}
