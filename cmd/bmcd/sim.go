package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
	"github.com/turingpi-oss/bmcd/hal/sim/simconsole"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// openSim opens the simulated board with a simulated USB bus on which
// compute modules appear in USB boot mode as on the real board, each
// slot's eMMC a file under the state dir.
func openSim(cfg config, log *slog.Logger) (*hardware, error) {
	h := &hardware{}
	profile, err := cfg.simProfile()
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
	plug := &simUSB{
		bus:      bus,
		profile:  profile,
		diskDir:  cfg.StateDir,
		diskSize: cfg.Sim.EMMCMiB << 20,
		log:      log,
		power:    map[int]bool{},
		strap:    map[int]bool{},
	}
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
		Observe: func(tr sim.Transition) {
			plug.observe(tr)
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
		ports[s] = simPort(s)
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
		Images: bmc.FlasherImages{Logger: log},
	}
	return h, nil
}

// simPort is the USB port of a slot's module on the simulated bus.
func simPort(slot int) string { return fmt.Sprintf("1-1.%d", slot) }

// simEMMC is the file holding the eMMC of a simulated slot.
func simEMMC(stateDir string, slot int) string {
	return filepath.Join(stateDir, fmt.Sprintf("sim-emmc-slot%d.img", slot))
}

// simUSB plugs a slot's simulated module into the bus while the slot is
// powered with its USB boot strap asserted and its USB routed to the
// controller, as its boot ROM then enumerates on the real board, and
// unplugs it otherwise.
type simUSB struct {
	bus      *usbsim.Bus
	profile  usbsim.Profile
	diskDir  string
	diskSize int64
	log      *slog.Logger

	mu          sync.Mutex
	power       map[int]bool
	strap       map[int]bool
	routedToBMC int // the slot whose USB goes to the controller, 0 for none
	plugged     int // the slot whose module is on the bus, 0 for none
}

// observe follows the simulated board's signals; it runs under the
// board's lock, so it only touches the bus.
func (s *simUSB) observe(tr sim.Transition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch tr.Signal {
	case "power":
		s.power[tr.Slot] = tr.Value == "on"
	case "usb-boot":
		s.strap[tr.Slot] = tr.Value == "asserted"
	case "usb":
		// One mux: the slot just configured is the one routed.
		s.routedToBMC = 0
		if tr.Value == "device/bmc" {
			s.routedToBMC = tr.Slot
		}
	default:
		return
	}
	want := 0
	if r := s.routedToBMC; r != 0 && s.power[r] && s.strap[r] {
		want = r
	}
	if want == s.plugged {
		return
	}
	if s.plugged != 0 {
		s.bus.Detach(simPort(s.plugged))
		s.log.Debug("sim: module left the USB bus", "slot", s.plugged)
	}
	s.plugged = want
	if want != 0 {
		s.bus.Attach(simPort(want), s.profile, usbsim.Disk{Path: simEMMC(s.diskDir, want), Size: s.diskSize})
		s.log.Debug("sim: module in USB boot mode on the bus", "slot", want, "port", simPort(want))
	}
}
