//go:build linux

package usbfs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// Devices returns the devices in sysfs now, root hubs excluded, in the
// order of their port names.
func (b *Bus) Devices(ctx context.Context) ([]usb.DeviceInfo, error) {
	return listDevices(ctx, b.sysRoot, b.log)
}

// Open opens the usbfs node of d read-write. It fails with
// usb.ErrNoDevice if the node is gone, or if the device behind it is no
// longer the one d describes (see the package documentation).
func (b *Bus) Open(ctx context.Context, d usb.DeviceInfo) (usb.Device, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("usbfs: open %s: %w", d, err)
	}
	path := filepath.Join(b.devRoot, "bus", "usb", fmt.Sprintf("%03d", d.Bus), fmt.Sprintf("%03d", d.Address))
	fd, err := openNode(path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENXIO) {
			err = fmt.Errorf("%w: %w", usb.ErrNoDevice, err)
		}
		return nil, fmt.Errorf("usbfs: open %s: %w", d, err)
	}
	if err := b.check(fd, d); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("usbfs: open %s: %w", d, err)
	}
	b.log.Debug("usb device opened", "device", d.String(), "node", path)
	return newDevice(fd, d, sysIoctl, b.log), nil
}

// openNode opens a usbfs node read-write (transfers need it), and not
// for child processes.
func openNode(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// check verifies that the node open as fd is still device d. The fd is
// taken first: once it is held and the port still shows d's address, the
// fd is that device, since the kernel does not hand an address out again
// right away.
func (b *Bus) check(fd int, d usb.DeviceInfo) error {
	// A read of a usbfs node returns the descriptors the kernel cached at
	// enumeration: the device descriptor first, its 16-bit fields in CPU
	// byte order (unlike the sysfs attribute, which is little-endian).
	var desc [deviceDescLen]byte
	n, err := readFull(fd, desc[:])
	if err != nil {
		return fmt.Errorf("read device descriptor: %w", mapErrno(err))
	}
	if n < deviceDescLen || desc[0] != deviceDescLen || desc[1] != deviceDescType {
		return fmt.Errorf("read device descriptor: got % x", desc[:n])
	}
	vid := binary.NativeEndian.Uint16(desc[descVendorOff:])
	pid := binary.NativeEndian.Uint16(desc[descProductOff:])
	idx := desc[descSerialIndexOff]
	// A CM4 boot ROM and its second stage are both 0a5c:2711: only
	// iSerialNumber tells them apart.
	if vid != d.VendorID || pid != d.ProductID || idx != d.SerialIndex {
		return fmt.Errorf("%w: the node is now %04x:%04x with iSerialNumber %d", usb.ErrNoDevice, vid, pid, idx)
	}
	if d.Port == "" {
		return nil
	}
	bus, addr, err := readAddress(b.sysRoot, d.Port)
	switch {
	case gone(err):
		return fmt.Errorf("%w: port %s is empty", usb.ErrNoDevice, d.Port)
	case err != nil:
		return fmt.Errorf("port %s: %w", d.Port, err)
	case bus != d.Bus || addr != d.Address:
		return fmt.Errorf("%w: port %s is now bus %03d device %03d", usb.ErrNoDevice, d.Port, bus, addr)
	}
	return nil
}

// readFull reads from fd until buf is full or the end.
func readFull(fd int, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// Device is an open usbfs node. Its methods may be called concurrently;
// Close waits for the transfers in flight.
// Errors of its methods name the operation, not the device: whoever
// opened it names it.
type Device struct {
	info  usb.DeviceInfo
	log   *slog.Logger
	ioctl ioctlFunc

	// mu is held for reading by each ioctl and for writing by Close, so
	// that the fd is never closed, and its number reused, under a call.
	mu sync.RWMutex
	fd int // -1 once closed

	claimMu sync.Mutex
	claimed map[int]bool
}

func newDevice(fd int, info usb.DeviceInfo, ioctl ioctlFunc, log *slog.Logger) *Device {
	return &Device{info: info, log: log, ioctl: ioctl, fd: fd, claimed: map[int]bool{}}
}

// do issues one ioctl on the open node, retrying it when a signal
// interrupted it, and classifies its errno.
func (d *Device) do(req uintptr, arg unsafe.Pointer) (int, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.fd < 0 {
		return 0, os.ErrClosed
	}
	return d.doLocked(req, arg)
}

func (d *Device) doLocked(req uintptr, arg unsafe.Pointer) (int, error) {
	for {
		n, err := d.ioctl(uintptr(d.fd), req, arg)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return 0, mapErrno(err)
		}
		return n, nil
	}
}

// Claim claims interface iface. If a kernel driver has it, Claim detaches
// the driver; if another usbfs user (another process) has it, Claim fails
// with usb.ErrBusy.
func (d *Device) Claim(iface int) error {
	if iface < 0 || iface > 255 {
		return fmt.Errorf("usbfs: claim interface %d: not an interface number", iface)
	}
	ifno := uint32(iface)
	_, err := d.do(usbdevfsClaimInterface, unsafe.Pointer(&ifno))
	if errors.Is(err, syscall.EBUSY) {
		err = d.disconnectClaim(ifno)
	}
	if err != nil {
		return fmt.Errorf("usbfs: claim interface %d: %w", iface, err)
	}
	d.claimMu.Lock()
	d.claimed[iface] = true
	d.claimMu.Unlock()
	return nil
}

// disconnectClaim detaches the kernel driver bound to interface ifno,
// unless it is usbfs, and claims the interface.
func (d *Device) disconnectClaim(ifno uint32) error {
	dc := disconnectClaim{Interface: ifno, Flags: disconnectClaimExceptDriver}
	copy(dc.Driver[:], usbfsDriver)
	_, err := d.do(usbdevfsDisconnectClaim, unsafe.Pointer(&dc))
	if errors.Is(err, syscall.ENOTTY) {
		// Before Linux 3.8: disconnect whichever driver, then claim. This
		// does not spare another usbfs user; libusb checks the driver's
		// name first, with USBDEVFS_GETDRIVER, which is not worth it for
		// kernels the boards do not run.
		req := usbIoctl{Ifno: int32(ifno), Code: int32(usbdevfsDisconnect)}
		if _, err := d.do(usbdevfsIoctl, unsafe.Pointer(&req)); err != nil && !errors.Is(err, syscall.ENODATA) {
			return fmt.Errorf("detach kernel driver: %w", err)
		}
		_, err = d.do(usbdevfsClaimInterface, unsafe.Pointer(&ifno))
	}
	if err != nil {
		return fmt.Errorf("detach kernel driver: %w", err)
	}
	d.log.Info("detached the kernel driver of a usb interface", "device", d.info.String(), "interface", ifno)
	return nil
}

// Release releases interface iface.
func (d *Device) Release(iface int) error {
	if iface < 0 || iface > 255 {
		return fmt.Errorf("usbfs: release interface %d: not an interface number", iface)
	}
	ifno := uint32(iface)
	_, err := d.do(usbdevfsReleaseInterface, unsafe.Pointer(&ifno))
	if err == nil || errors.Is(err, usb.ErrNoDevice) {
		d.claimMu.Lock()
		delete(d.claimed, iface)
		d.claimMu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("usbfs: release interface %d: %w", iface, err)
	}
	return nil
}

// Control performs a control transfer (usb.Device). A timeout of 0 or less
// waits forever; others are rounded up to the millisecond.
func (d *Device) Control(reqType, req uint8, value, index uint16, data []byte, timeout time.Duration) (int, error) {
	if len(data) > 0xffff {
		return 0, fmt.Errorf("usbfs: control type 0x%02x request 0x%02x: %d bytes, more than wLength can say", reqType, req, len(data))
	}
	ct := &ctrlTransfer{
		RequestType: reqType,
		Request:     req,
		Value:       value,
		Index:       index,
		Length:      uint16(len(data)),
		Timeout:     timeoutMillis(timeout),
		Data:        bufPtr(data),
	}
	n, err := d.transfer(unsafe.Pointer(ct), usbdevfsControl, ct.Data)
	if err != nil {
		return 0, fmt.Errorf("usbfs: control type 0x%02x request 0x%02x: %w", reqType, req, err)
	}
	return n, nil
}

// BulkOut sends data to OUT endpoint ep in one transfer (usb.Device): the
// caller splits large data. A timeout of 0 or less waits forever.
func (d *Device) BulkOut(ep uint8, data []byte, timeout time.Duration) (int, error) {
	if ep&0x80 != 0 {
		return 0, fmt.Errorf("usbfs: bulk out ep 0x%02x: an IN endpoint", ep)
	}
	if uint64(len(data)) > 0xffffffff {
		return 0, fmt.Errorf("usbfs: bulk out ep 0x%02x: %d bytes in one transfer", ep, len(data))
	}
	bt := &bulkTransfer{
		Ep:      uint32(ep),
		Len:     uint32(len(data)),
		Timeout: timeoutMillis(timeout),
		Data:    bufPtr(data),
	}
	n, err := d.transfer(unsafe.Pointer(bt), usbdevfsBulk, bt.Data)
	if err != nil {
		return 0, fmt.Errorf("usbfs: bulk out ep 0x%02x: %w", ep, err)
	}
	return n, nil
}

// transfer issues a transfer ioctl whose struct arg points to buf. The
// kernel reads that inner pointer during the call, where the garbage
// collector cannot see it used, so buf stays pinned until it returns.
func (d *Device) transfer(arg unsafe.Pointer, req uintptr, buf unsafe.Pointer) (int, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	if buf != nil {
		pin.Pin(buf)
	}
	pin.Pin(arg)
	return d.do(req, arg)
}

// ClearHalt clears a halt (stall) of endpoint ep, and resets its data
// toggle, so that a transfer that stalled can be retried. It is not part
// of usb.Device.
func (d *Device) ClearHalt(ep uint8) error {
	e := uint32(ep)
	if _, err := d.do(usbdevfsClearHalt, unsafe.Pointer(&e)); err != nil {
		return fmt.Errorf("usbfs: clear halt ep 0x%02x: %w", ep, err)
	}
	return nil
}

// Close releases the claimed interfaces and closes the node. A device that
// is already gone is not an error: it is how a boot ROM says it took the
// image. Close after Close does nothing.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd < 0 {
		return nil
	}
	d.claimMu.Lock()
	ifaces := make([]int, 0, len(d.claimed))
	for iface := range d.claimed {
		ifaces = append(ifaces, iface)
	}
	clear(d.claimed)
	d.claimMu.Unlock()
	slices.Sort(ifaces)

	var errs []error
	for _, iface := range ifaces {
		ifno := uint32(iface)
		if _, err := d.doLocked(usbdevfsReleaseInterface, unsafe.Pointer(&ifno)); err != nil && !errors.Is(err, usb.ErrNoDevice) {
			errs = append(errs, fmt.Errorf("usbfs: release interface %d: %w", iface, err))
		}
	}
	if err := syscall.Close(d.fd); err != nil {
		errs = append(errs, fmt.Errorf("usbfs: close: %w", err))
	}
	d.fd = -1
	return errors.Join(errs...)
}

var _ usb.Device = (*Device)(nil)
