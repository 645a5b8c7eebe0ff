package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
)

// config is bmcd's configuration: the YAML file, then flags on top.
type config struct {
	// Board is the board profile: sim, tp1, tp2-v2.4 or tp2-v2.5.
	Board    string `yaml:"board"`
	Listen   string `yaml:"listen"`
	StateDir string `yaml:"state_dir"`
	LogLevel string `yaml:"log_level"`

	Sim struct {
		Slots  int   `yaml:"slots"`
		Absent []int `yaml:"absent"`
	} `yaml:"sim"`
	TP1 struct {
		I2CBus string `yaml:"i2c_bus"`
	} `yaml:"tp1"`
	Power struct {
		// SelfSlot is the slot bmcd runs on (Turing Pi 1); 0 for none.
		SelfSlot     int           `yaml:"self_slot"`
		Stagger      time.Duration `yaml:"stagger"`
		CycleDelay   time.Duration `yaml:"cycle_delay"`
		PollInterval time.Duration `yaml:"poll_interval"`
	} `yaml:"power"`
	Auth struct {
		AdminPasswordHash string        `yaml:"admin_password_hash"`
		AdminPassword     string        `yaml:"admin_password"`
		TokenTTL          time.Duration `yaml:"token_ttl"`
	} `yaml:"auth"`
}

// Board profiles.
var boards = []string{"sim", "tp1", "tp2-v2.4", "tp2-v2.5"}

// defaultConfig is the configuration with no file and no flags.
func defaultConfig() config {
	var c config
	c.Board = "sim"
	c.LogLevel = "info"
	c.Sim.Slots = 4
	c.TP1.I2CBus = "1"
	return c
}

// parseConfig reads flags from args and the YAML file they name, if any.
// Flags given on the command line override the file.
func parseConfig(args []string, stderr io.Writer) (config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("bmcd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration `file`")
	board := fs.String("board", c.Board, "board profile: sim, tp1, tp2-v2.4 or tp2-v2.5")
	listen := fs.String("listen", "", "HTTP listen `address` (default 127.0.0.1:8080 on sim, :8080 on hardware)")
	stateDir := fs.String("state-dir", "", "`directory` for persistent state (default /var/lib/bmcd, or the user state dir on sim)")
	logLevel := fs.String("log-level", c.LogLevel, "log level: debug, info, warn or error")
	simSlots := fs.Int("sim-slots", c.Sim.Slots, "number of slots of the simulated board: 4 or 7")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *version {
		return c, errVersion
	}
	if *path != "" {
		data, err := os.ReadFile(*path)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", *path, err)
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "board":
			c.Board = *board
		case "listen":
			c.Listen = *listen
		case "state-dir":
			c.StateDir = *stateDir
		case "log-level":
			c.LogLevel = *logLevel
		case "sim-slots":
			c.Sim.Slots = *simSlots
		}
	})
	return c, c.complete()
}

// errVersion asks main to print the version.
var errVersion = errors.New("version requested")

// complete validates the configuration and fills defaults that depend on
// the board.
func (c *config) complete() error {
	known := false
	for _, b := range boards {
		known = known || b == c.Board
	}
	if !known {
		return fmt.Errorf("board %q: want one of %v", c.Board, boards)
	}
	if c.Listen == "" {
		c.Listen = ":8080"
		if c.Board == "sim" {
			c.Listen = "127.0.0.1:8080"
		}
	}
	if c.StateDir == "" {
		c.StateDir = "/var/lib/bmcd"
		if c.Board == "sim" {
			dir, err := os.UserCacheDir()
			if err != nil {
				return fmt.Errorf("state dir: %w", err)
			}
			c.StateDir = filepath.Join(dir, "bmcd-sim")
		}
	}
	if _, err := c.level(); err != nil {
		return err
	}
	return nil
}

func (c *config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return l, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}
