package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
	"github.com/turingpi-oss/bmcd/hal/tp1"
	"github.com/turingpi-oss/bmcd/hal/tp2"
)

// openBoard returns the hardware of the configured board profile and a
// function that releases it.
func openBoard(cfg config, log *slog.Logger) (hal.Board, func() error, error) {
	switch cfg.Board {
	case "sim":
		hw, err := sim.New(&sim.Opts{
			Slots:     cfg.Sim.Slots,
			Absent:    cfg.Sim.Absent,
			StatePath: filepath.Join(cfg.StateDir, "sim-hardware.json"),
			Logger:    log,
		})
		if err != nil {
			return nil, nil, err
		}
		return hw, hw.Close, nil
	}
	// The hardware profiles reach I2C and GPIO through periph's drivers
	// for the kernel's character devices.
	if _, err := host.Init(); err != nil {
		return nil, nil, fmt.Errorf("%s: init periph host drivers: %w", cfg.Board, err)
	}
	switch cfg.Board {
	case "tp1":
		bus, err := i2creg.Open(cfg.TP1.I2CBus)
		if err != nil {
			return nil, nil, fmt.Errorf("tp1: open I2C bus %q: %w", cfg.TP1.I2CBus, err)
		}
		hw, err := tp1.New(bus, &tp1.Opts{Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("%w (closing the bus: %v)", err, bus.Close())
		}
		return hw, bus.Close, nil
	case "tp2-v2.4", "tp2-v2.5":
		hw, err := tp2.Open(cfg.Board, &tp2.Opts{Logger: log})
		if err != nil {
			return nil, nil, err
		}
		return hw, func() error { return nil }, nil
	}
	return nil, nil, fmt.Errorf("board %q: unknown profile", cfg.Board)
}
