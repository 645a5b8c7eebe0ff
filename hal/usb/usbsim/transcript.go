package usbsim

import (
	"fmt"
	"strings"
	"time"
)

// OpKind is what the host did to a device.
type OpKind int

// Operations recorded in a transcript. The zero OpKind matches any
// transfer in a [Fault].
const (
	OpOpen OpKind = iota + 1
	OpClaim
	OpRelease
	OpControlOut
	OpControlIn
	OpBulkOut
	// OpClearHalt is the device's ClearHalt method (the control request
	// CLEAR_FEATURE(ENDPOINT_HALT) is an OpControlOut).
	OpClearHalt
	OpClose
)

func (k OpKind) String() string {
	switch k {
	case OpOpen:
		return "open"
	case OpClaim:
		return "claim"
	case OpRelease:
		return "release"
	case OpControlOut:
		return "control-out"
	case OpControlIn:
		return "control-in"
	case OpBulkOut:
		return "bulk-out"
	case OpClearHalt:
		return "clear-halt"
	case OpClose:
		return "close"
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// isTransfer reports whether k moves data (and so can carry a Fault).
func (k OpKind) isTransfer() bool {
	return k == OpControlOut || k == OpControlIn || k == OpBulkOut
}

// Op is one operation the host performed on a device, as the simulator
// saw it.
type Op struct {
	// Seq numbers the operations of a bus from 1.
	Seq int
	// At is the bus clock's time since the bus was created.
	At time.Duration
	// Port, Address, VendorID and ProductID identify the device the host
	// had open (the enumeration it opened, for a handle that outlived it).
	Port      string
	Address   int
	VendorID  uint16
	ProductID uint16
	Kind      OpKind
	// Interface is the interface of a claim or release.
	Interface int
	// RequestType, Request, Value and Index are the setup packet of a
	// control transfer; Length is its wLength (control) or the data
	// length (bulk).
	RequestType, Request uint8
	Value, Index         uint16
	Endpoint             uint8
	Length               int
	// N is how many bytes the transfer moved.
	N int
	// Timeout is what the host asked for.
	Timeout time.Duration
	// CRC is the CRC-32 (IEEE) of the N bytes moved.
	CRC uint32
	// Note is the device's reading of the operation ("announce 24",
	// "request GetFileSize mcb.bin").
	Note string
	// Err is what the call returned.
	Err error
}

// String formats the operation on one line without its time and sequence
// number, for golden files:
//
//	1-1.2 dev 2 0a5c:2711 bulk-out ep=0x01 len=24 timeout=5s -> 24 crc=3c2a10cb: boot message: image length 4096
func (o Op) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s dev %d %04x:%04x %s", o.Port, o.Address, o.VendorID, o.ProductID, o.Kind)
	switch o.Kind {
	case OpClaim, OpRelease:
		fmt.Fprintf(&b, " %d", o.Interface)
	case OpControlOut, OpControlIn:
		fmt.Fprintf(&b, " type=0x%02x req=0x%02x value=0x%04x index=0x%04x len=%d timeout=%s -> %d",
			o.RequestType, o.Request, o.Value, o.Index, o.Length, o.Timeout, o.N)
	case OpBulkOut:
		fmt.Fprintf(&b, " ep=0x%02x len=%d timeout=%s -> %d", o.Endpoint, o.Length, o.Timeout, o.N)
	case OpClearHalt:
		fmt.Fprintf(&b, " ep=0x%02x", o.Endpoint)
	}
	if o.Kind.isTransfer() && o.N > 0 {
		fmt.Fprintf(&b, " crc=%08x", o.CRC)
	}
	if o.Err != nil {
		fmt.Fprintf(&b, " error=%q", o.Err.Error())
	}
	if o.Note != "" {
		fmt.Fprintf(&b, ": %s", o.Note)
	}
	return b.String()
}

// TranscriptLimit bounds what a bus and each module remember (operations,
// files, metadata): a simulated board in a bmcd that runs for weeks (make
// run) flashes over and over, and only tests read the records, over far
// fewer entries.
const TranscriptLimit = 512

// appendBounded appends v to s, first dropping the older half of s when
// it holds TranscriptLimit entries (amortised O(1) per append).
func appendBounded[T any](s []T, v T) []T {
	if len(s) >= TranscriptLimit {
		s = append(s[:0], s[len(s)-TranscriptLimit/2:]...)
	}
	return append(s, v)
}
