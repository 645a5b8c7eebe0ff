package rpiboot

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// romStage sends the second stage to the boot ROM d (reference §3.2):
// announce 24, the boot message, announce N, the N-byte image in chunks,
// then the 4-byte return code, which must be 0. The ROM then disconnects
// by itself.
func (s *session) romStage(ctx context.Context, d usb.DeviceInfo) error {
	name := s.chip.secondStageFile()
	f, err := s.fw.Open(s.chip, s.payload, name)
	if err != nil {
		return s.fail("load second stage", err)
	}
	defer f.Close()
	msg, err := bootMessage(f.Size())
	if err != nil {
		return s.fail("load second stage", fmt.Errorf("%s: %w", f.Source, err))
	}

	dev, d, err := s.open(ctx, d, StageROM)
	if err != nil {
		return err
	}
	defer s.closeDevice(dev)
	l, err := s.claim(dev, d)
	if err != nil {
		return err
	}

	if err := l.announce(bootMessageLen); err != nil {
		return s.fail(fmt.Sprintf("send boot message: announce %d bytes", bootMessageLen), err)
	}
	if err := l.send(ctx, bytes.NewReader(msg), bootMessageLen); err != nil {
		return s.fail("send boot message", err)
	}
	if err := l.announce(f.Size()); err != nil {
		return s.fail(fmt.Sprintf("send second stage: announce %d bytes", f.Size()), err)
	}
	if err := l.send(ctx, f, f.Size()); err != nil {
		return s.fail("send second stage", err)
	}
	s.log.Info("rpiboot: second stage sent", "file", f.Source, "bytes", f.Size())

	if err := s.sleep(ctx, romSettle); err != nil {
		return s.fail("read return code", err)
	}
	buf := make([]byte, returnCodeLen)
	n, err := l.read(buf, s.t.Read)
	if err != nil {
		return s.fail("read return code", err)
	}
	if n < returnCodeLen {
		return s.fail("read return code", fmt.Errorf("%d bytes, want %d: %w", n, returnCodeLen, ErrProtocol))
	}
	if code := int32(binary.LittleEndian.Uint32(buf)); code != 0 {
		return s.fail("read return code", fmt.Errorf("return code %d (0x%08x): %w", code, uint32(code), ErrReturnCode))
	}
	return nil
}
