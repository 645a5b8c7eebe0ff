package usbfs

import (
	"log/slog"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// Opts configures a Bus. The zero value (or nil) uses the real roots.
type Opts struct {
	// SysRoot is where sysfs is mounted: "/sys" if empty.
	SysRoot string
	// DevRoot is where devtmpfs is mounted: "/dev" if empty.
	DevRoot string
	// Logger receives debug messages (devices that vanished, detached
	// drivers) and warnings (unreadable devices). Nil discards them.
	Logger *slog.Logger
}

// Bus lists the USB devices of the running kernel and opens them. It is
// safe for concurrent use.
type Bus struct {
	sysRoot, devRoot string
	log              *slog.Logger
}

// New returns the bus seen through opts.SysRoot and opts.DevRoot.
func New(opts *Opts) *Bus {
	if opts == nil {
		opts = &Opts{}
	}
	b := &Bus{sysRoot: opts.SysRoot, devRoot: opts.DevRoot, log: opts.Logger}
	if b.sysRoot == "" {
		b.sysRoot = "/sys"
	}
	if b.devRoot == "" {
		b.devRoot = "/dev"
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	return b
}

var _ usb.Bus = (*Bus)(nil)
