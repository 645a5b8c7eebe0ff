//go:build !linux

package usbfs

import (
	"context"
	"errors"
	"time"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// errNeedsLinux is what every method returns off Linux.
var errNeedsLinux = errors.New("usbfs: needs Linux")

// Devices fails: usbfs is Linux's.
func (b *Bus) Devices(ctx context.Context) ([]usb.DeviceInfo, error) {
	return nil, errNeedsLinux
}

// Open fails: usbfs is Linux's.
func (b *Bus) Open(ctx context.Context, d usb.DeviceInfo) (usb.Device, error) {
	return nil, errNeedsLinux
}

// Device is an open usbfs node; off Linux there is none.
type Device struct{}

// Claim fails: usbfs is Linux's.
func (d *Device) Claim(iface int) error { return errNeedsLinux }

// Release fails: usbfs is Linux's.
func (d *Device) Release(iface int) error { return errNeedsLinux }

// Control fails: usbfs is Linux's.
func (d *Device) Control(reqType, req uint8, value, index uint16, data []byte, timeout time.Duration) (int, error) {
	return 0, errNeedsLinux
}

// BulkOut fails: usbfs is Linux's.
func (d *Device) BulkOut(ep uint8, data []byte, timeout time.Duration) (int, error) {
	return 0, errNeedsLinux
}

// ClearHalt fails: usbfs is Linux's.
func (d *Device) ClearHalt(ep uint8) error { return errNeedsLinux }

// Close does nothing.
func (d *Device) Close() error { return nil }

var _ usb.Device = (*Device)(nil)
