package usbsim

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// Opts configures a Bus. The zero value (or nil) is a bus on the real
// clock that writes no sysfs tree.
type Opts struct {
	// Clock runs every delay and timeout of the simulated devices; a
	// clockwork.FakeClock in tests (see DriveClock). Nil is the real
	// clock.
	Clock clockwork.Clock
	// Root is the directory under which mass-storage modules appear in a
	// fake sysfs (Root/sys) and /dev (Root/dev). Empty: no tree is
	// written; the devices still enumerate.
	Root string
	// Logger receives the simulator's account of what happens. Nil
	// discards it.
	Logger *slog.Logger
}

// Other describes a device on the bus that is not a compute module in USB
// boot mode: a keyboard (046d:c31c), a hub, another vendor's device. It
// can be opened and claimed; every transfer stalls.
type Other struct {
	VendorID, ProductID uint16
	SerialIndex         uint8
	Serial              string
	// NumInterfaces is 1 if zero.
	NumInterfaces int
}

// otherDevice is an Other plugged into a port.
type otherDevice struct {
	port     string
	busNum   int
	addr     int
	spec     Other
	detached bool
}

func (o *otherDevice) info() usb.DeviceInfo {
	return usb.DeviceInfo{
		Port:          o.port,
		Bus:           o.busNum,
		Address:       o.addr,
		VendorID:      o.spec.VendorID,
		ProductID:     o.spec.ProductID,
		SerialIndex:   o.spec.SerialIndex,
		Serial:        o.spec.Serial,
		NumInterfaces: max(o.spec.NumInterfaces, 1),
	}
}

// Bus is a simulated USB bus. It implements usb.Bus; its methods are safe
// for concurrent use.
type Bus struct {
	clock clockwork.Clock
	root  string
	log   *slog.Logger
	start time.Time

	mu      sync.Mutex
	modules map[string]*Module
	others  map[string]*otherDevice
	// lastAddr is the last address given out on each bus number.
	lastAddr map[int]int
	// hosts counts the SCSI hosts created, as the kernel numbers them.
	hosts int
	ops   []Op
	seq   int // operations recorded so far
}

var _ usb.Bus = (*Bus)(nil)

// New returns an empty bus.
func New(opts *Opts) *Bus {
	if opts == nil {
		opts = &Opts{}
	}
	b := &Bus{
		clock:    opts.Clock,
		root:     opts.Root,
		log:      opts.Logger,
		modules:  map[string]*Module{},
		others:   map[string]*otherDevice{},
		lastAddr: map[int]int{},
	}
	if b.clock == nil {
		b.clock = clockwork.NewRealClock()
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.start = b.clock.Now()
	return b
}

// Attach plugs a compute module with its nRPIBOOT strap set into port
// ("1-1.2"): its boot ROM enumerates at once. Its eMMC is disk, which
// appears as a block device once the module is mass storage. A device
// already in the port is unplugged first.
func (b *Bus) Attach(port string, p Profile, disk Disk) *Module {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.detachLocked(port)
	m := newModule(b, port, p, disk)
	b.modules[port] = m
	b.log.Debug("usbsim: module attached", "port", port, "profile", p.Name, "address", m.addr)
	return m
}

// AttachOther plugs a device that is not a compute module into port. A
// device already in the port is unplugged first.
func (b *Bus) AttachOther(port string, o Other) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.detachLocked(port)
	d := &otherDevice{port: port, busNum: busNumber(port), spec: o}
	d.addr = b.allocAddress(d.busNum)
	b.others[port] = d
}

// Detach unplugs the device in port (powers the module off): it leaves
// the bus, transfers in flight fail with usb.ErrNoDevice, and its disk's
// sysfs and /dev entries go away. An empty port is left alone.
func (b *Bus) Detach(port string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.detachLocked(port)
}

func (b *Bus) detachLocked(port string) {
	if m := b.modules[port]; m != nil {
		m.unplug()
		delete(b.modules, port)
		b.log.Debug("usbsim: module detached", "port", port)
	}
	if o := b.others[port]; o != nil {
		o.detached = true
		delete(b.others, port)
	}
}

// Close unplugs every device, removing their sysfs and /dev entries.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for port := range b.modules {
		b.detachLocked(port)
	}
	for port := range b.others {
		b.detachLocked(port)
	}
	return nil
}

// Devices implements usb.Bus. Transitions that are due happen now. The
// list is sorted by port.
func (b *Bus) Devices(ctx context.Context) ([]usb.DeviceInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("usbsim: list devices: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	devs := []usb.DeviceInfo{}
	for _, m := range b.modules {
		m.advance(now)
		if m.id != nil {
			devs = append(devs, m.info())
		}
	}
	for _, o := range b.others {
		devs = append(devs, o.info())
	}
	slices.SortFunc(devs, func(a, b usb.DeviceInfo) int { return strings.Compare(a.Port, b.Port) })
	return devs, nil
}

// Open implements usb.Bus. It fails with usb.ErrNoDevice unless d is on
// the bus as listed (same port, address and IDs).
func (b *Bus) Open(ctx context.Context, d usb.DeviceInfo) (usb.Device, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("usbsim: open %s: %w", d, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	op := Op{Kind: OpOpen, Port: d.Port, Address: d.Address, VendorID: d.VendorID, ProductID: d.ProductID}
	fail := func(m *Module, note string) (usb.Device, error) {
		op.Note = note
		op.Err = fmt.Errorf("usbsim: open %s: %w", d, usb.ErrNoDevice)
		b.record(m, op)
		return nil, op.Err
	}
	if o := b.others[d.Port]; o != nil {
		if info := o.info(); !sameDevice(info, d) {
			return fail(nil, "no such device")
		}
		b.record(nil, op)
		return &device{bus: b, o: o, info: d}, nil
	}
	m := b.modules[d.Port]
	if m == nil {
		return fail(nil, "no such device")
	}
	m.advance(b.clock.Now())
	if m.id == nil || !sameDevice(m.info(), d) {
		return fail(m, "no such device")
	}
	if m.stage == StateROM && m.profile.Quirks.ROMEnumeratesTwice && !m.openedROM {
		m.openedROM = true
		m.enumerate(m.romIdentity())
		return fail(m, fmt.Sprintf("the ROM re-enumerated as device %d", m.addr))
	}
	b.record(m, op)
	return &device{bus: b, m: m, epoch: m.epoch, info: d}, nil
}

// sameDevice reports whether a listing still names the device l.
func sameDevice(l, d usb.DeviceInfo) bool {
	return l.Address == d.Address && l.VendorID == d.VendorID && l.ProductID == d.ProductID && l.SerialIndex == d.SerialIndex
}

// Transcript is the operations the host performed on the bus's devices,
// in order: every one, or the last [TranscriptLimit] once there were more.
func (b *Bus) Transcript() []Op {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.ops)
}

// record appends op to the transcripts; bus.mu is held.
func (b *Bus) record(m *Module, op Op) {
	b.seq++
	op.Seq = b.seq
	op.At = b.clock.Since(b.start)
	b.ops = appendBounded(b.ops, op)
	if m != nil {
		m.ops = appendBounded(m.ops, op)
	}
	b.log.Debug("usbsim: "+op.String(), "seq", op.Seq)
}

// allocAddress gives out the next free address on a bus, round robin over
// 2…127 as the kernel does (1 is the root hub); bus.mu is held.
func (b *Bus) allocAddress(busNum int) int {
	used := map[int]bool{}
	for _, m := range b.modules {
		if m.busNum == busNum && m.id != nil {
			used[m.addr] = true
		}
	}
	for _, o := range b.others {
		if o.busNum == busNum {
			used[o.addr] = true
		}
	}
	a := max(b.lastAddr[busNum], 1)
	for range 126 {
		a++
		if a > 127 {
			a = 2
		}
		if !used[a] {
			break
		}
	}
	b.lastAddr[busNum] = a
	return a
}

// sleep waits d on the bus clock with bus.mu released, or until gone is
// closed. d <= 0 waits for gone only, as a transfer without a timeout
// does. It reports whether the whole time passed.
func (b *Bus) sleep(d time.Duration, gone <-chan struct{}) bool {
	b.mu.Unlock()
	defer b.mu.Lock()
	if d <= 0 {
		<-gone
		return false
	}
	t := b.clock.NewTimer(d)
	select {
	case <-t.Chan():
		return true
	case <-gone:
		t.Stop()
		return false
	}
}
