package main

import (
	"log/slog"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal/sim"
	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

// openSim opens the simulated board that hal/sim assembles, flashed by
// rpiboot over its simulated USB bus.
func openSim(cfg config, log *slog.Logger) (*hardware, error) {
	profile, err := cfg.simProfile()
	if err != nil {
		return nil, err
	}
	topology, err := sim.ParseUSBTopology(cfg.Sim.USB)
	if err != nil {
		return nil, err
	}
	a, err := sim.Open(&sim.AssemblyOpts{
		Slots:       cfg.Sim.Slots,
		Absent:      cfg.Sim.Absent,
		StateDir:    cfg.StateDir,
		Topology:    topology,
		Module:      profile,
		EMMCBytes:   cfg.Sim.EMMCMiB << 20,
		FirmwareDir: cfg.Flash.FirmwareDir,
		Seed:        readSimSeed,
		Offline:     cfg.Sim.Offline,
		K3sLatency: simssh.InstallLatency{FirstServer: cfg.Sim.K3sLatency.FirstServer,
			ServerJoin: cfg.Sim.K3sLatency.ServerJoin, Agent: cfg.Sim.K3sLatency.Agent},
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	payload, _ := cfg.payload() // checked by complete
	return &hardware{
		board:    a.Board,
		consoles: a.Consoles,
		closers:  []func() error{a.Close},
		flash: bmc.FlashConfig{
			Booter: &bmc.RPiBooter{
				Bus:      a.Bus,
				Ports:    a.USBPorts,
				Firmware: rpiboot.NewFirmware(cfg.Flash.FirmwareDir),
				Payload:  payload,
				SysRoot:  a.SysRoot,
				DevRoot:  a.DevRoot,
				Logger:   log,
			},
			Parallel: a.Board.USBTopology().ParallelFlash,
			Images:   cfg.Memory.images(log, cfg.flashProcs()),
		},
	}, nil
}
