package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim/simconsole"
	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// AssemblyOpts configures a whole simulated board ([Open]).
type AssemblyOpts struct {
	// Slots and Absent are Opts'.
	Slots  int
	Absent []int
	// StateDir keeps the simulated hardware across runs: its state, the
	// slots' eMMC files, and the USB device tree of the current run.
	StateDir string
	// Topology is how the slots' USB reaches the controller.
	Topology USBTopology
	// Module is the compute module in every slot that is not absent.
	Module usbsim.Profile
	// EMMCBytes is the size of a new eMMC file.
	EMMCBytes int64
	// FirmwareDir receives the simulated modules' rpiboot firmware.
	FirmwareDir string
	// Seed, when set, is how a node reads the first-boot seed from its
	// eMMC at power-on: a prepared node names itself after the seed,
	// prints its marker line and runs an SSH server. Nil: nodes boot as
	// unprepared images.
	Seed SeedReader
	// SSHAddr is where a prepared slot's SSH server listens; nil means
	// DefaultSSHAddr.
	SSHAddr func(slot int) netip.AddrPort
	// Offline cuts the nodes from the internet: the online k3s install
	// finds nothing to download; an air-gap install still works.
	Offline bool
	// K3sLatency is how long the nodes' k3s takes to come up.
	K3sLatency simssh.InstallLatency
	Logger     *slog.Logger
}

// Assembly is a simulated board with its parts: the modules' USB bus and
// their UARTs, pseudo-terminals whose other end is a node that boots
// when its slot is powered.
type Assembly struct {
	Board *Board
	// Bus is the simulated USB bus the modules enumerate on.
	Bus *usbsim.Bus
	// Consoles are the slots' UARTs.
	Consoles []hal.ConsolePort
	// USBPorts are the slots' ports on Bus, as an rpiboot step looks for
	// them.
	USBPorts map[int]string
	// SysRoot and DevRoot are the simulated /sys and /dev in which the
	// modules' disks appear.
	SysRoot, DevRoot string

	closers []func() error
}

// consoleBaud is the simulated nodes' console rate, as a Raspberry Pi
// module's firmware sets it.
const consoleBaud = 115200

// Open assembles the simulated board, its USB bus and its nodes' consoles.
// Close it to stop them and save the hardware state.
func Open(opts *AssemblyOpts) (*Assembly, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	slots := opts.Slots
	if slots == 0 {
		slots = 4
	}
	usbRoot := filepath.Join(opts.StateDir, "sim-usb")
	// The tree describes devices of the last run, which are gone.
	if err := os.RemoveAll(usbRoot); err != nil {
		return nil, fmt.Errorf("sim: clear %s: %w", usbRoot, err)
	}
	if err := usbsim.WriteFirmware(opts.FirmwareDir); err != nil {
		return nil, err
	}
	a := &Assembly{
		Bus:      usbsim.New(&usbsim.Opts{Root: usbRoot, Logger: log}),
		USBPorts: map[int]string{},
		SysRoot:  filepath.Join(usbRoot, "sys"),
		DevRoot:  filepath.Join(usbRoot, "dev"),
	}
	a.closers = append(a.closers, a.Bus.Close)
	copts := &simconsole.Opts{Slots: slots, Logger: log}
	if opts.Seed != nil {
		k3s, err := simssh.OpenK3s(filepath.Join(opts.StateDir, "sim-k3s.json"), simssh.K3sConfig{Logger: log})
		if err != nil {
			return nil, a.closeAfter(err)
		}
		k3s.SetInstallLatency(opts.K3sLatency)
		o := &nodeOS{seed: opts.Seed, addr: opts.SSHAddr, log: log, servers: map[int]*simssh.Server{},
			k3s: k3s, offline: opts.Offline,
			emmc:  func(slot int) string { return EMMCPath(opts.StateDir, slot) },
			fault: func(slot int) string { return InstallHangPath(opts.StateDir, slot) }}
		if o.addr == nil {
			o.addr = DefaultSSHAddr
		}
		copts.Boot, copts.Halt = o.boot, o.halt
		// The k3s servers' APIs stop after the nodes halted (closers run
		// last opened first).
		a.closers = append(a.closers, func() error { o.k3s.Close(); return nil })
	}
	nodes, err := simconsole.New(copts)
	if err != nil {
		return nil, a.closeAfter(err)
	}
	a.closers = append(a.closers, nodes.Close)
	a.Board, err = New(&Opts{
		Slots:     slots,
		Absent:    opts.Absent,
		StatePath: filepath.Join(opts.StateDir, "sim-hardware.json"),
		Nodes:     nodes,
		USB: &USB{
			Bus:      a.Bus,
			Topology: opts.Topology,
			Module:   opts.Module,
			Disk: func(slot int) usbsim.Disk {
				return usbsim.Disk{Path: EMMCPath(opts.StateDir, slot), Size: opts.EMMCBytes}
			},
		},
		Logger: log,
	})
	if err != nil {
		return nil, a.closeAfter(err)
	}
	a.closers = append(a.closers, a.Board.Close)
	for slot := 1; slot <= slots; slot++ {
		a.Consoles = append(a.Consoles, hal.ConsolePort{Slot: slot, Device: nodes.Device(slot), Baud: consoleBaud})
		a.USBPorts[slot] = Port(slot)
	}
	return a, nil
}

// InstallHangPath is the fault file of a simulated slot: while it exists,
// a k3s install on the slot's node never returns (as one whose download
// stalls does) until bmcd kills it or the node goes down.
func InstallHangPath(stateDir string, slot int) string {
	return filepath.Join(stateDir, fmt.Sprintf("sim-slot%d-k3s-install-hangs", slot))
}

// EMMCPath is the file holding the eMMC of a simulated slot.
func EMMCPath(stateDir string, slot int) string {
	return filepath.Join(stateDir, fmt.Sprintf("sim-emmc-slot%d.img", slot))
}

// Close saves the board's state and stops the nodes and the bus, last
// opened first.
func (a *Assembly) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// closeAfter closes what Open had opened when err happened.
func (a *Assembly) closeAfter(err error) error {
	if cerr := a.Close(); cerr != nil {
		return fmt.Errorf("%w; closing the simulated board also failed: %w", err, cerr)
	}
	return err
}
