package rpiboot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// Timeouts bound every step of a boot. A zero field takes its default.
type Timeouts struct {
	// Find is how long to wait for a boot device on the port, and for a
	// device that re-enumerated under an Open to show up again. Default
	// 10 s.
	Find time.Duration
	// SecondStage is how long the boot ROM has, after its return code, to
	// come back as the second stage. Observed 1.3–4 s (reference §3.3).
	// Default 10 s.
	SecondStage time.Duration
	// FileServer bounds the whole file-server session. Default 2 min.
	FileServer time.Duration
	// MassStorage is how long the module has, after the file server is
	// done, to show up as a disk. Default 60 s for the mass-storage-gadget
	// (Linux boots), 30 s for legacy msd (reference §5.2).
	MassStorage time.Duration
	// Control bounds each announce. Default 1 s (main.c ep_write).
	Control time.Duration
	// Bulk bounds each bulk chunk. Default 5 s (main.c ep_write).
	Bulk time.Duration
	// Read bounds each read from the device, the return code and every
	// request. Default 20 s: the device may be busy before it answers
	// (main.c ep_read since usbboot f0718be, reference §2).
	Read time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Find, 10*time.Second)
	def(&t.SecondStage, 10*time.Second)
	def(&t.FileServer, 2*time.Minute)
	def(&t.Control, time.Second)
	def(&t.Bulk, 5*time.Second)
	def(&t.Read, 20*time.Second)
	return t
}

// massStorage is the MassStorage timeout for payload p.
func (t Timeouts) massStorage(p Payload) time.Duration {
	switch {
	case t.MassStorage > 0:
		return t.MassStorage
	case p == PayloadLegacyMSD:
		return 30 * time.Second
	}
	return time.Minute
}

// Timing of the protocol that is not a timeout.
const (
	// defaultPollInterval is how often the bus is scanned while waiting
	// (reference §9.2: every ~100–250 ms).
	defaultPollInterval = 100 * time.Millisecond
	// romSettle is the pause between the upload and the return-code read
	// (main.c second_stage_boot sleeps 1 s, reference §3.2 step 6).
	romSettle = time.Second
	// requestRetryPause is the pause before reading a request again after
	// a timeout (main.c file_server sleeps 1 s, reference §4.2).
	requestRetryPause = time.Second
	// maxRequestReads is how many times in a row a request read may time
	// out before the device counts as hung.
	maxRequestReads = 3
	// maxROMUploads bounds the uploads of the second stage to a boot ROM
	// that shows up again after the upload (usbboot PR #63: main.c sends
	// it again for as long as the port shows a ROM).
	maxROMUploads = 3
	// romLeave is how long a boot ROM that answered with a non-zero
	// return code has to leave the bus before it counts as waiting for a
	// new upload (main.c closes the device and sleeps 1 s before it looks
	// again).
	romLeave = time.Second
)

// Opts configures Boot. The zero value (or nil) boots with the firmware
// in DefaultFirmwareDir, the default payload and timeouts, on the real
// clock.
type Opts struct {
	// Firmware supplies the files; nil is NewFirmware(DefaultFirmwareDir).
	Firmware *Firmware
	// Payload is what the module boots into; PayloadAuto picks the chip's
	// default.
	Payload  Payload
	Timeouts Timeouts
	// PollInterval is how often the bus is scanned while waiting for a
	// device. Default 100 ms.
	PollInterval time.Duration
	// Clock runs every wait and deadline. Nil is the real clock.
	Clock clockwork.Clock
	// Logger receives progress (Info), retries (Warn) and every request
	// (Debug). Nil discards it.
	Logger *slog.Logger
}

// FileRequest is a request of the second stage and how it was answered.
type FileRequest struct {
	Command Command
	Name    string
	// Size is what was announced; 0 for a missing or refused file.
	Size int64
	// Source is where the file came from (File.Source), "" if missing.
	Source string
}

// Result is what Boot did.
type Result struct {
	// Port is the port of the module (the one found if Boot was given "").
	Port string
	// Chip is the module's SoC, ChipUnknown if it was already a disk.
	Chip    Chip
	Payload Payload
	// Serial is the boot ROM's serial string: on a CM4/CM5, the last 8
	// hex digits of the CPU serial, which the mass-storage-gadget reports
	// whole. Empty on a CM3, or when no boot ROM was seen.
	Serial string
	// Device is the mass-storage device the module became.
	Device usb.DeviceInfo
	// Files are the second stage's requests, in order.
	Files []FileRequest
	// Metadata are the "*KEY*VALUE" lines the second stage sent (BCM2711
	// and BCM2712 recovery firmware).
	Metadata map[string]string
}

// Boot turns the compute module on port ("1-1.2") into a USB disk: it
// waits for its boot ROM, sends the second stage, serves the files the
// second stage asks for, and waits for the mass-storage device (0a5c:0104
// or 0a5c:0001) on the same port, which it returns in Result.Device.
// Devices on other ports are ignored. A module already past the ROM (its
// second stage, or already a disk) is taken from where it is. An empty
// port takes the first boot ROM or second stage found on any port.
//
// Every step has a deadline (Opts.Timeouts). Errors are *Error, naming
// the port, the device and the step, and wrap the cause: a sentinel of
// this package or of package usb.
func Boot(ctx context.Context, bus usb.Bus, port string, opts *Opts) (Result, error) {
	s := newSession(bus, port, opts)
	err := s.run(ctx)
	return s.res, err
}

// session is one Boot.
type session struct {
	bus     usb.Bus
	port    string
	fw      *Firmware
	t       Timeouts
	poll    time.Duration
	clock   clockwork.Clock
	log     *slog.Logger
	chip    Chip
	payload Payload
	// current describes the device the steps run against, for errors.
	current string
	res     Result
}

func newSession(bus usb.Bus, port string, opts *Opts) *session {
	if opts == nil {
		opts = &Opts{}
	}
	s := &session{
		bus:     bus,
		port:    port,
		fw:      opts.Firmware,
		t:       opts.Timeouts.withDefaults(),
		poll:    opts.PollInterval,
		clock:   opts.Clock,
		log:     opts.Logger,
		payload: opts.Payload,
		res:     Result{Port: port},
	}
	if s.fw == nil {
		s.fw = NewFirmware(DefaultFirmwareDir)
	}
	if s.poll <= 0 {
		s.poll = defaultPollInterval
	}
	if s.clock == nil {
		s.clock = clockwork.NewRealClock()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

func (s *session) run(ctx context.Context) error {
	want := func(d usb.DeviceInfo) bool { st, _ := Identify(d); return st != StageNone }
	if s.port == "" {
		// Any port: only a module in USB boot is ours for sure.
		want = func(d usb.DeviceInfo) bool { st, _ := Identify(d); return st == StageROM || st == StageFileServer }
	}
	d, err := s.waitFor(ctx, "find boot ROM", s.t.Find, want)
	if err != nil {
		return err
	}
	s.port, s.res.Port = d.Port, d.Port
	s.log = s.log.With("port", s.port)
	stage, chip := Identify(d)
	s.current = describe(d, chip)
	if stage != StageMassStorage {
		s.chip, s.res.Chip = chip, chip
		if s.payload, err = s.payload.forChip(chip); err != nil {
			return s.fail("choose payload", err)
		}
		s.res.Payload = s.payload
	}
	s.log.Info("rpiboot: found "+s.current, "payload", s.payload)

	if stage == StageROM {
		s.res.Serial = d.Serial
		if d, err = s.bootROM(ctx, d); err != nil {
			return err
		}
		stage = StageFileServer
	}
	if stage == StageFileServer {
		s.current = describe(d, s.chip)
		if err := s.fileServer(ctx, d); err != nil {
			return err
		}
		if d, err = s.waitFor(ctx, "wait for mass storage", s.t.massStorage(s.payload), is(StageMassStorage)); err != nil {
			return err
		}
	}
	s.res.Device = d
	if s.res.Payload == PayloadAuto {
		s.res.Payload = PayloadMassStorageGadget
		if d.ProductID == productLegacyMSD {
			s.res.Payload = PayloadLegacyMSD
		}
	}
	s.log.Info("rpiboot: mass storage ready", "device", d.String(), "serial", d.Serial)
	return nil
}

// is matches the devices in one stage.
func is(want Stage) func(usb.DeviceInfo) bool {
	return func(d usb.DeviceInfo) bool { st, _ := Identify(d); return st == want }
}

// fail wraps err as the failure of step on the current device.
func (s *session) fail(step string, err error) error {
	if e := (*Error)(nil); errors.As(err, &e) {
		return err
	}
	return &Error{Port: s.port, Device: s.current, Step: step, Err: err}
}

// waitFor polls the bus until a device on the port is wanted, for at most
// timeout.
func (s *session) waitFor(ctx context.Context, step string, timeout time.Duration, want func(usb.DeviceInfo) bool) (usb.DeviceInfo, error) {
	deadline := s.clock.Now().Add(timeout)
	for {
		devs, err := s.bus.Devices(ctx)
		if err != nil {
			return usb.DeviceInfo{}, s.fail(step, err)
		}
		var other *usb.DeviceInfo
		for _, d := range devs {
			if s.port != "" && d.Port != s.port {
				continue
			}
			if want(d) {
				return d, nil
			}
			if s.port != "" {
				other = &d
			}
		}
		left := s.clock.Until(deadline)
		if left <= 0 {
			err := fmt.Errorf("nothing after %s: %w", timeout, ErrDeadline)
			if other != nil {
				has := "has " + describe(*other, s.chip)
				if describe(*other, s.chip) == s.current {
					has = "still has it" // the device the error names already
				}
				err = fmt.Errorf("nothing after %s, the port %s: %w", timeout, has, ErrDeadline)
			}
			return usb.DeviceInfo{}, s.fail(step, err)
		}
		if err := s.sleep(ctx, min(s.poll, left)); err != nil {
			return usb.DeviceInfo{}, s.fail(step, err)
		}
	}
}

// open opens d. A device that re-enumerated between the listing and the
// Open (the BCM2711 ROM enumerates twice; a second stage's device node
// may lag) fails with usb.ErrNoDevice: then open looks for the device in
// the same stage again and retries, for at most the Find timeout.
func (s *session) open(ctx context.Context, d usb.DeviceInfo, stage Stage) (usb.Device, usb.DeviceInfo, error) {
	deadline := s.clock.Now().Add(s.t.Find)
	for {
		dev, err := s.bus.Open(ctx, d)
		if err == nil {
			s.current = describe(d, s.chip)
			return dev, d, nil
		}
		if !errors.Is(err, usb.ErrNoDevice) {
			return nil, d, s.fail("open", err)
		}
		left := s.clock.Until(deadline)
		if left <= 0 {
			return nil, d, s.fail("open", fmt.Errorf("gave up after %s: %w: %w", s.t.Find, ErrDeadline, err))
		}
		s.log.Info("rpiboot: device re-enumerated before it could be opened; looking again", "device", d.String(), "err", err)
		if err := s.sleep(ctx, min(s.poll, left)); err != nil {
			return nil, d, s.fail("open", err)
		}
		if d, err = s.waitFor(ctx, "open", s.clock.Until(deadline), is(stage)); err != nil {
			return nil, d, err
		}
	}
}

// claim claims the vendor interface of an open device.
func (s *session) claim(dev usb.Device, d usb.DeviceInfo) (*link, error) {
	iface, ep := vendorInterface(d.NumInterfaces)
	if err := dev.Claim(iface); err != nil {
		return nil, s.fail(fmt.Sprintf("claim interface %d", iface), err)
	}
	return &link{dev: dev, ep: ep, t: s.t, log: s.log}, nil
}

// closeDevice closes a device at the end of a stage; the device may have
// gone already, which is fine.
func (s *session) closeDevice(dev usb.Device) {
	if err := dev.Close(); err != nil {
		s.log.Debug("rpiboot: close", "err", err)
	}
}

// sleep waits d on the session clock, or until ctx is done.
func (s *session) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := s.clock.NewTimer(d)
	select {
	case <-t.Chan():
		return nil
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
}
