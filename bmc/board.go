package bmc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/hal"
)

// Config configures a Board. Zero durations take the defaults below.
type Config struct {
	// HW is the board profile that drives the hardware.
	HW hal.Board
	// StateDir holds the state file; it must exist.
	StateDir string
	// SelfSlot is the slot bmcd itself runs on (Turing Pi 1 with bmcd on
	// slot 1); switching it off needs force. 0: none.
	SelfSlot int
	// StaggerDelay is the pause between slots when several are switched
	// on, to limit inrush current. Default 250 ms.
	StaggerDelay time.Duration
	// CycleDelay is how long a slot stays off during a power cycle, and
	// during a reset on boards without a reset line. Default 1 s.
	CycleDelay time.Duration
	// BusyTimeout is how long an operation waits for a slot that another
	// operation holds before it fails with ErrBusy. Default 30 s.
	BusyTimeout time.Duration
	// PollInterval is how often Run measures every slot to notice changes
	// bmcd did not make. Default 2 s.
	PollInterval time.Duration
	// StateWriteInterval is the shortest time between two background
	// writes of the requested power states (group commit): the first
	// request after a quiet spell is written at once, the ones that come
	// within the interval after it together at its end. Default 500 ms.
	StateWriteInterval time.Duration
	// Flash says how the board flashes; the zero value cannot flash.
	Flash FlashConfig
	// Consoles are the slots' serial consoles, handed out by Console;
	// nil: no slot has one. Run watches them for first-boot markers.
	Consoles *Consoles
	// Prepare holds the board-wide first-boot defaults.
	Prepare PrepareDefaults
	// ClusterDialer reaches a cluster job's nodes, given each node's
	// account by node name; nil is SSH with bmcd's own key. Tests give
	// a fake.
	ClusterDialer func(users map[string]string) cluster.Dialer
	// AirgapDir holds the air-gap files (k3s binaries, install script,
	// images) served to nodes by an air-gapped cluster job, and uploads
	// go there; "" is StateDir/airgap.
	AirgapDir string

	Clock  clockwork.Clock
	Logger *slog.Logger
}

// Defaults for Config.
const (
	DefaultStaggerDelay = 250 * time.Millisecond
	DefaultCycleDelay   = time.Second
	DefaultBusyTimeout  = 30 * time.Second
	DefaultPollInterval = 2 * time.Second
	// DefaultStateWriteInterval bounds how long an acknowledged power
	// request can wait for the disk: 500 ms plus one write. A burst of
	// requests (a script switching slots, 1,000 requests a second) costs
	// two or three writes a second instead of one each.
	DefaultStateWriteInterval = 500 * time.Millisecond
)

// SlotStatus is a slot as bmcd reports it.
type SlotStatus struct {
	Slot int
	Name string
	// Module is the module type a user set, or else the one the board
	// reports installed; "" if neither is known.
	Module string
	// Power is measured on the hardware.
	Power hal.PowerState
	// Present is nil where the board cannot sense a module.
	Present *bool
	Policy  Policy
	// Requested is the last power state a user asked for: "on", "off" or "".
	Requested string
	// Self marks the slot bmcd runs on.
	Self bool
	// Busy is set while an operation holds the slot.
	Busy bool
	// PowerChangedAt is when bmcd last saw the measured power change; zero
	// if it has not seen a change since it started.
	PowerChangedAt time.Time
	// Warning is set while the requested power states cannot be saved:
	// the hardware did what was asked, but a restart would restore from
	// an older request.
	Warning string
	// Prepared is the node the slot's last flash prepared; nil if none.
	Prepared *Prepared
	// Address is where to reach the prepared node (see Prepared): the
	// address its console reported, a configured one, or <hostname>.local.
	Address string
}

// Board is the domain view of the board: slots, power, policy, events.
// It is safe for concurrent use.
type Board struct {
	cfg    Config
	hw     hal.Board
	clock  clockwork.Clock
	log    *slog.Logger
	events *eventBus
	locks  []chan struct{} // one per slot; holding the token holds the slot
	jobs   *JobQueue
	route  flashRoute
	// markers are the console clients the first-boot marker watch reads.
	markers *markerWatch
	// clusterKey is bmcd's SSH client key for the nodes it prepared.
	clusterKey ssh.Signer
	// clusterMu makes checking for a live cluster job and queueing one
	// atomic.
	clusterMu sync.Mutex
	// airgapSums caches the air-gap files' digests by name.
	airgapMu   sync.Mutex
	airgapSums map[string]airgapSum

	// writeMu serializes state file writes, each of which writes the
	// newest state, so an older snapshot never lands after a newer one.
	writeMu sync.Mutex
	// saveKick wakes the background writer of requested power states.
	saveKick chan struct{}
	// stateWrites counts the state file writes of flush, for tests.
	stateWrites atomic.Int64
	closed      chan struct{}
	stopped     chan struct{}

	mu        sync.Mutex // guards the fields below
	cfgs      []slotConfig
	dirty     bool // cfgs has changes the state file lacks
	measured  []hal.PowerState
	changedAt []time.Time
	holders   []string // per slot: the long operation holding it, or ""
	warnings  []string
	saveErr   error // the requested power states are not saved: why
	// installed is the module the board reports in each slot, or "".
	installed []string
}

// moduleReporter is a board that knows which compute module each slot
// holds (the simulated board does).
type moduleReporter interface {
	InstalledModule(slot int) string
}

// New loads the persisted state and returns a Board. It does not touch
// the hardware: call RestorePower to apply the restore policies. Close
// the Board to flush the state file.
func New(cfg Config) (*Board, error) {
	if cfg.HW == nil {
		return nil, errors.New("bmc: no board hardware")
	}
	setDefault(&cfg.StaggerDelay, DefaultStaggerDelay)
	setDefault(&cfg.CycleDelay, DefaultCycleDelay)
	setDefault(&cfg.BusyTimeout, DefaultBusyTimeout)
	setDefault(&cfg.PollInterval, DefaultPollInterval)
	setDefault(&cfg.StateWriteInterval, DefaultStateWriteInterval)
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := cfg.HW.Info().Slots
	if err := checkPrepareDefaults(cfg.Prepare, n); err != nil {
		return nil, err
	}
	if cfg.SelfSlot != 0 {
		if err := hal.CheckSlot(cfg.SelfSlot, n); err != nil {
			return nil, fmt.Errorf("bmc: self slot: %w", err)
		}
	}
	cfgs, warning, err := loadState(cfg.StateDir, n)
	if err != nil {
		return nil, err
	}
	key, err := loadClusterKey(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	b := &Board{
		clusterKey: key,
		cfg:        cfg,
		hw:         cfg.HW,
		clock:      cfg.Clock,
		log:        cfg.Logger,
		events:     newEventBus(),
		locks:      make([]chan struct{}, n),
		cfgs:       cfgs,
		measured:   make([]hal.PowerState, n),
		changedAt:  make([]time.Time, n),
		holders:    make([]string, n),
		installed:  make([]string, n),
		saveKick:   make(chan struct{}, 1),
		closed:     make(chan struct{}),
		stopped:    make(chan struct{}),
	}
	for i := range b.locks {
		b.locks[i] = make(chan struct{}, 1)
	}
	if mr, ok := cfg.HW.(moduleReporter); ok {
		for i := range b.installed {
			b.installed[i] = mr.InstalledModule(i + 1)
		}
	}
	parallel := 1
	if cfg.Flash.Parallel {
		parallel = n
	}
	publish := func(j Job) { b.events.publish(Event{Time: b.clock.Now(), Type: EventJob, Job: &j}) }
	jobs, interrupted, jobsWarning, err := openJobQueue(cfg.StateDir, parallel, b.clock, b.log, publish)
	if err != nil {
		return nil, err
	}
	b.jobs = jobs
	if jobsWarning != "" {
		b.log.Error("bmc: " + jobsWarning)
		b.warnings = append(b.warnings, jobsWarning)
	}
	b.recoverInterrupted(interrupted)
	if jobsWarning != "" || interrupted != nil || len(jobs.jobs) > 0 {
		if err := jobs.save(); err != nil {
			return nil, err
		}
	}
	if warning != "" {
		b.log.Error("bmc: " + warning)
		b.warnings = append(b.warnings, warning)
		if err := saveState(cfg.StateDir, cfgs); err != nil {
			return nil, err
		}
	}
	b.markers = newMarkerWatch(cfg.Consoles)
	go b.writeRequested()
	return b, nil
}

// Close stops the jobs, which end interrupted once their slots are
// back in the known state, writes any state not yet written and stops
// the background writer.
func (b *Board) Close() error {
	select {
	case <-b.closed:
	default:
		close(b.closed)
	}
	b.jobs.stop()
	b.markers.close()
	<-b.stopped
	return b.flush()
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Info describes the board profile.
func (b *Board) Info() hal.Info { return b.hw.Info() }

// Capabilities lists what the board can do beyond power, by the names
// the API uses.
func (b *Board) Capabilities() []string {
	var caps []string
	if _, ok := b.hw.(hal.Resetter); ok {
		caps = append(caps, "reset")
	}
	if _, ok := b.hw.(hal.USBBootStrapper); ok {
		caps = append(caps, "usb-boot")
	}
	if _, ok := b.hw.(hal.USBRouter); ok {
		caps = append(caps, "usb-route")
	}
	if _, ok := b.hw.(hal.PresenceSensor); ok {
		caps = append(caps, "presence")
	}
	if _, ok := b.hw.(hal.PowerDefaultsSaver); ok {
		caps = append(caps, "save-power-defaults")
	}
	return caps
}

// Warnings returns problems found at start that an operator should see,
// such as a corrupt state file that was replaced.
func (b *Board) Warnings() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.warnings...)
}

// Subscribe returns a subscription to events with an ID greater than
// after (0: only new events).
func (b *Board) Subscribe(after uint64) *Subscription { return b.events.subscribe(after) }

// Slots returns every slot, measured now.
func (b *Board) Slots(ctx context.Context) []SlotStatus {
	out := make([]SlotStatus, len(b.locks))
	for i := range out {
		out[i] = b.measure(ctx, i+1)
	}
	return out
}

// Slot returns one slot, measured now.
func (b *Board) Slot(ctx context.Context, slot int) (SlotStatus, error) {
	if err := b.checkSlot(slot); err != nil {
		return SlotStatus{}, err
	}
	return b.measure(ctx, slot), nil
}

// CheckSlot returns an error wrapping hal.ErrNoSlot if the board has no
// slot numbered slot.
func (b *Board) CheckSlot(slot int) error { return b.checkSlot(slot) }

func (b *Board) checkSlot(slot int) error {
	if hal.CheckSlot(slot, len(b.locks)) != nil {
		return &noSlotError{slot: slot, slots: len(b.locks)}
	}
	return nil
}

// noSlotError is hal.ErrNoSlot in words for users, without hal's prefix.
type noSlotError struct{ slot, slots int }

func (e *noSlotError) Error() string {
	return fmt.Sprintf("slot %d: no such slot (the board has slots 1-%d)", e.slot, e.slots)
}

// Is makes errors.Is(err, hal.ErrNoSlot) true.
func (e *noSlotError) Is(target error) bool { return target == hal.ErrNoSlot }

// measure reads the slot's power (and presence, where the board senses
// it), publishes an event if the power changed, and returns the status.
// A hardware read error is logged and reported as PowerUnknown.
func (b *Board) measure(ctx context.Context, slot int) SlotStatus {
	power, err := b.hw.PowerState(ctx, slot)
	if err != nil {
		b.log.Warn("bmc: read power", "slot", slot, "err", err)
		power = hal.PowerUnknown
	}
	var present *bool
	if ps, ok := b.hw.(hal.PresenceSensor); ok {
		if p, err := ps.Present(ctx, slot); err == nil {
			present = &p
		}
	}
	b.mu.Lock()
	changed := b.measured[slot-1] != power
	if changed {
		// The first measurement after start is not a change anyone caused.
		if b.measured[slot-1] != hal.PowerUnknown {
			b.changedAt[slot-1] = b.clock.Now()
		}
		b.measured[slot-1] = power
	}
	st := b.statusLocked(slot)
	b.mu.Unlock()
	st.Power, st.Present = power, present
	if changed {
		b.events.publish(Event{Time: b.clock.Now(), Type: EventPower, Slot: st})
	}
	return st
}

// statusLocked builds a slot's status from what bmcd knows; b.mu must be held.
func (b *Board) statusLocked(slot int) SlotStatus {
	c := b.cfgs[slot-1]
	var warning string
	if b.saveErr != nil {
		warning = fmt.Sprintf("requested power state not saved (%v): after a restart, the restore policy would act on an older request", b.saveErr)
	}
	var address string
	if p := c.Prepared; p != nil {
		address = b.nodeAddress(slot, p)
	}
	return SlotStatus{
		Prepared:       clonePrepared(c.Prepared),
		Address:        address,
		Slot:           slot,
		Name:           c.Name,
		Module:         cmp.Or(c.Module, b.installed[slot-1]), // a user's word first
		Power:          b.measured[slot-1],
		Policy:         c.Policy,
		Requested:      c.Requested,
		Self:           slot == b.cfg.SelfSlot,
		Busy:           len(b.locks[slot-1]) > 0,
		PowerChangedAt: b.changedAt[slot-1],
		Warning:        warning,
	}
}

// SlotUpdate changes a slot's settings; nil fields are left as they are.
type SlotUpdate struct {
	Name   *string
	Module *string
	Policy *Policy
}

// UpdateSlot changes a slot's name, module type or policy and persists it.
func (b *Board) UpdateSlot(ctx context.Context, slot int, u SlotUpdate) (SlotStatus, error) {
	if err := b.checkSlot(slot); err != nil {
		return SlotStatus{}, err
	}
	for _, f := range []struct {
		field string
		v     *string
	}{{"slot name", u.Name}, {"module", u.Module}} {
		if f.v != nil {
			if err := CheckText(f.field, *f.v, MaxNameLen); err != nil {
				return SlotStatus{}, err
			}
		}
	}
	if u.Policy != nil {
		if _, err := ParsePolicy(string(*u.Policy)); err != nil {
			return SlotStatus{}, err
		}
	}
	err := b.updateConfig(slot, func(c *slotConfig) {
		if u.Name != nil {
			c.Name = *u.Name
		}
		if u.Module != nil {
			c.Module = *u.Module
		}
		if u.Policy != nil {
			c.Policy = *u.Policy
		}
	})
	if err != nil {
		return SlotStatus{}, err
	}
	st := b.measure(ctx, slot)
	b.events.publish(Event{Time: b.clock.Now(), Type: EventSlot, Slot: st})
	return st, nil
}

// updateConfig applies change to a slot's config once it is on stable
// storage; if the write fails, nothing changes. change may run twice and
// must only set fields.
func (b *Board) updateConfig(slot int, change func(*slotConfig)) error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.mu.Lock()
	next := append([]slotConfig(nil), b.cfgs...)
	b.mu.Unlock()
	change(&next[slot-1])
	if err := saveState(b.cfg.StateDir, next); err != nil {
		return err
	}
	b.mu.Lock()
	change(&b.cfgs[slot-1])
	b.saveErr = nil // next held every requested power state too
	b.mu.Unlock()
	return nil
}

// setRequested records the power state a user asked for. It is written
// to the state file in the background, within StateWriteInterval and one
// write, so a power request never waits for the disk (an fsync on the
// controller's SD card takes milliseconds, and seconds while a flash
// fills the page cache). The guarantee is this: a request acknowledged
// more than StateWriteInterval plus one write ago survives a crash of
// the whole machine; a crash sooner after it can lose it, and then the
// restore policy acts on the request before — the hardware itself did
// switch. Requests are written in the order they were made (the last
// one wins), and bmcd's shutdown writes any pending one. What would stop
// the write (a state directory gone, read-only or full) is checked at
// once, so the answer to the request can say so.
func (b *Board) setRequested(slot int, requested string) {
	b.mu.Lock()
	changed := b.cfgs[slot-1].Requested != requested
	if changed {
		b.cfgs[slot-1].Requested = requested
		b.dirty = true
	}
	b.mu.Unlock()
	if !changed {
		return
	}
	if err := checkWritable(b.cfg.StateDir); err != nil {
		b.setSaveErr(err)
		b.log.Error("bmc: requested power state cannot be saved", "slot", slot, "err", err)
	}
	select {
	case b.saveKick <- struct{}{}:
	default: // a write is already pending; it will include this change
	}
}

// setSaveErr records the outcome of a write of the state file.
func (b *Board) setSaveErr(err error) {
	b.mu.Lock()
	b.saveErr = err
	b.mu.Unlock()
}

// writeRequested is the background writer started by New. It writes at
// once when woken after a quiet spell, then waits StateWriteInterval
// before the next write, so that every request made meanwhile shares
// one write (and its two fsyncs): before, each request that came while
// the previous write ran cost a write of its own, 341 fsyncs per 1,000
// requests from one client.
func (b *Board) writeRequested() {
	defer close(b.stopped)
	for {
		select {
		case <-b.closed:
			return
		case <-b.saveKick:
		}
		if err := b.flush(); err != nil {
			b.log.Error("bmc: save requested power state", "err", err)
		}
		select {
		case <-b.closed:
			return
		case <-b.clock.After(b.cfg.StateWriteInterval):
		}
	}
}

// flush writes the state file durably if it lacks changes.
func (b *Board) flush() error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.mu.Lock()
	if !b.dirty {
		b.mu.Unlock()
		return nil
	}
	snapshot := append([]slotConfig(nil), b.cfgs...)
	b.dirty = false
	b.mu.Unlock()
	err := saveState(b.cfg.StateDir, snapshot)
	b.stateWrites.Add(1)
	b.setSaveErr(err)
	if err != nil {
		b.mu.Lock()
		b.dirty = true
		b.mu.Unlock()
		return err
	}
	return nil
}

// Run measures every slot each PollInterval, so changes bmcd did not make
// (another node switching power over the Turing Pi 1 I2C bus, a module
// pulled out) still produce events, and watches the slots' consoles for
// first-boot markers (watchMarkers). It returns when ctx is done.
func (b *Board) Run(ctx context.Context) error {
	stop := b.watchMarkers(ctx)
	defer stop()
	t := b.clock.NewTicker(b.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
			b.Slots(ctx)
		}
	}
}

// sleep waits d on the board's clock, or until ctx is done.
func (b *Board) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-b.clock.After(d):
		return nil
	}
}
