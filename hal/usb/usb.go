package usb

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Transfer errors. Backends wrap them with the operation and the device.
var (
	// ErrNoDevice: the device is gone (unplugged, re-enumerating).
	ErrNoDevice = errors.New("usb: no such device (it disconnected)")
	// ErrTimeout: the transfer did not complete in time.
	ErrTimeout = errors.New("usb: transfer timed out")
	// ErrStall: the endpoint stalled (the device refused the request).
	ErrStall = errors.New("usb: endpoint stalled")
	// ErrIO: any other transfer failure (protocol, CRC, overflow).
	ErrIO = errors.New("usb: I/O error")
	// ErrBusy: the interface is claimed by someone else.
	ErrBusy = errors.New("usb: interface busy")
)

// DeviceInfo describes an attached device, as enumeration sees it.
type DeviceInfo struct {
	// Port is the physical port path, e.g. "1-1.2". It stays the same
	// when the device re-enumerates, so it ties the stages of one
	// compute module together.
	Port string
	// Bus and Address name the device node /dev/bus/usb/BBB/DDD. Address
	// changes on every enumeration.
	Bus, Address int
	VendorID     uint16
	ProductID    uint16
	// SerialIndex is iSerialNumber from the device descriptor: the string
	// index, not the string. The Raspberry Pi boot ROM reports 0 or 3.
	SerialIndex uint8
	// Serial is the serial number string, "" if SerialIndex is 0.
	Serial string
	// NumInterfaces is bNumInterfaces of the active configuration.
	NumInterfaces int
}

func (d DeviceInfo) String() string {
	return fmt.Sprintf("%04x:%04x at port %s (bus %03d device %03d)", d.VendorID, d.ProductID, d.Port, d.Bus, d.Address)
}

// Bus lists and opens devices.
type Bus interface {
	// Devices returns the devices attached now.
	Devices(ctx context.Context) ([]DeviceInfo, error)
	// Open opens a device listed by Devices. It fails with ErrNoDevice if
	// the device has gone or re-enumerated since.
	Open(ctx context.Context, d DeviceInfo) (Device, error)
}

// Device is an open device.
type Device interface {
	// Claim claims an interface for this process, detaching a kernel
	// driver bound to it if there is one.
	Claim(iface int) error
	// Release releases a claimed interface.
	Release(iface int) error
	// Control performs a control transfer. The direction is bit 7 of
	// reqType: for IN transfers data receives up to len(data) bytes, for
	// OUT transfers data is sent (it may be empty). It returns the number
	// of bytes transferred.
	Control(reqType, req uint8, value, index uint16, data []byte, timeout time.Duration) (int, error)
	// BulkOut sends data to an OUT endpoint and returns how much was sent.
	BulkOut(ep uint8, data []byte, timeout time.Duration) (int, error)
	// ClearHalt un-halts an endpoint after a STALL as the kernel does
	// (USBDEVFS_CLEAR_HALT): CLEAR_FEATURE(ENDPOINT_HALT) to the device
	// and a reset of the host's data toggle, which a bare control
	// transfer would leave out of step.
	ClearHalt(ep uint8) error
	// Close releases the device.
	Close() error
}
