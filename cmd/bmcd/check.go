package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"

	"github.com/turingpi-oss/bmcd/api"
	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/tp1"
	"github.com/turingpi-oss/bmcd/hal/tp2"
)

// checkUsage introduces bmcd check's own flags; bmcd's follow.
const checkUsage = `Usage: bmcd check [--active SLOT] [--json] [bmcd's flags]

Check the board without a running bmcd and print a report: the board
profile and why, each line and supply with its level, the I2C chip, the USB
bus, each console's device, the rpiboot firmware and the free space.
Nothing is switched unless --active SLOT names a slot that is off; that slot
is switched on and off and booted from USB to its boot ROM, then put back.
The exit status is 1 if anything failed.

  --active SLOT   also switch this slot (it must be off)
  --json          print the report as JSON

bmcd's flags (use the same --config as the daemon):
`

// errCheckFailed is the error of a check that ran and found failures.
var errCheckFailed = errors.New("check: something failed (see the report)")

// errLocked: another bmcd, or another check, uses the state dir.
var errLocked = errors.New("a bmcd is running with this state dir")

// lockName is the lock file in the state dir that one bmcd, or one bmcd
// check, holds while it drives the board.
const lockName = "bmcd.lock"

// checkArgs takes the check's own flags, --active SLOT and --json, out of
// args and leaves bmcd's flags.
func checkArgs(args []string) (active int, asJSON bool, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--json" || a == "-json":
			asJSON = true
		case a == "--active" || a == "-active":
			if i+1 == len(args) {
				return 0, false, nil, errors.New("--active: want a slot number")
			}
			i++
			a = "--active=" + args[i]
			fallthrough
		case strings.HasPrefix(a, "--active=") || strings.HasPrefix(a, "-active="):
			v := a[strings.Index(a, "=")+1:]
			if active, err = strconv.Atoi(v); err != nil || active < 1 {
				return 0, false, nil, fmt.Errorf("--active %q: want a slot number", v)
			}
		default:
			rest = append(rest, a)
		}
	}
	return active, asJSON, rest, nil
}

// runCheck is "bmcd check": it opens the board itself, with no daemon,
// and prints the report of the same check as GET /api/v1/board/check.
// Without --active it takes no line and writes nothing to the hardware;
// with --active SLOT it opens the board as bmcd does and also switches
// that slot. It refuses to run beside a bmcd using the same state dir.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	active, asJSON, rest, err := checkArgs(args)
	if err != nil {
		return err
	}
	for _, a := range rest {
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Fprint(stderr, checkUsage)
		}
	}
	cfg, err := parseConfig(rest, stderr)
	if err != nil {
		return err
	}
	unlock, err := lockStateDir(cfg.StateDir)
	if errors.Is(err, errLocked) {
		return fmt.Errorf("%w: while it runs, run `bmcctl board check` against it instead", err)
	}
	if err != nil {
		return err
	}
	defer unlock()
	level, _ := cfg.level()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	c, closeAll, err := openCheck(cfg, active, log)
	if err != nil {
		return err
	}
	found, err := c.Run(ctx, active)
	if cerr := closeAll(); err == nil && cerr != nil {
		err = fmt.Errorf("close board: %w", cerr)
	}
	if err != nil {
		return err
	}
	rep := api.NewCheckReport(active, found)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if rep.Failed {
		return errCheckFailed
	}
	return nil
}

// openCheck opens what the check looks at. Read-only (active 0) opens
// the board without taking its lines: a simulated board, the Turing Pi
// 1's I2C bus (read, never written) or the Turing Pi 2's lines through
// tp2.OpenReadOnly. An active check opens the board as bmcd does.
func openCheck(cfg config, active int, log *slog.Logger) (*bmc.Checker, func() error, error) {
	if active != 0 || cfg.Board == "sim" {
		hw, err := openHardware(cfg, log)
		if err != nil {
			return nil, nil, err
		}
		if active == 0 {
			return newChecker(cfg, hw, nil, os.DirFS("/")), hw.close, nil
		}
		board, err := bmc.New(bmc.Config{HW: hw.board, Flash: hw.flash, StateDir: cfg.StateDir, SelfSlot: cfg.Power.SelfSlot, Logger: log})
		if err != nil {
			return nil, nil, closeAfter(err, "the board", hw.close)
		}
		closeAll := func() error { return errors.Join(board.Close(), hw.close()) }
		return newChecker(cfg, hw, board, os.DirFS("/")), closeAll, nil
	}
	// A board that cannot be opened is a finding, not the end of the
	// report: the rest still tells the owner what is there.
	hw := &hardware{flash: hardwareFlash(cfg, nil, log)}
	failed := func(name string, err error) hal.Prober {
		return proberFunc(func(context.Context) []hal.Finding {
			return []hal.Finding{{Name: name, Status: hal.CheckFail, Detail: err.Error()}}
		})
	}
	c := func() *bmc.Checker { return newChecker(cfg, hw, nil, os.DirFS("/")) }
	if _, err := host.Init(); err != nil {
		ch := c()
		ch.Probe = failed("board", fmt.Errorf("init periph host drivers: %w", err))
		return ch, hw.close, nil
	}
	switch cfg.Board {
	case "tp1":
		name := fmt.Sprintf("DS4520 on I2C %s", cfg.TP1.I2CBus)
		bus, err := i2creg.Open(cfg.TP1.I2CBus)
		if err != nil {
			ch := c()
			ch.Probe = failed(name, fmt.Errorf("open I2C bus %q: %w (is the Cluster Management Bus enabled: dtoverlay=i2c1,pins_44_45?)", cfg.TP1.I2CBus, err))
			return ch, hw.close, nil
		}
		hw.closers = append(hw.closers, bus.Close)
		ch := c()
		ch.Probe = proberFunc(func(ctx context.Context) []hal.Finding { return tp1.Probe(ctx, bus, 0) })
		return ch, hw.close, nil
	default:
		b, err := tp2.OpenReadOnly(cfg.Board, &tp2.Opts{Logger: log})
		if err != nil {
			ch := c()
			ch.Probe = failed("board lines", err)
			return ch, hw.close, nil
		}
		hw.board = b
		if w, ok := b.(hal.ConsoleWiring); ok {
			hw.consoles = w.ConsolePorts()
		}
		return c(), hw.close, nil
	}
}

// proberFunc is a hal.Prober of a function.
type proberFunc func(ctx context.Context) []hal.Finding

func (f proberFunc) Probe(ctx context.Context) []hal.Finding { return f(ctx) }

// newChecker is the check of the opened hardware; board, for an active
// check, may be nil. root is the file system holding the device tree.
func newChecker(cfg config, hw *hardware, board *bmc.Board, root fs.FS) *bmc.Checker {
	c := &bmc.Checker{
		Profile:  hal.ProfileFinding(cfg.Board, root),
		Consoles: consolePorts(cfg, hw.consoles),
		StateDir: cfg.StateDir,
		Board:    board,
	}
	if p, ok := hw.board.(hal.Prober); ok {
		c.Probe = p
	}
	if r, ok := hw.flash.Booter.(*bmc.RPiBooter); ok && cfg.Board != "tp1" {
		c.USB, c.Firmware, c.Payload = r.Bus, r.Firmware, r.Payload
		c.FirmwareChips = firmwareChips(cfg)
	}
	c.USBHub = usbLayout(cfg, hw.board).Hub
	return c
}

// firmwareChips are the modules whose firmware the board should have,
// the one it cannot flash without first.
func firmwareChips(cfg config) []rpiboot.Chip {
	if cfg.Board != "sim" {
		return []rpiboot.Chip{rpiboot.BCM2711, rpiboot.BCM2712}
	}
	switch cfg.Sim.Module {
	case "cm3":
		return []rpiboot.Chip{rpiboot.BCM2837}
	case "cm5":
		return []rpiboot.Chip{rpiboot.BCM2712}
	}
	return []rpiboot.Chip{rpiboot.BCM2711}
}

// firmwareWarnings are the start-up warnings about the rpiboot firmware
// of a board that flashes (GET /api/v1/board).
func firmwareWarnings(cfg config, hw *hardware) []string {
	r, ok := hw.flash.Booter.(*bmc.RPiBooter)
	if !ok || cfg.Board == "tp1" {
		return nil
	}
	return bmc.FirmwareWarnings(r.Firmware, r.Payload, firmwareChips(cfg)[0])
}

// consolePorts is the board's UART wiring with the config's overrides.
func consolePorts(cfg config, wiring []hal.ConsolePort) []hal.ConsolePort {
	out := make([]hal.ConsolePort, 0, len(wiring))
	seen := map[int]bool{}
	for _, p := range wiring {
		if o := cfg.Console.Ports[p.Slot]; o.Device != "" {
			p.Device = o.Device
		}
		seen[p.Slot] = true
		out = append(out, p)
	}
	for slot, o := range cfg.Console.Ports {
		if !seen[slot] && o.Device != "" {
			out = append(out, hal.ConsolePort{Slot: slot, Device: o.Device})
		}
	}
	return out
}

// usbLayout is the board profile's USB topology; a Turing Pi 2 whose
// lines could not be opened still has its hub on the bus.
func usbLayout(cfg config, board hal.Board) hal.USBLayout {
	if t, ok := board.(hal.USBTopology); ok {
		return t.USBTopology()
	}
	if l, err := tp2.USBLayoutOf(cfg.Board); err == nil {
		return l
	}
	return hal.USBLayout{} // tp1, sim: no hub to look for
}
