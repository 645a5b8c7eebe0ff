package main

import (
	"log/slog"
	"path/filepath"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/bmc/console"
	"github.com/turingpi-oss/bmcd/hal"
)

// openConsoles starts capturing every slot's serial console: the board's
// wiring, overridden per slot by the config. A log of each is kept under
// the state dir.
func openConsoles(cfg config, wiring []hal.ConsolePort, log *slog.Logger) (*bmc.Consoles, error) {
	overrides := map[int]bmc.ConsoleOverride{}
	for slot, o := range cfg.Console.Ports {
		var mode console.Mode
		if o.Mode != "" {
			mode, _ = console.ParseMode(o.Mode) // checked by complete
		}
		overrides[slot] = bmc.ConsoleOverride{Device: o.Device, Mode: mode}
	}
	return bmc.OpenConsoles(bmc.ConsoleConfig{
		Wiring:      wiring,
		Overrides:   overrides,
		BufferSize:  cfg.Console.BufferBytes,
		LogDir:      filepath.Join(cfg.StateDir, "console"),
		LogMaxBytes: cfg.Console.LogMaxBytes,
		Logger:      log,
	})
}
