package usbsim

import (
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// ErrClosed is returned by a device handle used after Close.
var ErrClosed = errors.New("usbsim: device handle closed")

// Setup packets the simulated devices understand.
const (
	// reqTypeVendorOut and reqTypeVendorIn with request 0 are the boot
	// protocol's announce and read (reference §2; main.c ep_write,
	// ep_read).
	reqTypeVendorOut = 0x40
	reqTypeVendorIn  = 0xc0
	// reqTypeEndpointOut, requestClearFeature and featureEndpointHalt make
	// CLEAR_FEATURE(ENDPOINT_HALT) (USB 2.0 §9.4.1, §9.4.5).
	reqTypeEndpointOut  = 0x02
	requestClearFeature = 0x01
	featureEndpointHalt = 0x00
	dirIn               = 0x80
)

// outcome is how a device answers a transfer.
type outcome struct {
	// n is how many bytes of an OUT transfer the device took.
	n int
	// data is what an IN transfer returns.
	data []byte
	// err is a usb sentinel the transfer fails with.
	err error
	// nak: the device does not answer; the transfer times out after
	// moving n bytes.
	nak bool
	// busy: the device will answer after this long; ask again then.
	busy time.Duration
	note string
}

// device is an open handle on a module or another device.
type device struct {
	bus   *Bus
	m     *Module      // nil for another device
	o     *otherDevice // nil for a module
	epoch int
	info  usb.DeviceInfo
	// closed and the claims are guarded by bus.mu.
	closed bool
}

var _ usb.Device = (*device)(nil)

// check reports whether the handle can still be used; bus.mu is held.
func (d *device) check() error {
	if d.closed {
		return ErrClosed
	}
	if d.o != nil {
		if d.o.detached {
			return usb.ErrNoDevice
		}
		return nil
	}
	d.m.advance(d.bus.clock.Now())
	if d.m.id == nil || d.m.epoch != d.epoch {
		return usb.ErrNoDevice
	}
	return nil
}

// op starts the transcript entry of an operation on the handle.
func (d *device) op(k OpKind) Op {
	return Op{Port: d.info.Port, Address: d.info.Address, VendorID: d.info.VendorID, ProductID: d.info.ProductID, Kind: k}
}

// finish records op and returns its result, wrapping err with the
// operation; not with the device: whoever opened it names it.
func (d *device) finish(op Op, n int, err error) (int, error) {
	op.N = n
	if err != nil {
		err = fmt.Errorf("usbsim: %s: %w", op.Kind, err)
	}
	op.Err = err
	d.bus.record(d.m, op)
	return n, err
}

// Claim implements usb.Device.
func (d *device) Claim(iface int) error {
	d.bus.mu.Lock()
	defer d.bus.mu.Unlock()
	op := d.op(OpClaim)
	op.Interface = iface
	if err := d.check(); err != nil {
		_, err = d.finish(op, 0, err)
		return err
	}
	if iface < 0 || iface >= d.numInterfaces() {
		_, err := d.finish(op, 0, fmt.Errorf("no interface %d", iface))
		return err
	}
	if d.m != nil {
		if h := d.m.claims[iface]; h != nil && h != d {
			_, err := d.finish(op, 0, usb.ErrBusy)
			return err
		}
		d.m.claims[iface] = d
	}
	_, err := d.finish(op, 0, nil)
	return err
}

// Release implements usb.Device.
func (d *device) Release(iface int) error {
	d.bus.mu.Lock()
	defer d.bus.mu.Unlock()
	op := d.op(OpRelease)
	op.Interface = iface
	if err := d.check(); err != nil {
		_, err = d.finish(op, 0, err)
		return err
	}
	if d.m != nil {
		if d.m.claims[iface] != d {
			_, err := d.finish(op, 0, fmt.Errorf("interface %d not claimed", iface))
			return err
		}
		delete(d.m.claims, iface)
	}
	_, err := d.finish(op, 0, nil)
	return err
}

// Close implements usb.Device. Closing a handle whose device has gone is
// not an error.
func (d *device) Close() error {
	d.bus.mu.Lock()
	defer d.bus.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if d.m != nil && d.m.epoch == d.epoch {
		for i, h := range d.m.claims {
			if h == d {
				delete(d.m.claims, i)
			}
		}
	}
	_, err := d.finish(d.op(OpClose), 0, nil)
	return err
}

// ClearHalt un-halts a bulk endpoint after a STALL, as Linux's
// USBDEVFS_CLEAR_HALT does: CLEAR_FEATURE(ENDPOINT_HALT) to the device and
// a reset of the host's data toggle. It is not part of usb.Device; hosts
// find it with a type assertion.
func (d *device) ClearHalt(ep uint8) error {
	d.bus.mu.Lock()
	defer d.bus.mu.Unlock()
	op := d.op(OpClearHalt)
	op.Endpoint = ep
	if err := d.check(); err != nil {
		_, err = d.finish(op, 0, err)
		return err
	}
	if d.m != nil {
		if _, _, ok := d.m.endpoint(ep); !ok {
			_, err := d.finish(op, 0, fmt.Errorf("no endpoint 0x%02x: %w", ep, usb.ErrStall))
			return err
		}
		delete(d.m.halted, ep)
	}
	_, err := d.finish(op, 0, nil)
	return err
}

func (d *device) numInterfaces() int {
	if d.o != nil {
		return max(d.o.spec.NumInterfaces, 1)
	}
	return d.m.id.numInterfaces
}

// Control implements usb.Device.
func (d *device) Control(reqType, req uint8, value, index uint16, data []byte, timeout time.Duration) (int, error) {
	op := d.op(OpControlOut)
	if reqType&dirIn != 0 {
		op.Kind = OpControlIn
	}
	op.RequestType, op.Request, op.Value, op.Index = reqType, req, value, index
	op.Length, op.Timeout = len(data), timeout
	return d.transfer(op, data, func(now time.Time) outcome {
		return d.control(reqType, req, value, index, data, now)
	})
}

// BulkOut implements usb.Device.
func (d *device) BulkOut(ep uint8, data []byte, timeout time.Duration) (int, error) {
	op := d.op(OpBulkOut)
	op.Endpoint, op.Length, op.Timeout = ep, len(data), timeout
	return d.transfer(op, data, func(now time.Time) outcome {
		return d.bulkOut(ep, data, now)
	})
}

// transfer runs a transfer: checks, faults, the device's answer, and the
// time it takes.
func (d *device) transfer(op Op, data []byte, answer func(time.Time) outcome) (int, error) {
	b := d.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := d.check(); err != nil {
		return d.finish(op, 0, err)
	}
	if d.o != nil {
		op.Note = "not a boot device"
		return d.finish(op, 0, usb.ErrStall)
	}
	out, faulted := d.fault(op, data)
	for !faulted {
		out = answer(b.clock.Now())
		if out.busy == 0 {
			break
		}
		if op.Timeout > 0 && out.busy > op.Timeout {
			out = outcome{nak: true, note: fmt.Sprintf("busy for %s", out.busy)}
			break
		}
		if !b.sleep(out.busy, d.m.gone) {
			return d.finish(op, 0, usb.ErrNoDevice)
		}
		if err := d.check(); err != nil {
			op.Note = out.note
			return d.finish(op, 0, err)
		}
	}
	op.Note = out.note
	n := out.n
	if op.Kind == OpControlIn {
		n = copy(data, out.data)
	}
	op.CRC = crc32.ChecksumIEEE(data[:n])
	if out.nak {
		if !b.sleep(op.Timeout, d.m.gone) {
			return d.finish(op, n, usb.ErrNoDevice)
		}
		return d.finish(op, n, usb.ErrTimeout)
	}
	return d.finish(op, n, out.err)
}

// fault applies the first injected fault that fires on this transfer.
func (d *device) fault(op Op, data []byte) (outcome, bool) {
	m, k := d.m, op.Kind
	var fired *fault
	for _, f := range m.faults {
		if f.match(m.stage, k) && fired == nil {
			fired = f
		}
	}
	if fired == nil {
		return outcome{}, false
	}
	switch fired.Kind {
	case FaultTimeout:
		return outcome{nak: true, note: "fault: no answer"}, true
	case FaultStall:
		if _, _, ok := m.endpoint(op.Endpoint); ok && k == OpBulkOut {
			m.halted[op.Endpoint] = true
		}
		return stall("fault: stall"), true
	case FaultVanish:
		n := 0
		if k == OpBulkOut {
			n = len(data) / 2
		}
		m.unplug()
		m.bus.log.Info("usbsim: module vanished", "port", m.port)
		return outcome{n: n, err: usb.ErrNoDevice, note: "fault: the device vanished"}, true
	}
	return outcome{}, false
}

// control is a module's answer to a control transfer.
func (d *device) control(reqType, req uint8, value, index uint16, data []byte, now time.Time) outcome {
	m := d.m
	if m.failed != nil {
		return outcome{nak: true, note: "failed module: no answer"}
	}
	if reqType == reqTypeEndpointOut && req == requestClearFeature && value == featureEndpointHalt {
		ep := uint8(index)
		if _, _, ok := m.endpoint(ep); !ok {
			return stall(fmt.Sprintf("clear halt of unknown endpoint 0x%02x", ep))
		}
		delete(m.halted, ep)
		return outcome{note: fmt.Sprintf("clear halt 0x%02x", ep)}
	}
	if (reqType == reqTypeVendorOut || reqType == reqTypeVendorIn) && req == 0 {
		in := reqType&dirIn != 0
		// The length is split across wValue and wIndex (main.c ep_write).
		length := int(value) | int(index)<<16
		switch m.stage {
		case StateROM:
			return m.romControl(in, length, data)
		case StateSecondStage:
			return m.ssControl(in, length, data, now)
		}
	}
	return stall(fmt.Sprintf("unsupported request type=0x%02x req=0x%02x", reqType, req))
}

// bulkOut is a module's answer to a bulk OUT transfer.
func (d *device) bulkOut(ep uint8, data []byte, now time.Time) outcome {
	m := d.m
	iface, vendor, ok := m.endpoint(ep)
	switch {
	case !ok:
		return outcome{err: usb.ErrIO, note: fmt.Sprintf("no OUT endpoint 0x%02x", ep)}
	case m.claims[iface] != d:
		return outcome{err: usb.ErrIO, note: fmt.Sprintf("interface %d not claimed", iface)}
	case m.failed != nil:
		return outcome{nak: true, note: "failed module: no answer"}
	case m.halted[ep]:
		return stall(fmt.Sprintf("endpoint 0x%02x halted", ep))
	case !vendor:
		m.halted[ep] = true
		return stall(fmt.Sprintf("endpoint 0x%02x belongs to the mass-storage interface", ep))
	}
	switch m.stage {
	case StateROM:
		return m.romBulk(data)
	case StateSecondStage:
		return m.ssBulk(data, now)
	}
	return stall("no boot protocol in this stage")
}

// endpoint finds the interface of a bulk OUT endpoint of the module as it
// is now, and whether it is the vendor (boot protocol) interface.
func (m *Module) endpoint(ep uint8) (iface int, vendor, ok bool) {
	if m.id == nil {
		return 0, false, false
	}
	if m.stage == StateMassStorage {
		return 0, false, ep == 0x01
	}
	if m.id.numInterfaces == 2 {
		// BCM2837 ROM: interface 0 mass storage, 1 vendor on 0x03 (main.c
		// Initialize_Device comment, reference §1.3).
		switch ep {
		case 0x01:
			return 0, false, true
		case 0x03:
			return 1, true, true
		}
		return 0, false, false
	}
	return 0, true, ep == 0x01
}
