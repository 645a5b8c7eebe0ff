package rpiboot

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// fileServer answers the second stage d until it is done (reference §4.2):
// it sends Done or an empty name, or, once it has had at least one
// request answered, it leaves the bus under the next request read (the
// read fails with usb.ErrNoDevice or usb.ErrIO). main.c takes that as the
// normal end of the session too: a second stage may start its payload
// without a word. Before any request, it is an error.
func (s *session) fileServer(ctx context.Context, d usb.DeviceInfo) error {
	dev, d, err := s.open(ctx, d, StageFileServer)
	if err != nil {
		return err
	}
	defer s.closeDevice(dev)
	l, err := s.claim(dev, d)
	if err != nil {
		return err
	}
	s.log.Info("rpiboot: serving files", "device", d.String())
	deadline := s.clock.Now().Add(s.t.FileServer)
	buf := make([]byte, fileMessageLen)
	for answered := 0; ; answered++ {
		if s.clock.Until(deadline) <= 0 {
			return s.fail("file server", fmt.Errorf("not done after %s: %w", s.t.FileServer, ErrDeadline))
		}
		msg, err := s.request(ctx, l, buf)
		if answered > 0 && (errors.Is(err, usb.ErrNoDevice) || errors.Is(err, usb.ErrIO)) {
			s.log.Info("rpiboot: the second stage left the bus without Done; taking it as the end of the session",
				"requests", answered, "err", err)
			return nil
		}
		if err != nil {
			return err
		}
		done, err := s.answer(ctx, l, msg)
		if err != nil || done {
			return err
		}
	}
}

// request reads the next request. A read that times out is tried again
// after a pause (main.c file_server), up to maxRequestReads times: the
// device may be busy.
func (s *session) request(ctx context.Context, l *link, buf []byte) (fileMessage, error) {
	const step = "file server: read request"
	for reads := 1; ; reads++ {
		_, err := l.read(buf, s.t.Read)
		if err == nil {
			msg, err := parseFileMessage(buf)
			if err != nil {
				return msg, s.fail(step, err)
			}
			return msg, nil
		}
		if !errors.Is(err, usb.ErrTimeout) || reads == maxRequestReads {
			return fileMessage{}, s.fail(step, err)
		}
		s.log.Warn("rpiboot: request read timed out, reading again", "reads", reads, "err", err)
		if err := s.sleep(ctx, requestRetryPause); err != nil {
			return fileMessage{}, s.fail(step, err)
		}
	}
}

// answer answers one request and reports whether the session is over.
func (s *session) answer(ctx context.Context, l *link, msg fileMessage) (done bool, err error) {
	s.log.Debug("rpiboot: request", "command", msg.command, "name", msg.name)
	switch {
	case msg.name == "":
		// An empty name ends the session too; main.c checks it first and
		// answers it, Done or not, with a zero-length announce.
		if err := l.announce(0); err != nil {
			if msg.command != CommandDone {
				return true, s.fail("file server: end: announce 0 bytes", err)
			}
			// Done needs no answer; the device may be gone already.
			s.log.Debug("rpiboot: acknowledging Done", "err", err)
		}
		return true, nil
	case msg.command == CommandDone:
		return true, nil
	case strings.HasPrefix(msg.name, "*"):
		key, value, _ := strings.Cut(msg.name[1:], "*")
		if s.res.Metadata == nil {
			s.res.Metadata = map[string]string{}
		}
		s.res.Metadata[key] = value
		s.log.Info("rpiboot: device metadata", "key", key, "value", value)
		if err := l.announce(0); err != nil {
			return true, s.fail(fmt.Sprintf("file server: metadata %s: announce 0 bytes", key), err)
		}
		return false, nil
	}
	return false, s.serve(ctx, l, msg)
}

// serve answers GetFileSize with the file's size and ReadFile with the
// size and the file. A file that is missing, or whose name is refused, is
// announced with size 0; if the device cannot boot without it, the
// session fails.
func (s *session) serve(ctx context.Context, l *link, msg fileMessage) error {
	step := fmt.Sprintf("file server: %s %s", msg.command, msg.name)
	req := FileRequest{Command: msg.command, Name: msg.name}
	f, err := s.fw.Open(s.chip, s.payload, msg.name)
	switch {
	case errors.Is(err, ErrUnsafeName):
		s.log.Warn("rpiboot: refusing a file outside the firmware directory; answering it as missing", "name", msg.name)
	case errors.Is(err, ErrNotFound):
		s.log.Debug("rpiboot: no such file; answering it as missing", "name", msg.name)
	case err != nil:
		return s.fail(step, err)
	}
	if f == nil {
		s.res.Files = append(s.res.Files, req)
		if aerr := l.announce(0); aerr != nil {
			return s.fail(step+": announce 0 bytes", aerr)
		}
		if required(msg.name) {
			return s.fail(step, fmt.Errorf("the device cannot boot without it: %w", err))
		}
		return nil
	}
	defer f.Close()
	req.Size, req.Source = f.Size(), f.Source
	s.res.Files = append(s.res.Files, req)
	if err := l.announce(f.Size()); err != nil {
		return s.fail(fmt.Sprintf("%s: announce %d bytes", step, f.Size()), err)
	}
	if msg.command != CommandReadFile || f.Size() == 0 {
		return nil
	}
	if err := l.send(ctx, f, f.Size()); err != nil {
		return s.fail(step, err)
	}
	s.log.Debug("rpiboot: file sent", "name", msg.name, "source", f.Source, "bytes", f.Size())
	return nil
}

// required reports whether the second stage cannot go on without name:
// the mass-storage-gadget's bootmain and boot.img, the msd firmware's
// start*.elf (reference §5.1).
func required(name string) bool {
	base := strings.ToLower(path.Base(name))
	return base == "bootmain" || base == "boot.img" || (strings.HasPrefix(base, "start") && strings.HasSuffix(base, ".elf"))
}
