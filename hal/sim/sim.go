package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/atomicfile"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// Opts configures a simulated board.
type Opts struct {
	// Slots is 4 (a Turing Pi 2) or 7 (a Turing Pi 1). Zero means 4.
	Slots int
	// Absent lists slots with no module installed: they never report on.
	Absent []int
	// StatePath, if set, is a file that keeps the simulated hardware state
	// across restarts of the process, like a real board keeps its power
	// while bmcd restarts. It is read by New and written by Close.
	StatePath string
	// Nodes, if set, run while their module runs its operating system:
	// powered, present, and not started in its USB boot ROM (a module
	// powered up or reset with its USB boot strap asserted waits for
	// rpiboot and never boots from its eMMC). They are told when that
	// begins, as New finds the board or as power, reset and strap make
	// it, when it ends, and of every reset while it runs.
	Nodes Nodes
	// USB, if set, puts the slots' modules on a simulated USB bus: a
	// module powered up with its USB boot strap asserted enumerates in
	// its boot ROM while its USB reaches the controller.
	USB    *USB
	Clock  clockwork.Clock
	Logger *slog.Logger
}

// Nodes are the software of the simulated compute modules (the consoles
// of hal/sim/simconsole). The board calls them while it is locked: they
// must not call the Board.
type Nodes interface {
	SetPower(slot int, on bool)
	// Reset restarts a powered node, as its reset line is released.
	Reset(slot int)
}

// Transition is one change of a simulated hardware signal.
type Transition struct {
	At   time.Time
	Slot int
	// Signal is "power", "reset", "usb-boot" or "usb".
	Signal string
	// Value is the new level: "on"/"off", "asserted"/"released", or a USB
	// configuration such as "host/connector".
	Value string
}

func (t Transition) String() string {
	return fmt.Sprintf("slot%d %s=%s", t.Slot, t.Signal, t.Value)
}

// slotState is the simulated hardware of one slot; it is also what
// StatePath stores, so its fields are exported to encoding/json.
type slotState struct {
	Power   bool `json:"power"`
	USBBoot bool `json:"usb_boot"`
	Absent  bool `json:"-"`
	// bootedUSB: the module sampled its strap asserted at power-up (or
	// at its last reset), so it runs its USB boot ROM until powered off.
	bootedUSB bool
	// onBus: the module is plugged into the simulated USB bus.
	onBus bool
}

// runsOS reports whether the slot's module runs the operating system on
// its eMMC: it is there, powered, and did not start in its USB boot ROM.
func (s slotState) runsOS() bool { return s.Power && !s.Absent && !s.bootedUSB }

// Board is a simulated board. It is safe for concurrent use.
type Board struct {
	info   hal.Info
	path   string
	nodes  Nodes
	usbBus *USB
	clock  clockwork.Clock
	log    *slog.Logger

	mu          sync.Mutex
	slots       []slotState // index slot-1
	transitions []Transition
	faults      map[int]error
	// The USB routing last set: where it goes, the role, and on the mux
	// the slot it selects (0: none yet).
	route   hal.USBRoute
	role    hal.USBRole
	muxSlot int
	modules map[int]*usbsim.Module // on the bus, by slot
}

var (
	_ hal.Board              = (*Board)(nil)
	_ hal.Resetter           = (*Board)(nil)
	_ hal.USBBootStrapper    = (*Board)(nil)
	_ hal.USBRouter          = (*Board)(nil)
	_ hal.PresenceSensor     = (*Board)(nil)
	_ hal.PowerDefaultsSaver = (*Board)(nil)
)

// New returns a simulated board. A missing state file means every slot is
// off; an unreadable one is reported and treated the same way.
func New(opts *Opts) (*Board, error) {
	if opts == nil {
		opts = &Opts{}
	}
	n := opts.Slots
	if n == 0 {
		n = 4
	}
	if n != 4 && n != 7 {
		return nil, fmt.Errorf("sim: %d slots: want 4 or 7", n)
	}
	b := &Board{
		info:    hal.Info{Profile: "sim", Model: fmt.Sprintf("Simulated board (%d slots)", n), Slots: n},
		path:    opts.StatePath,
		nodes:   opts.Nodes,
		usbBus:  opts.USB,
		modules: map[int]*usbsim.Module{},
		clock:   opts.Clock,
		log:     opts.Logger,
		slots:   make([]slotState, n),
		faults:  map[int]error{},
	}
	if b.clock == nil {
		b.clock = clockwork.NewRealClock()
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	for _, s := range opts.Absent {
		if err := hal.CheckSlot(s, n); err != nil {
			return nil, fmt.Errorf("sim: absent %w", err)
		}
		b.slots[s-1].Absent = true
	}
	if b.path != "" {
		b.load()
	}
	if b.nodes != nil {
		// Slots on since the last run boot their node now.
		for i, s := range b.slots {
			if s.runsOS() {
				b.nodes.SetPower(i+1, true)
			}
		}
	}
	if b.usbBus != nil {
		if err := b.usbBus.createDisks(b.slots); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (b *Board) load() {
	data, err := os.ReadFile(b.path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var saved []slotState
	if err == nil {
		err = json.Unmarshal(data, &saved)
	}
	if err == nil && len(saved) != len(b.slots) {
		err = fmt.Errorf("%d slots stored, board has %d", len(saved), len(b.slots))
	}
	if err != nil {
		b.log.Warn("sim: ignoring simulated hardware state; all slots start off", "path", b.path, "err", err)
		return
	}
	for i := range saved {
		b.slots[i].Power = saved[i].Power && !b.slots[i].Absent
		b.slots[i].USBBoot = saved[i].USBBoot
		b.slots[i].bootedUSB = b.slots[i].Power && b.slots[i].USBBoot
	}
}

// Close stores the hardware state in StatePath, so that the next process
// finds the slots as this one left them. Writing only here keeps every
// transition as cheap as on real hardware; a process that crashes loses
// the simulated state, like a real board that loses power.
func (b *Board) Close() error {
	if b.path == "" {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	data, err := json.Marshal(b.slots)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(b.path, data, 0o600); err != nil {
		return fmt.Errorf("sim: save hardware state: %w", err)
	}
	return nil
}

// Info implements hal.Board.
func (b *Board) Info() hal.Info { return b.info }

// InjectFault makes the next operation on slot fail with err.
func (b *Board) InjectFault(slot int, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults[slot] = err
}

// Transitions returns the transitions recorded so far, oldest first: every
// one, or the last transitionLimit once there were more.
func (b *Board) Transitions() []Transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Transition(nil), b.transitions...)
}

// begin checks the slot and the context and consumes an injected fault;
// b.mu must be held.
func (b *Board) begin(ctx context.Context, op string, slot int) error {
	if err := hal.CheckSlot(slot, b.info.Slots); err != nil {
		return fmt.Errorf("sim: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sim: %s slot %d: %w", op, slot, err)
	}
	if err, ok := b.faults[slot]; ok {
		delete(b.faults, slot)
		return fmt.Errorf("sim: %s slot %d: %w", op, slot, err)
	}
	return nil
}

// transitionLimit bounds the transitions remembered: the simulated board
// of a bmcd that runs for weeks (make run) switches power and USB routing
// over and over, and only tests read the record, over far fewer.
const transitionLimit = 512

// recordLocked appends a transition, dropping the older half of the
// record when it is full; b.mu must be held.
func (b *Board) recordLocked(slot int, signal, value string) {
	tr := Transition{At: b.clock.Now(), Slot: slot, Signal: signal, Value: value}
	if len(b.transitions) >= transitionLimit {
		b.transitions = append(b.transitions[:0], b.transitions[len(b.transitions)-transitionLimit/2:]...)
	}
	b.transitions = append(b.transitions, tr)
	b.syncBusLocked()
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// SetPower implements hal.PowerController.
func (b *Board) SetPower(ctx context.Context, slot int, on bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(ctx, map[bool]string{true: "power on", false: "power off"}[on], slot); err != nil {
		return err
	}
	s := &b.slots[slot-1]
	if s.Power == on {
		return nil
	}
	ran := s.runsOS()
	s.Power = on
	// The module samples its USB boot strap as it powers up.
	s.bootedUSB = on && s.USBBoot
	b.recordLocked(slot, "power", onOff(on))
	if runs := s.runsOS(); b.nodes != nil && runs != ran {
		b.nodes.SetPower(slot, runs)
	}
	return nil
}

// PowerState implements hal.PowerController. An absent module draws no
// power, so its slot measures off even when switched on.
func (b *Board) PowerState(ctx context.Context, slot int) (hal.PowerState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(ctx, "read power", slot); err != nil {
		return hal.PowerUnknown, err
	}
	s := b.slots[slot-1]
	if s.Power && !s.Absent {
		return hal.PowerOn, nil
	}
	return hal.PowerOff, nil
}

// Reset implements hal.Resetter: the reset line is asserted and released.
func (b *Board) Reset(ctx context.Context, slot int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(ctx, "reset", slot); err != nil {
		return err
	}
	// A reset restarts the module, which samples its strap again.
	s := &b.slots[slot-1]
	ran := s.runsOS()
	s.bootedUSB = false
	b.recordLocked(slot, "reset", "asserted")
	s.bootedUSB = s.Power && s.USBBoot
	b.recordLocked(slot, "reset", "released")
	switch runs := s.runsOS(); {
	case b.nodes == nil:
	case runs && ran:
		b.nodes.Reset(slot)
	case runs != ran:
		b.nodes.SetPower(slot, runs)
	}
	return nil
}

// SetUSBBoot implements hal.USBBootStrapper.
func (b *Board) SetUSBBoot(ctx context.Context, slot int, asserted bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(ctx, "set usb boot", slot); err != nil {
		return err
	}
	s := &b.slots[slot-1]
	if s.USBBoot == asserted {
		return nil
	}
	s.USBBoot = asserted
	v := "released"
	if asserted {
		v = "asserted"
	}
	b.recordLocked(slot, "usb-boot", v)
	return nil
}

// USBBoot reports whether slot's USB boot strap is asserted.
func (b *Board) USBBoot(slot int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slot >= 1 && slot <= len(b.slots) && b.slots[slot-1].USBBoot
}

// SetUSB implements hal.USBRouter.
func (b *Board) SetUSB(ctx context.Context, cfg hal.USBConfig) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(ctx, "set usb", cfg.Slot); err != nil {
		return err
	}
	if b.usbBus != nil && b.usbBus.Topology == USBHub && cfg.Role == hal.USBHost {
		return fmt.Errorf("sim: set usb slot %d: host role on the USB hub: %w", cfg.Slot, hal.ErrNotSupported)
	}
	b.route, b.role, b.muxSlot = cfg.Route, cfg.Role, cfg.Slot
	b.recordLocked(cfg.Slot, "usb", cfg.Role.String()+"/"+cfg.Route.String())
	return nil
}

// Present implements hal.PresenceSensor.
func (b *Board) Present(ctx context.Context, slot int) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(ctx, "read presence", slot); err != nil {
		return false, err
	}
	return !b.slots[slot-1].Absent, nil
}

// SavePowerDefaults implements hal.PowerDefaultsSaver; the simulated board
// keeps its state in StatePath already, so this only checks the context.
func (b *Board) SavePowerDefaults(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sim: save power defaults: %w", err)
	}
	return nil
}
