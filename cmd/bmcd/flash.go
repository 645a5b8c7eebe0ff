package main

import (
	"log/slog"
	"maps"
	"slices"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/usb/usbfs"
)

// hardwareFlash is how a real board flashes: rpiboot over the kernel's
// usbfs, disks found in /sys. Boards without a USB boot strap (Turing
// Pi 1) refuse flash jobs in package bmc before touching anything. board
// (nil while it is not open) tells whether slots can flash at once.
func hardwareFlash(cfg config, board hal.Board, log *slog.Logger) bmc.FlashConfig {
	payload, _ := cfg.payload() // checked by complete
	ports := cfg.Flash.USBPorts
	var slots []int // nil: every slot
	if len(ports) > 0 {
		slots = slices.Sorted(maps.Keys(ports))
	}
	return bmc.FlashConfig{
		Booter: &bmc.RPiBooter{
			Bus:      usbfs.New(&usbfs.Opts{Logger: log}),
			Ports:    ports,
			Firmware: rpiboot.NewFirmware(cfg.Flash.FirmwareDir),
			Payload:  payload,
			SysRoot:  "/sys",
			DevRoot:  "/dev",
			Logger:   log,
		},
		Slots: slots,
		// Where every node has its own port (the v2.5's hub) and the
		// ports are known, slots flash at once. Otherwise the one module
		// in USB boot mode is found wherever it is, so one at a time.
		Parallel: parallelFlash(board) && len(ports) > 0,
		Images:   cfg.Memory.images(log, cfg.flashProcs()),
	}
}

// parallelFlash reports whether the board profile's USB topology lets
// slots flash at once.
func parallelFlash(board hal.Board) bool {
	t, ok := board.(hal.USBTopology)
	return ok && t.USBTopology().ParallelFlash
}
