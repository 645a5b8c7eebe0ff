package bmc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal/usb"
	"github.com/turingpi-oss/bmcd/hal/usb/usbfs"
)

// RPiBooter is the USBBooter of boards whose slots' USB reaches the
// controller: it runs the Raspberry Pi USB boot protocol on the slot's
// USB port and then finds, through sysfs, the block device the module
// became on that same port.
type RPiBooter struct {
	Bus usb.Bus
	// Ports maps a slot to the physical USB port path its module
	// enumerates on ("1-1.2"). Empty: the first module in USB boot mode
	// on any port, which is right only while one slot at a time is
	// routed to the controller.
	Ports map[int]string
	// Firmware supplies the second stage and the mass-storage payload.
	Firmware *rpiboot.Firmware
	Payload  rpiboot.Payload
	Timeouts rpiboot.Timeouts
	// SysRoot and DevRoot are "/sys" and "/dev" on hardware; the
	// simulated bus writes its own tree.
	SysRoot, DevRoot string
	// DiskTimeout bounds the wait for the block device once the module
	// is mass storage; default usbfs.DefaultDiskTimeout.
	DiskTimeout time.Duration
	Clock       clockwork.Clock
	Logger      *slog.Logger
}

var _ USBBooter = (*RPiBooter)(nil)

// BootToDisk implements USBBooter.
func (r *RPiBooter) BootToDisk(ctx context.Context, slot int) (string, error) {
	port, ok := r.Ports[slot]
	if !ok && len(r.Ports) > 0 {
		return "", fmt.Errorf("usb boot slot %d: no USB port configured: %w", slot, ErrNotFlashable)
	}
	res, err := rpiboot.Boot(ctx, r.Bus, port, &rpiboot.Opts{
		Firmware: r.Firmware,
		Payload:  r.Payload,
		Timeouts: r.Timeouts,
		Clock:    r.Clock,
		Logger:   r.Logger,
	})
	if errors.Is(err, rpiboot.ErrNotFound) {
		return "", fmt.Errorf("usb boot slot %d: %w; %s", slot, err, FirmwareHint)
	}
	if err != nil {
		// rpiboot's errors name USB boot and the port already.
		return "", fmt.Errorf("slot %d: %w", slot, err)
	}
	wait := r.DiskTimeout
	if wait <= 0 {
		wait = usbfs.DefaultDiskTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	disk, err := usbfs.FindDisk(ctx, r.Clock, r.SysRoot, r.DevRoot, res.Port)
	if err != nil {
		return "", fmt.Errorf("usb boot slot %d: %s became %04x:%04x but: %w",
			slot, res.Chip.Module(), res.Device.VendorID, res.Device.ProductID, err)
	}
	return disk, nil
}
