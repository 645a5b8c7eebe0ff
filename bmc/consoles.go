package bmc

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/turingpi-oss/bmcd/bmc/console"
	"github.com/turingpi-oss/bmcd/hal"
)

// ConsoleOverride replaces part of a slot's UART wiring (bmcd's config).
type ConsoleOverride struct {
	// Device, if set, replaces the board's device node.
	Device string
	// Mode's set fields override the board's line settings.
	Mode console.Mode
}

// ConsoleConfig says where the slots' serial consoles are and how they
// are kept.
type ConsoleConfig struct {
	// Wiring is the board's UARTs (hal.ConsoleWiring).
	Wiring []hal.ConsolePort
	// Overrides, by slot, change the wiring or add a slot to it.
	Overrides map[int]ConsoleOverride
	// BufferSize and LogMaxBytes are console.Config's.
	BufferSize  int
	LogMaxBytes int64
	// LogDir, if set, keeps each slot's log as LogDir/slotN.log.
	LogDir string
	// Open opens a device; nil is the serial port opener.
	Open   console.OpenFunc
	Logger *slog.Logger
}

// Consoles are the slots' serial consoles, captured from the moment they
// are opened. The board hands them out by slot ([Board.Console]); whoever
// opened them closes them, after the API and before the hardware.
type Consoles struct {
	bySlot map[int]*console.Console
}

// OpenConsoles starts capturing every wired slot's console. A device that
// cannot be opened yet is retried by its console, not an error.
func OpenConsoles(cfg ConsoleConfig) (*Consoles, error) {
	ports := map[int]hal.ConsolePort{}
	for _, p := range cfg.Wiring {
		ports[p.Slot] = p
	}
	for slot, o := range cfg.Overrides {
		p := ports[slot]
		p.Slot = slot
		if o.Device != "" {
			p.Device = o.Device
		}
		ports[slot] = p
	}
	cs := &Consoles{bySlot: map[int]*console.Console{}}
	for slot, p := range ports {
		if p.Device == "" {
			continue
		}
		logPath := ""
		if cfg.LogDir != "" {
			logPath = filepath.Join(cfg.LogDir, fmt.Sprintf("slot%d.log", slot))
		}
		c, err := console.New(console.Config{
			Slot:        slot,
			Device:      p.Device,
			Mode:        console.Mode{Baud: p.Baud}.Merge(cfg.Overrides[slot].Mode),
			BufferSize:  cfg.BufferSize,
			LogPath:     logPath,
			LogMaxBytes: cfg.LogMaxBytes,
			Open:        cfg.Open,
			Logger:      cfg.Logger,
		})
		if err != nil {
			err = fmt.Errorf("console of slot %d: %w", slot, err)
			if cerr := cs.Close(); cerr != nil {
				err = fmt.Errorf("%w; closing the other consoles also failed: %w", err, cerr)
			}
			return nil, err
		}
		cs.bySlot[slot] = c
	}
	return cs, nil
}

// Close stops every console. A nil Consoles has none.
func (cs *Consoles) Close() error {
	if cs == nil {
		return nil
	}
	var errs []error
	for _, c := range cs.bySlot {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Console returns the serial console of a slot: an error wrapping
// [ErrNoSlot] for a slot the board does not have, [ErrNotSupported] for
// one whose UART does not reach bmcd.
func (b *Board) Console(slot int) (*console.Console, error) {
	if err := b.checkSlot(slot); err != nil {
		return nil, err
	}
	if cs := b.cfg.Consoles; cs != nil {
		if c := cs.bySlot[slot]; c != nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("slot %d: no serial console on this board: %w", slot, ErrNotSupported)
}
