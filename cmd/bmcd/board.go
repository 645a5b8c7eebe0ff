package main

import (
	"errors"
	"fmt"
	"log/slog"

	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/tp1"
	"github.com/turingpi-oss/bmcd/hal/tp2"
)

// hardware is what bmcd drives: the board profile's signals and the
// parts around them.
type hardware struct {
	board hal.Board
	flash bmc.FlashConfig
	// consoles are the slots' UARTs as the board wires them.
	consoles []hal.ConsolePort
	// closers release what was opened, last first.
	closers []func() error
}

// close releases everything, last opened first.
func (h *hardware) close() error {
	var errs []error
	for i := len(h.closers) - 1; i >= 0; i-- {
		errs = append(errs, h.closers[i]())
	}
	h.closers = nil
	return errors.Join(errs...)
}

// openHardware opens the configured board profile and what flashes it.
func openHardware(cfg config, log *slog.Logger) (*hardware, error) {
	if cfg.Board == "sim" {
		return openSim(cfg, log)
	}
	h := &hardware{}
	// The hardware profiles reach I2C and GPIO through periph's drivers
	// for the kernel's character devices.
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("%s: init periph host drivers: %w", cfg.Board, err)
	}
	switch cfg.Board {
	case "tp1":
		bus, err := i2creg.Open(cfg.TP1.I2CBus)
		if err != nil {
			return nil, fmt.Errorf("tp1: open I2C bus %q: %w", cfg.TP1.I2CBus, err)
		}
		h.closers = append(h.closers, bus.Close)
		hw, err := tp1.New(bus, &tp1.Opts{Logger: log})
		if err != nil {
			return nil, closeAfter(err, "the board", h.close)
		}
		h.board = hw
	case "tp2-v2.4", "tp2-v2.5":
		hw, err := tp2.Open(cfg.Board, &tp2.Opts{Logger: log})
		if err != nil {
			return nil, err
		}
		h.board = hw
	default:
		return nil, fmt.Errorf("board %q: unknown profile", cfg.Board)
	}
	h.flash = hardwareFlash(cfg, h.board, log)
	if w, ok := h.board.(hal.ConsoleWiring); ok {
		h.consoles = w.ConsolePorts()
	}
	return h, nil
}
