package usbsim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// The second-stage file server protocol (reference §4.1, §4.2;
// raspberrypi/usbboot main.c file_server, struct file_message).
const (
	// requestLen is a request: int32 LE command, then a 256-byte file
	// name, NUL-padded.
	requestLen     = 4 + requestNameLen
	requestNameLen = 256

	cmdGetFileSize = 0
	cmdReadFile    = 1
	cmdDone        = 2
)

// Step is one thing the second stage asks the host for.
type Step struct {
	// Name is a file name; a metadata line "*KEY*VALUE" (sent as a
	// GetFileSize, answered with a zero-length announce); or "" for the
	// end of the session told with an empty name, which the host also
	// answers with a zero-length announce. A script that does not end with
	// "" ends with a Done request.
	//
	// For a file, the module sends GetFileSize and, if the host announces
	// a size other than 0, ReadFile.
	Name string
	// Required files make the module fail if the host answers size 0.
	Required bool
}

// Script is the default list of requests of a profile's second stage,
// from the logs quoted in reference §5.1:
//
//	BCM2711, mass-storage-gadget64: mcb.bin, memsys00.bin … memsys08.bin,
//	    bootmain*, config.txt, boot.img*
//	BCM2712: the same with memsys00.bin … memsys03.bin
//	BCM2711, legacy msd: config.txt, pieeprom.sig, start4.elf*, fixup4.dat
//	BCM2837, legacy msd: autoboot.txt, config.txt, recovery.elf, start.elf*,
//	    fixup.dat
//	BCM2837, mass-storage-gadget64: config.txt, boot.img* (inferred: no
//	    log shows it)
//
// (* = required), each followed by Done.
func Script(p Profile) []Step {
	file := func(name string) Step { return Step{Name: name} }
	required := func(name string) Step { return Step{Name: name, Required: true} }
	switch {
	case p.payload() == MassStorageGadget && (p.ROMProduct == productBCM2711 || p.ROMProduct == productBCM2712):
		memsys := 9
		if p.ROMProduct == productBCM2712 {
			memsys = 4
		}
		s := []Step{file("mcb.bin")}
		for i := range memsys {
			s = append(s, file(fmt.Sprintf("memsys%02d.bin", i)))
		}
		return append(s, required("bootmain"), file("config.txt"), required("boot.img"))
	case p.payload() == MassStorageGadget:
		return []Step{file("config.txt"), required("boot.img")}
	case p.ROMProduct == productBCM2711:
		return []Step{file("config.txt"), file("pieeprom.sig"), required("start4.elf"), file("fixup4.dat")}
	}
	return []Step{file("autoboot.txt"), file("config.txt"), file("recovery.elf"), required("start.elf"), file("fixup.dat")}
}

// ssPhase is what the second stage waits for.
type ssPhase int

const (
	ssAwaitRead         ssPhase = iota // the host to read the next request
	ssAwaitSize                        // the announce answering GetFileSize
	ssAwaitReadAnnounce                // the announce answering ReadFile
	ssAwaitData                        // the file over bulk
	ssAwaitAck                         // the zero-length announce answering metadata or the empty name
	ssDone                             // Done sent; about to disconnect
)

func (p ssPhase) String() string {
	switch p {
	case ssAwaitRead:
		return "waiting for a request read"
	case ssAwaitSize:
		return "waiting for a file size"
	case ssAwaitReadAnnounce:
		return "waiting for the file announce"
	case ssAwaitData:
		return "waiting for file data"
	case ssAwaitAck:
		return "waiting for an acknowledgement"
	case ssDone:
		return "done"
	}
	return fmt.Sprintf("ssPhase(%d)", int(p))
}

// secondStage is the second stage's side of the protocol.
type secondStage struct {
	script []Step
	// i is the current step; reading tells GetFileSize from ReadFile.
	i       int
	reading bool
	phase   ssPhase
	size    int64
	got     int64
	sum     hash.Hash
	latency time.Duration
	readyAt time.Time
}

func (s *secondStage) start(now time.Time, latency time.Duration) {
	s.i, s.reading, s.phase = 0, false, ssAwaitRead
	s.latency, s.readyAt = latency, now.Add(latency)
}

// next moves to the next step, busy for the latency.
func (s *secondStage) next(now time.Time) {
	s.i++
	s.reading = false
	s.phase = ssAwaitRead
	s.readyAt = now.Add(s.latency)
}

func (s *secondStage) step() Step { return s.script[s.i] }

// encodeRequest lays out a request message.
func encodeRequest(cmd int32, name string) []byte {
	b := make([]byte, requestLen)
	binary.LittleEndian.PutUint32(b, uint32(cmd))
	copy(b[4:requestLen-1], name) // keep a terminating NUL
	return b
}

// ssControl handles a vendor control request to the second stage.
func (m *Module) ssControl(in bool, length int, data []byte, now time.Time) outcome {
	s := &m.ss
	if in {
		if length != requestLen || len(data) != requestLen {
			return stall(fmt.Sprintf("unexpected read of %d bytes", length))
		}
		if s.phase != ssAwaitRead {
			return stall(fmt.Sprintf("request read while %s", s.phase))
		}
		if now.Before(s.readyAt) {
			return outcome{busy: s.readyAt.Sub(now)}
		}
		return m.ssRequest()
	}
	if len(data) != 0 {
		return stall("announce with a data stage")
	}
	size := int64(length)
	switch s.phase {
	case ssAwaitSize:
		st := s.step()
		if size == 0 {
			return m.ssMissing(st, now)
		}
		s.size, s.reading, s.phase = size, true, ssAwaitRead
		s.readyAt = now.Add(s.latency)
		return outcome{note: fmt.Sprintf("size of %s: %d", st.Name, size)}
	case ssAwaitReadAnnounce:
		st := s.step()
		switch size {
		case 0:
			return m.ssMissing(st, now)
		case s.size:
			s.phase, s.got, s.sum = ssAwaitData, 0, sha256.New()
			return outcome{note: fmt.Sprintf("announce %s: %d", st.Name, size)}
		}
		return stall(fmt.Sprintf("announce %s: %d, but its size was %d", st.Name, size, s.size))
	case ssAwaitAck:
		if size != 0 {
			return stall(fmt.Sprintf("announce %d where a zero-length acknowledgement was due", size))
		}
		st := s.step()
		if st.Name == "" {
			s.phase = ssDone
			m.rebootInto(StateMassStorage, m.profile.Timing.MassStorage)
			return outcome{note: "acknowledged the end"}
		}
		m.metadata = appendBounded(m.metadata, st.Name)
		s.next(now)
		return outcome{note: "acknowledged metadata " + st.Name}
	case ssDone:
		if size == 0 {
			// main.c answers a Done with an empty name like the
			// empty-name end (reference §4.2); harmless.
			return outcome{note: "acknowledged Done"}
		}
	}
	return stall(fmt.Sprintf("unexpected announce %d (%s)", size, s.phase))
}

// ssRequest returns the next request.
func (m *Module) ssRequest() outcome {
	s := &m.ss
	if s.i >= len(s.script) {
		s.phase = ssDone
		m.rebootInto(StateMassStorage, m.profile.Timing.MassStorage)
		switch m.profile.Quirks.SessionEnd {
		case EndDisconnect:
			// No answer; the transfer ends when the device leaves.
			return outcome{busy: max(m.profile.Timing.Disconnect, time.Millisecond), note: "no Done: the second stage starts its payload"}
		case EndIOError:
			return outcome{err: usb.ErrIO, note: "no Done: the second stage resets under the read"}
		}
		return outcome{data: encodeRequest(cmdDone, ""), note: "request Done"}
	}
	st := s.step()
	switch {
	case st.Name == "":
		s.phase = ssAwaitAck
		return outcome{data: encodeRequest(cmdGetFileSize, ""), note: "request end (empty name)"}
	case strings.HasPrefix(st.Name, "*"):
		s.phase = ssAwaitAck
		return outcome{data: encodeRequest(cmdGetFileSize, st.Name), note: "metadata " + st.Name}
	case s.reading:
		s.phase = ssAwaitReadAnnounce
		return outcome{data: encodeRequest(cmdReadFile, st.Name), note: "request ReadFile " + st.Name}
	}
	s.phase = ssAwaitSize
	return outcome{data: encodeRequest(cmdGetFileSize, st.Name), note: "request GetFileSize " + st.Name}
}

// ssMissing handles a size-0 answer: the file is missing.
func (m *Module) ssMissing(st Step, now time.Time) outcome {
	m.files = appendBounded(m.files, File{Name: st.Name})
	if st.Required {
		m.fail(fmt.Errorf("usbsim: %s second stage: required file %s is missing", m.port, st.Name))
		return outcome{note: fmt.Sprintf("%s missing: required, the module fails", st.Name)}
	}
	m.ss.next(now)
	return outcome{note: st.Name + " missing"}
}

// ssBulk handles bulk data sent to the second stage.
func (m *Module) ssBulk(data []byte, now time.Time) outcome {
	s := &m.ss
	if s.phase != ssAwaitData {
		return outcome{nak: true, note: fmt.Sprintf("bulk data nobody announced (%s)", s.phase)}
	}
	st := s.step()
	n := int(min(int64(len(data)), s.size-s.got))
	s.sum.Write(data[:n])
	s.got += int64(n)
	out := outcome{n: n, nak: n < len(data), note: fmt.Sprintf("%s %d/%d", st.Name, s.got, s.size)}
	if s.got == s.size {
		f := File{Name: st.Name, Size: s.size}
		s.sum.Sum(f.SHA256[:0])
		m.files = appendBounded(m.files, f)
		s.next(now)
	}
	return out
}
