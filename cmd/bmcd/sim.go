package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
	"github.com/turingpi-oss/bmcd/hal/sim/simconsole"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// openSim opens the simulated board with a simulated USB bus on which
// compute modules appear in USB boot mode as on the real board (behind
// the v2.4's multiplexer or the v2.5's hub, as configured), each slot's
// eMMC a file under the state dir.
func openSim(cfg config, log *slog.Logger) (*hardware, error) {
	h := &hardware{}
	profile, err := cfg.simProfile()
	if err != nil {
		return nil, err
	}
	topology, err := sim.ParseUSBTopology(cfg.Sim.USB)
	if err != nil {
		return nil, err
	}
	usbRoot := filepath.Join(cfg.StateDir, "sim-usb")
	// The tree describes devices of the last run, which are gone.
	if err := os.RemoveAll(usbRoot); err != nil {
		return nil, fmt.Errorf("sim: clear %s: %w", usbRoot, err)
	}
	if err := usbsim.WriteFirmware(cfg.Flash.FirmwareDir); err != nil {
		return nil, err
	}
	bus := usbsim.New(&usbsim.Opts{Root: usbRoot, Logger: log})
	h.closers = append(h.closers, bus.Close)
	// Each module's UART is a pseudo-terminal whose other end is a
	// simulated node that boots when its slot is powered.
	nodes, err := simconsole.New(&simconsole.Opts{Slots: cfg.Sim.Slots, Logger: log})
	if err != nil {
		return nil, closeAfter(err, "the board", h.close)
	}
	h.closers = append(h.closers, nodes.Close)
	hw, err := sim.New(&sim.Opts{
		Slots:     cfg.Sim.Slots,
		Absent:    cfg.Sim.Absent,
		StatePath: filepath.Join(cfg.StateDir, "sim-hardware.json"),
		USB: &sim.USB{
			Bus:      bus,
			Topology: topology,
			Module:   profile,
			Disk: func(slot int) usbsim.Disk {
				return usbsim.Disk{Path: simEMMC(cfg.StateDir, slot), Size: cfg.Sim.EMMCMiB << 20}
			},
		},
		Observe: func(tr sim.Transition) {
			switch {
			case tr.Signal == "power":
				nodes.SetPower(tr.Slot, tr.Value == "on")
			case tr.Signal == "reset" && tr.Value == "released":
				nodes.Reset(tr.Slot)
			}
		},
		Logger: log,
	})
	if err != nil {
		return nil, closeAfter(err, "the board", h.close)
	}
	h.closers = append(h.closers, hw.Close)
	h.board = hw
	for slot := 1; slot <= hw.Info().Slots; slot++ {
		// Slots on since the last run boot their simulated node now.
		if st, err := hw.PowerState(context.Background(), slot); err == nil && st == hal.PowerOn {
			nodes.SetPower(slot, true)
		}
		h.consoles = append(h.consoles, hal.ConsolePort{Slot: slot, Device: nodes.Device(slot), Baud: 115200})
	}
	payload, _ := cfg.payload() // checked by complete
	ports := map[int]string{}
	for s := 1; s <= hw.Info().Slots; s++ {
		ports[s] = sim.Port(s)
	}
	h.flash = bmc.FlashConfig{
		Booter: &bmc.RPiBooter{
			Bus:      bus,
			Ports:    ports,
			Firmware: rpiboot.NewFirmware(cfg.Flash.FirmwareDir),
			Payload:  payload,
			SysRoot:  filepath.Join(usbRoot, "sys"),
			DevRoot:  filepath.Join(usbRoot, "dev"),
			Logger:   log,
		},
		// The hub gives every slot its own port, so slots flash at
		// once, as on a Turing Pi 2 v2.5.
		Parallel: topology == sim.USBHub,
		Images:   bmc.FlasherImages{Logger: log},
	}
	return h, nil
}

// simEMMC is the file holding the eMMC of a simulated slot.
func simEMMC(stateDir string, slot int) string {
	return filepath.Join(stateDir, fmt.Sprintf("sim-emmc-slot%d.img", slot))
}
