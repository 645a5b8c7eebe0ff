package usbsim

import (
	"fmt"
	"time"
)

// FaultKind is how an injected fault fails a transfer.
type FaultKind int

// Kinds of injected faults.
const (
	// FaultTimeout: the device does not answer; the call blocks for its
	// timeout (on the bus clock) and fails with usb.ErrTimeout.
	FaultTimeout FaultKind = iota + 1
	// FaultStall: the device stalls the transfer (usb.ErrStall) and moves
	// no data. A stalled bulk endpoint stays halted until the host clears
	// it with CLEAR_FEATURE(ENDPOINT_HALT); a stalled control request
	// needs nothing.
	FaultStall
	// FaultVanish: the device disappears in the middle of the transfer
	// (half of a bulk transfer goes through) and the call fails with
	// usb.ErrNoDevice, as when a module loses power. It never comes back.
	FaultVanish
)

func (k FaultKind) String() string {
	switch k {
	case FaultTimeout:
		return "timeout"
	case FaultStall:
		return "stall"
	case FaultVanish:
		return "vanish"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault fails the N-th transfer that matches Stage and Op, and the
// Times-1 matching transfers after it. Stall faults on bulk transfers count
// the retries too, so Times 1 stalls a chunk once and lets its retry
// through, and Times 4 stalls it and its three retries.
type Fault struct {
	Kind FaultKind
	// Stage is StateROM or StateSecondStage; zero matches any stage.
	Stage State
	// Op is OpControlOut, OpControlIn or OpBulkOut; zero matches any
	// transfer.
	Op OpKind
	// N counts matching transfers from 1; zero means 1.
	N int
	// Times is how many consecutive matching transfers fail; zero means 1.
	Times int
}

// fault is a Fault with its count of matching transfers so far.
type fault struct {
	Fault
	seen int
}

// match counts a transfer of kind k in stage s and reports whether the
// fault fires on it.
func (f *fault) match(s State, k OpKind) bool {
	if (f.Stage != 0 && f.Stage != s) || (f.Op != 0 && f.Op != k) {
		return false
	}
	f.seen++
	first := max(f.N, 1)
	return f.seen >= first && f.seen < first+max(f.Times, 1)
}

// Quirks are behaviours of real modules, good and bad, that a Profile can
// switch on.
type Quirks struct {
	// ROMEnumeratesTwice: the boot ROM re-enumerates right after it is
	// first listed, as the BCM2711 ROM does (reference §1.2, usbboot PR
	// #63): the first Open fails with usb.ErrNoDevice and the ROM is then
	// listed again with a new address.
	ROMEnumeratesTwice bool
	// NeverReenumerate: after accepting the second stage the ROM
	// disconnects and nothing comes back.
	NeverReenumerate bool
	// ROMReturnCode, if not zero, is what the ROM returns for the 4-byte
	// read instead of 0. It starts the second stage all the same, unless
	// ROMRejectsUpload: main.c reads the code but ignores it (reference
	// §3.2 step 7), so nothing says a non-zero code means a failed boot.
	ROMReturnCode int32
	// ROMRejectsUpload: after a non-zero ROMReturnCode the ROM keeps
	// waiting for a new upload, on the bus at the same address.
	ROMRejectsUpload bool
	// ROMLostUploads is how many uploads, from the first, the ROM loses:
	// after its return code it leaves the bus and, after
	// Timing.SecondStage, enumerates as the boot ROM again, at a new
	// address, and needs the upload again. The BCM2711 ROM can show up
	// again after the upload (usbboot PR #63; the log in usbboot#73 has
	// rpiboot send bootcode.bin twice).
	ROMLostUploads int
	// SessionEnd is how the second stage ends its file-server session
	// once its script is done. The zero value sends Done.
	SessionEnd SessionEnd
	// RequestLatency is how long the second stage is busy before it can
	// answer each request read; a read shorter than that times out.
	RequestLatency time.Duration
}

// Timing is how long a module takes between stages, in bus-clock time.
type Timing struct {
	// Disconnect is how long after the ROM's return code, or the second
	// stage's Done, the device leaves the bus.
	Disconnect time.Duration
	// SecondStage is how long after the ROM's return code the second stage
	// enumerates.
	SecondStage time.Duration
	// MassStorage is how long after Done the mass-storage device
	// enumerates and its disk appears.
	MassStorage time.Duration
}

// SessionEnd is how a second stage ends its file-server session.
// usbboot's main.c (file_server) ends the session when the device sends
// Done or an empty name, and equally when its request read fails because
// the device is gone (LIBUSB_ERROR_NO_DEVICE) or the transfer broke
// (LIBUSB_ERROR_IO): a second stage that has what it needs may just start
// it and drop off the bus, to come back as the mass-storage device
// (reference §4.2).
type SessionEnd int

// Ways a second stage ends its session.
const (
	// EndDone: it sends Done, then leaves the bus after
	// Timing.Disconnect.
	EndDone SessionEnd = iota
	// EndDisconnect: it sends no Done. It starts its payload and does
	// not answer the host's next request read, which fails with
	// usb.ErrNoDevice when it leaves the bus after Timing.Disconnect.
	EndDisconnect
	// EndIOError: it sends no Done; the host's next request read fails
	// with usb.ErrIO (the device resets under the transfer), and the
	// device leaves the bus after Timing.Disconnect.
	EndIOError
)

func (e SessionEnd) String() string {
	switch e {
	case EndDone:
		return "Done"
	case EndDisconnect:
		return "disconnect"
	case EndIOError:
		return "I/O error"
	}
	return fmt.Sprintf("SessionEnd(%d)", int(e))
}
