package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/turingpi-oss/bmcd/api"
	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/bmc/console"
	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal/sim"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
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
		// Module is the compute module in every slot: cm3, cm4 or cm5.
		Module string `yaml:"module"`
		// EMMCMiB is the size of each simulated eMMC (a sparse file).
		EMMCMiB int64 `yaml:"emmc_mib"`
		// USBTiming is "real" (the modules take as long as real ones to
		// become disks, seconds) or "fast" (milliseconds, for tests).
		USBTiming string `yaml:"usb_timing"`
		// USB is how the slots' USB reaches the controller: "mux" (one
		// slot at a time, Turing Pi 2 v2.4) or "hub" (all at once, v2.5).
		USB string `yaml:"usb"`
		// Offline cuts the simulated nodes from the internet: only an
		// air-gapped cluster install (bmcctl cluster up --airgap) works.
		Offline bool `yaml:"offline"`
		// K3sLatency is how long the simulated k3s takes to come up
		// (0: at once), to watch a bootstrap's shape.
		K3sLatency struct {
			FirstServer time.Duration `yaml:"first_server"`
			ServerJoin  time.Duration `yaml:"server_join"`
			Agent       time.Duration `yaml:"agent"`
		} `yaml:"k3s_latency"`
	} `yaml:"sim"`
	Flash struct {
		// FirmwareDir is laid out like usbboot's (msd/,
		// mass-storage-gadget64/). Default /usr/share/rpiboot; on sim, a
		// directory of placeholders under the state dir.
		FirmwareDir string `yaml:"firmware_dir"`
		// Payload is auto, mass-storage-gadget64 or msd.
		Payload string `yaml:"payload"`
		// USBPorts maps a slot to the physical USB port its module
		// enumerates on ("2-1.3"). Empty: the one module in USB boot
		// mode, wherever it is, and one flash at a time.
		USBPorts map[int]string `yaml:"usb_ports"`
		// Priority is "background" (default: a flash runs on the CPU
		// the API, the consoles and the power control leave; Linux's
		// SCHED_IDLE) or "normal" (it competes with them).
		Priority string `yaml:"priority"`
	} `yaml:"flash"`
	TP1 struct {
		I2CBus string `yaml:"i2c_bus"`
	} `yaml:"tp1"`
	Power struct {
		// SelfSlot is the slot bmcd runs on (Turing Pi 1); 0 for none.
		SelfSlot     int           `yaml:"self_slot"`
		Stagger      time.Duration `yaml:"stagger"`
		CycleDelay   time.Duration `yaml:"cycle_delay"`
		PollInterval time.Duration `yaml:"poll_interval"`
		// StateWriteInterval is the group-commit window of the requested
		// power states: an acknowledged request is on disk within it
		// plus one write (default 500 ms).
		StateWriteInterval time.Duration `yaml:"state_write_interval"`
	} `yaml:"power"`
	Console struct {
		// BufferBytes is the history kept in memory per slot.
		BufferBytes int `yaml:"buffer_bytes"`
		// LogMaxBytes caps each slot's log file under the state dir
		// (one rotated generation is kept beside it).
		LogMaxBytes int64 `yaml:"log_max_bytes"`
		// Ports overrides the board's UART of a slot: device, baud.
		Ports map[int]consolePortConfig `yaml:"ports"`
	} `yaml:"console"`
	HTTP httpConfig `yaml:"http"`
	// Memory bounds the Go runtime's memory (see memoryConfig).
	Memory memoryConfig `yaml:"memory"`
	// Prepare holds the first-boot defaults for flashes that ask for
	// preparation (bmcctl flash --prepare, --hostname, --ssh-key …);
	// checked by the board at start.
	Prepare prepareConfig `yaml:"prepare"`
	Cluster struct {
		// AirgapDir holds the k3s air-gap files (install.sh, k3s,
		// k3s-arm64, k3s-armhf, k3s-airgap-images-<arch>.tar.zst) that
		// an air-gapped cluster job copies to the nodes; uploads
		// (bmcctl cluster up --airgap DIR) go there too. Default
		// state_dir/airgap; on a Turing Pi 2 put it on the SD card.
		AirgapDir string `yaml:"airgap_dir"`
	} `yaml:"cluster"`
	Auth struct {
		AdminPasswordHash string        `yaml:"admin_password_hash"`
		AdminPassword     string        `yaml:"admin_password"`
		TokenTTL          time.Duration `yaml:"token_ttl"`
	} `yaml:"auth"`
}

// httpConfig bounds how long the HTTP server waits for a client. There is
// no bound on a whole request: an upload is read only as fast as the eMMC
// is written (a 2 GiB image takes minutes), and console and event streams
// last for hours. A stalled upload fails by BodyIdleTimeout instead, a
// console that stops answering pings is dropped, and an event stream ends
// when the client goes away.
type httpConfig struct {
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// IdleTimeout closes a keep-alive connection that sends no request.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// BodyIdleTimeout fails a request whose body (an upload) sends
	// nothing for this long.
	BodyIdleTimeout time.Duration `yaml:"body_idle_timeout"`
	// TLS serves HTTPS. Default: on for a real board (a phone on the
	// LAN sends the password), off on the simulated one.
	TLS *bool `yaml:"tls"`
	// TLSCert and TLSKey are the operator's PEM certificate and key;
	// empty: a self-signed certificate generated in the state dir.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// RedirectListen is a plain-HTTP address that redirects to HTTPS;
	// "off" for none. Default :80 with TLS on a real board, none on sim.
	RedirectListen string `yaml:"redirect_listen"`
}

// tlsOn says whether bmcd serves HTTPS; complete has set the default.
func (h httpConfig) tlsOn() bool { return h.TLS != nil && *h.TLS }

// apply sets the server's timeouts, replacing echo's defaults (its
// StartConfig sets a 30 s ReadTimeout, which cuts off every upload
// larger than what the eMMC writes in 30 s).
func (h httpConfig) apply(s *http.Server) {
	s.ReadTimeout, s.WriteTimeout = 0, 0
	s.ReadHeaderTimeout = h.ReadHeaderTimeout
	s.IdleTimeout = h.IdleTimeout
}

// completeTLS checks the TLS settings and sets the redirect's default.
func (h *httpConfig) completeTLS(board string) error {
	if (h.TLSCert == "") != (h.TLSKey == "") {
		return fmt.Errorf("http tls_cert %q, tls_key %q: give both or neither", h.TLSCert, h.TLSKey)
	}
	if !h.tlsOn() {
		if h.TLSCert != "" {
			return fmt.Errorf("http tls_cert %q is set but tls is off: turn tls on, or remove the certificate", h.TLSCert)
		}
		if h.RedirectListen != "" && h.RedirectListen != "off" {
			return fmt.Errorf("http redirect_listen %q needs tls on: there is no HTTPS to redirect to", h.RedirectListen)
		}
		h.RedirectListen = "off"
		return nil
	}
	if h.RedirectListen == "" {
		h.RedirectListen = ":80"
		if board == "sim" {
			h.RedirectListen = "off"
		}
	}
	return nil
}

// prepareConfig is the config's prepare section.
type prepareConfig struct {
	// AuthorizedKeys are OpenSSH public-key lines put on every prepared node.
	AuthorizedKeys []string `yaml:"authorized_keys"`
	// User is the login account (default pi).
	User string `yaml:"user"`
	// Hostname is a pattern, {slot} standing for the slot number: node{slot}.
	Hostname string `yaml:"hostname"`
	// K3sPrep prepares every node for k3s (memory cgroup, time sync).
	K3sPrep bool `yaml:"k3s_prep"`
	// Addresses are the nodes' addresses by slot, used until a node's
	// console reports its own.
	Addresses map[int]string `yaml:"addresses"`
}

func (p prepareConfig) defaults() bmc.PrepareDefaults {
	return bmc.PrepareDefaults{AuthorizedKeys: p.AuthorizedKeys, User: p.User, Hostname: p.Hostname, K3sPrep: p.K3sPrep, Addresses: p.Addresses}
}

// consolePortConfig overrides a slot's serial console.
type consolePortConfig struct {
	Device string `yaml:"device"`
	// Mode is "1500000" or "115200 8N1".
	Mode string `yaml:"mode"`
}

// Board profiles.
var boards = []string{"sim", "tp1", "tp2-v2.4", "tp2-v2.5"}

// defaultConfig is the configuration with no file and no flags.
func defaultConfig() config {
	var c config
	c.Board = "sim"
	c.LogLevel = "info"
	c.Sim.Slots = 4
	c.Sim.Module = "cm4"
	c.Sim.EMMCMiB = 8 << 10
	c.Sim.USBTiming = "real"
	c.Sim.USB = "mux"
	c.Flash.Payload = "auto"
	c.Flash.Priority = "background"
	c.Console.BufferBytes = console.DefaultBufferSize
	c.Console.LogMaxBytes = console.DefaultLogMaxBytes
	c.TP1.I2CBus = "1"
	c.HTTP = httpConfig{ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, BodyIdleTimeout: api.DefaultBodyIdleTimeout}
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
	listen := fs.String("listen", "", "listen `address` (default 127.0.0.1:8080 on sim; :443 with TLS, else :8080, on hardware)")
	tlsOn := fs.Bool("tls", false, "serve HTTPS (default true on hardware, false on sim)")
	redirect := fs.String("redirect-listen", "", "plain-HTTP `address` redirecting to HTTPS, or off (default :80 with TLS on hardware)")
	stateDir := fs.String("state-dir", "", "`directory` for persistent state (default /var/lib/bmcd, or the user state dir on sim)")
	logLevel := fs.String("log-level", c.LogLevel, "log level: debug, info, warn or error")
	simSlots := fs.Int("sim-slots", c.Sim.Slots, "number of slots of the simulated board: 4 or 7")
	simUSBTiming := fs.String("sim-usb-timing", c.Sim.USBTiming, "how fast simulated modules become USB disks: real or fast")
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
		case "tls":
			c.HTTP.TLS = tlsOn
		case "redirect-listen":
			c.HTTP.RedirectListen = *redirect
		case "state-dir":
			c.StateDir = *stateDir
		case "log-level":
			c.LogLevel = *logLevel
		case "sim-slots":
			c.Sim.Slots = *simSlots
		case "sim-usb-timing":
			c.Sim.USBTiming = *simUSBTiming
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
	if c.HTTP.TLS == nil {
		on := c.Board != "sim"
		c.HTTP.TLS = &on
	}
	if c.Listen == "" {
		switch {
		case c.Board == "sim":
			c.Listen = "127.0.0.1:8080"
		case c.HTTP.tlsOn():
			c.Listen = ":443"
		default:
			c.Listen = ":8080"
		}
	}
	if err := c.HTTP.completeTLS(c.Board); err != nil {
		return err
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
	if _, err := c.payload(); err != nil {
		return err
	}
	if _, err := c.simProfile(); err != nil {
		return err
	}
	if c.Flash.Priority != "background" && c.Flash.Priority != "normal" {
		return fmt.Errorf("flash priority %q: want background or normal", c.Flash.Priority)
	}
	if c.Sim.USBTiming != "real" && c.Sim.USBTiming != "fast" {
		return fmt.Errorf("sim usb_timing %q: want real or fast", c.Sim.USBTiming)
	}
	for slot, p := range c.Console.Ports {
		if p.Mode != "" {
			if _, err := console.ParseMode(p.Mode); err != nil {
				return fmt.Errorf("console port of slot %d: %w", slot, err)
			}
		}
	}
	if c.Console.BufferBytes < 4096 || c.Console.LogMaxBytes < 0 {
		return fmt.Errorf("console buffer_bytes %d, log_max_bytes %d: want at least 4096 and 0",
			c.Console.BufferBytes, c.Console.LogMaxBytes)
	}
	if _, err := sim.ParseUSBTopology(c.Sim.USB); err != nil {
		return err
	}
	if h := c.HTTP; h.ReadHeaderTimeout <= 0 || h.IdleTimeout <= 0 || h.BodyIdleTimeout <= 0 {
		return fmt.Errorf("http read_header_timeout %s, idle_timeout %s, body_idle_timeout %s: want each above zero",
			h.ReadHeaderTimeout, h.IdleTimeout, h.BodyIdleTimeout)
	}
	if c.Sim.EMMCMiB <= 0 {
		return fmt.Errorf("sim emmc_mib %d: want a size above zero", c.Sim.EMMCMiB)
	}
	if c.Flash.FirmwareDir == "" {
		c.Flash.FirmwareDir = rpiboot.DefaultFirmwareDir
		if c.Board == "sim" {
			c.Flash.FirmwareDir = filepath.Join(c.StateDir, "sim-firmware")
		}
	}
	return nil
}

// flashProcs lends background flashes their Ps (flash.priority
// background), or is nil (normal).
func (c *config) flashProcs() *bmc.Procs {
	if c.Flash.Priority != "background" {
		return nil
	}
	return bmc.NewProcs()
}

// payload is the configured rpiboot payload.
func (c *config) payload() (rpiboot.Payload, error) {
	for _, p := range []rpiboot.Payload{rpiboot.PayloadAuto, rpiboot.PayloadMassStorageGadget, rpiboot.PayloadLegacyMSD} {
		if p.String() == c.Flash.Payload {
			return p, nil
		}
	}
	return 0, fmt.Errorf("flash payload %q: want auto, mass-storage-gadget64 or msd", c.Flash.Payload)
}

// simProfile is the simulated compute module.
func (c *config) simProfile() (usbsim.Profile, error) {
	var p usbsim.Profile
	switch c.Sim.Module {
	case "cm3":
		p = usbsim.CM3()
	case "cm4":
		p = usbsim.CM4()
	case "cm5":
		p = usbsim.CM5()
	default:
		return p, fmt.Errorf("sim module %q: want cm3, cm4 or cm5", c.Sim.Module)
	}
	if c.Sim.USBTiming == "fast" {
		p.Timing = usbsim.Timing{Disconnect: 10 * time.Millisecond, SecondStage: 50 * time.Millisecond, MassStorage: 50 * time.Millisecond}
	}
	return p, nil
}

func (c *config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return l, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}
