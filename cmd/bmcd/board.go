package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
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
	return nil, nil, fmt.Errorf("board %q: not wired yet", cfg.Board)
}
