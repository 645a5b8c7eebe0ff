package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/turingpi-oss/bmcd/bmc/console"
	"github.com/turingpi-oss/bmcd/hal"
)

// openConsoles starts capturing every slot's serial console: the board's
// wiring, overridden per slot by the config. A log of each is kept under
// the state dir.
func openConsoles(cfg config, wiring []hal.ConsolePort, log *slog.Logger) (map[int]*console.Console, func() error, error) {
	ports := map[int]hal.ConsolePort{}
	for _, p := range wiring {
		ports[p.Slot] = p
	}
	consoles := map[int]*console.Console{}
	closeAll := func() error {
		var errs []error
		for _, c := range consoles {
			errs = append(errs, c.Close())
		}
		return errors.Join(errs...)
	}
	for slot, o := range cfg.Console.Ports {
		p := ports[slot]
		p.Slot = slot
		if o.Device != "" {
			p.Device = o.Device
		}
		ports[slot] = p
	}
	for slot, p := range ports {
		if p.Device == "" {
			continue
		}
		mode := console.Mode{Baud: p.Baud}
		if o := cfg.Console.Ports[slot]; o.Mode != "" {
			m, _ := console.ParseMode(o.Mode) // checked by complete
			mode = mode.Merge(m)
		}
		c, err := console.New(console.Config{
			Slot:        slot,
			Device:      p.Device,
			Mode:        mode,
			BufferSize:  cfg.Console.BufferBytes,
			LogPath:     filepath.Join(cfg.StateDir, "console", fmt.Sprintf("slot%d.log", slot)),
			LogMaxBytes: cfg.Console.LogMaxBytes,
			Logger:      log,
		})
		if err != nil {
			return nil, nil, closeAfter(fmt.Errorf("console of slot %d: %w", slot, err), "the other consoles", closeAll)
		}
		consoles[slot] = c
	}
	return consoles, closeAll, nil
}
