package usbsim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// State is where a module is in its boot.
type State int

// Module states.
const (
	// StateROM: the boot ROM is on the bus, waiting for a second stage.
	StateROM State = iota + 1
	// StateSecondStage: the second stage is on the bus, asking for files.
	StateSecondStage
	// StateMassStorage: the eMMC is on the bus as a mass-storage device.
	StateMassStorage
	// StateOffline: between two stages, off the bus.
	StateOffline
	// StateFailed: the module hit an error it cannot recover from (a
	// required file was missing); it hangs, still listed, and answers
	// nothing. See Module.Err.
	StateFailed
	// StateUnplugged: detached or vanished.
	StateUnplugged
)

func (s State) String() string {
	switch s {
	case StateROM:
		return "boot ROM"
	case StateSecondStage:
		return "second stage"
	case StateMassStorage:
		return "mass storage"
	case StateOffline:
		return "offline"
	case StateFailed:
		return "failed"
	case StateUnplugged:
		return "unplugged"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// File is a file the second stage asked for, as the host served it.
type File struct {
	Name string
	// Size is what the host announced; 0 means missing.
	Size int64
	// SHA256 is the digest of the bytes received (ReadFile), zero when
	// only the size was asked or the file was missing.
	SHA256 [32]byte
}

// identity is how a stage shows on the bus.
type identity struct {
	product       uint16
	serialIndex   uint8
	serial        string
	numInterfaces int
}

// event is a transition due at a time.
type event struct {
	at time.Time
	do func()
}

// Module is a compute module plugged into a port of a Bus. Its methods are
// safe for concurrent use.
type Module struct {
	bus     *Bus
	port    string
	busNum  int
	profile Profile
	disk    Disk

	// Everything below is guarded by bus.mu.

	// stage is what runs on the module (StateROM, StateSecondStage or
	// StateMassStorage), whether or not it is on the bus.
	stage State
	// id is what the bus lists; nil while the module is off the bus.
	id   *identity
	addr int
	// epoch counts enumerations: a handle opened in one epoch is stale in
	// the next.
	epoch int
	// gone is closed when the current enumeration ends, to wake
	// transfers blocked on the clock.
	gone      chan struct{}
	unplugged bool
	failed    error
	timeline  []event
	openedROM bool // ROMEnumeratesTwice has played
	faults    []*fault
	claims    map[int]*device
	halted    map[uint8]bool
	rom       romState
	uploads   int // return codes the ROM has given
	ss        secondStage
	bootcode  []byte
	files     []File
	metadata  []string
	tree      *diskTree
	ops       []Op
}

func newModule(b *Bus, port string, p Profile, disk Disk) *Module {
	m := &Module{bus: b, port: port, busNum: busNumber(port), profile: p, disk: disk, stage: StateROM}
	m.ss.script = Script(p)
	m.enumerate(m.romIdentity())
	return m
}

// busNumber is the USB bus of a port path "B-P.P...", 1 if unclear.
func busNumber(port string) int {
	b, _, _ := strings.Cut(port, "-")
	n, err := strconv.Atoi(b)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

func (m *Module) romIdentity() identity {
	return identity{
		product:       m.profile.ROMProduct,
		serialIndex:   m.profile.ROMSerialIndex,
		serial:        m.profile.romSerial(),
		numInterfaces: max(m.profile.ROMInterfaces, 1),
	}
}

func (m *Module) secondStageIdentity() identity {
	id := identity{
		product:       m.profile.secondStageProduct(),
		serialIndex:   m.profile.SecondStageSerialIndex,
		serial:        m.profile.romSerial(),
		numInterfaces: 1,
	}
	if id.product == productBCM2837 {
		// bootcode.bin reports index 1, "Broadcom" (usbboot#9 dmesg).
		id.serial = "Broadcom"
	}
	if id.serialIndex == 0 {
		id.serial = ""
	}
	return id
}

func (m *Module) massStorageIdentity() identity {
	if m.profile.payload() == LegacyMSD {
		return identity{product: productMSD, numInterfaces: 1}
	}
	// configfs gadget: strings 1-3 (manufacturer, product, serial); mass
	// storage on interface 0 plus a CDC-ACM console (2 interfaces).
	return identity{product: productMSG, serialIndex: 3, serial: m.profile.Serial, numInterfaces: 3}
}

// info is the listing of the module, which must be on the bus.
func (m *Module) info() usb.DeviceInfo {
	return usb.DeviceInfo{
		Port:          m.port,
		Bus:           m.busNum,
		Address:       m.addr,
		VendorID:      vendorBroadcom,
		ProductID:     m.id.product,
		SerialIndex:   m.id.serialIndex,
		Serial:        m.id.serial,
		NumInterfaces: m.id.numInterfaces,
	}
}

// enumerate puts the module on the bus as id, with a new address.
func (m *Module) enumerate(id identity) {
	m.disconnect()
	m.id = &id
	m.addr = m.bus.allocAddress(m.busNum)
	m.epoch++
	m.gone = make(chan struct{})
	m.claims = map[int]*device{}
	m.halted = map[uint8]bool{}
}

// disconnect takes the module off the bus.
func (m *Module) disconnect() {
	if m.id == nil {
		return
	}
	m.id = nil
	m.addr = 0
	m.epoch++
	close(m.gone)
	m.claims = nil
	m.halted = nil
}

// unplug removes the module for good.
func (m *Module) unplug() {
	m.disconnect()
	m.unplugged = true
	m.timeline = nil
	m.bus.removeTree(m)
}

// fail puts the module in its error state.
func (m *Module) fail(err error) {
	if m.failed == nil {
		m.failed = err
		m.bus.log.Info("usbsim: module failed", "port", m.port, "err", err)
	}
}

// schedule runs do after d, at the first look at the module from then on.
func (m *Module) schedule(d time.Duration, do func()) {
	e := event{at: m.bus.clock.Now().Add(d), do: do}
	i, _ := slices.BinarySearchFunc(m.timeline, e.at, func(e event, t time.Time) int {
		if e.at.After(t) {
			return 1
		}
		return -1 // equal times keep their order
	})
	m.timeline = slices.Insert(m.timeline, i, e)
}

// advance applies the transitions due by now.
func (m *Module) advance(now time.Time) {
	for len(m.timeline) > 0 && !m.timeline[0].at.After(now) {
		e := m.timeline[0]
		m.timeline = m.timeline[1:]
		e.do()
	}
}

// state is the module's State; the caller has advanced it.
func (m *Module) state() State {
	switch {
	case m.unplugged:
		return StateUnplugged
	case m.failed != nil:
		return StateFailed
	case m.id == nil:
		return StateOffline
	}
	return m.stage
}

// rebootInto schedules the disconnect and re-enumeration as next after a
// stage finished.
func (m *Module) rebootInto(next State, after time.Duration) {
	t := m.profile.Timing
	m.schedule(t.Disconnect, m.disconnect)
	if next == StateSecondStage && m.profile.Quirks.NeverReenumerate {
		return
	}
	m.schedule(max(after, t.Disconnect), func() {
		m.stage = next
		switch next {
		case StateROM:
			m.rom = romState{}
			m.enumerate(m.romIdentity())
		case StateSecondStage:
			m.ss.start(m.bus.clock.Now(), m.profile.Quirks.RequestLatency)
			m.enumerate(m.secondStageIdentity())
		case StateMassStorage:
			m.enumerate(m.massStorageIdentity())
			if err := m.bus.makeTree(m); err != nil {
				m.bus.log.Warn("usbsim: cannot create the disk's sysfs tree", "port", m.port, "err", err)
			}
		}
		m.bus.log.Debug("usbsim: module enumerated", "port", m.port, "stage", next, "address", m.addr)
	})
}

// Port is the port the module is plugged into.
func (m *Module) Port() string { return m.port }

// Profile is the profile the module was attached with.
func (m *Module) Profile() Profile { return m.profile }

// State is where the module is now.
func (m *Module) State() State {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	m.advance(m.bus.clock.Now())
	return m.state()
}

// Err says why the module is in StateFailed, nil otherwise.
func (m *Module) Err() error {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	return m.failed
}

// Inject adds a fault. Faults added before the host starts are the usual
// case; adding one later is safe too.
func (m *Module) Inject(f Fault) {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	m.faults = append(m.faults, &fault{Fault: f})
}

// SetScript replaces the requests the second stage will make (the default
// comes from the profile, see [Step]). Set it before the second stage
// starts.
func (m *Module) SetScript(steps []Step) {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	m.ss.script = slices.Clone(steps)
}

// Bootcode is the second-stage image the boot ROM received, nil before.
func (m *Module) Bootcode() []byte {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	return slices.Clone(m.bootcode)
}

// Uploads is how many second stages the boot ROM has taken in full and
// answered with a return code, lost ones and rejected ones included.
func (m *Module) Uploads() int {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	return m.uploads
}

// Files are the files the second stage asked for, in order, with what the
// host answered (the last [TranscriptLimit]).
func (m *Module) Files() []File {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	return slices.Clone(m.files)
}

// Metadata are the "*KEY*VALUE" lines the second stage sent and the host
// acknowledged (the last [TranscriptLimit]).
func (m *Module) Metadata() []string {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	return slices.Clone(m.metadata)
}

// BlockDevice is the kernel name of the module's disk ("sda") while it is
// mass storage and the bus has a Root, "" otherwise.
func (m *Module) BlockDevice() string {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	m.advance(m.bus.clock.Now())
	if m.tree == nil {
		return ""
	}
	return m.tree.name
}

// Transcript is what the host did to this module, in order: the last
// [TranscriptLimit] operations once there were more.
func (m *Module) Transcript() []Op {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	return slices.Clone(m.ops)
}
