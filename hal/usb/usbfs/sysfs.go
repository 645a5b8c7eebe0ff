package usbfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// Layout of the device descriptor, USB 2.0 §9.6.1. Its first 18 bytes
// open both the sysfs attribute "descriptors" and a read of the usbfs node.
const (
	deviceDescLen      = 18
	deviceDescType     = 1
	descVendorOff      = 8
	descProductOff     = 10
	descSerialIndexOff = 16
)

// devicesDir is where sysfs lists every USB device and interface.
func devicesDir(sysRoot string) string {
	return filepath.Join(sysRoot, "bus", "usb", "devices")
}

// listDevices reads the devices under sysRoot. It is portable: only the
// files are Linux's.
func listDevices(ctx context.Context, sysRoot string, log *slog.Logger) ([]usb.DeviceInfo, error) {
	dir := devicesDir(sysRoot)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("usbfs: list devices: %w", err)
	}
	devs := []usb.DeviceInfo{}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("usbfs: list devices: %w", err)
		}
		port := e.Name()
		// "1-1.2:1.0" is an interface of 1-1.2, "usb1" the root hub of
		// bus 1; neither is a device on a port.
		if strings.Contains(port, ":") || strings.HasPrefix(port, "usb") {
			continue
		}
		d, err := readDevice(dir, port)
		switch {
		case err == nil:
			devs = append(devs, d)
		case gone(err):
			log.Debug("usb device vanished while listing", "port", port, "err", err)
		default:
			log.Warn("skipping unreadable usb device", "port", port, "err", err)
		}
	}
	return devs, nil
}

// gone reports whether err says the device was unplugged under us: its
// directory went away, or the kernel refused to read a dying device.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENODEV)
}

// readDevice reads the device at port from the sysfs directory dir.
func readDevice(dir, port string) (usb.DeviceInfo, error) {
	r := attrReader{dir: filepath.Join(dir, port)}
	d := usb.DeviceInfo{
		Port:      port,
		VendorID:  r.hex16("idVendor"),
		ProductID: r.hex16("idProduct"),
		Bus:       r.dec("busnum"),
		Address:   r.dec("devnum"),
		// "%2d\n" of the active configuration; empty when the device is
		// unconfigured, which counts as no interface.
		NumInterfaces: r.optDec("bNumInterfaces"),
	}
	desc := r.read("descriptors")
	if r.err != nil {
		return usb.DeviceInfo{}, fmt.Errorf("usbfs: device %s: %w", port, r.err)
	}
	if len(desc) < deviceDescLen || desc[0] != deviceDescLen || desc[1] != deviceDescType {
		return usb.DeviceInfo{}, fmt.Errorf("usbfs: device %s: descriptors: no device descriptor in % x", port, desc[:min(len(desc), deviceDescLen)])
	}
	d.SerialIndex = desc[descSerialIndexOff]
	if d.SerialIndex != 0 {
		// The kernel creates serial only if it could read the string.
		s, err := os.ReadFile(filepath.Join(r.dir, "serial"))
		switch {
		case err == nil:
			d.Serial = strings.TrimSuffix(string(s), "\n")
		case !errors.Is(err, fs.ErrNotExist):
			return usb.DeviceInfo{}, fmt.Errorf("usbfs: device %s: %w", port, err)
		}
	}
	return d, nil
}

// readAddress reads the bus and address of the device at port now.
func readAddress(sysRoot, port string) (bus, addr int, err error) {
	r := attrReader{dir: filepath.Join(devicesDir(sysRoot), port)}
	bus, addr = r.dec("busnum"), r.dec("devnum")
	return bus, addr, r.err
}

// attrReader reads sysfs attributes of one directory and keeps the first
// error, so that a device is read in a straight line.
type attrReader struct {
	dir string
	err error
}

func (r *attrReader) read(name string) []byte {
	if r.err != nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil {
		r.err = err
		return nil
	}
	return b
}

// text reads an attribute the kernel printed with a trailing newline and
// maybe a leading pad.
func (r *attrReader) text(name string) string {
	return strings.TrimSpace(string(r.read(name)))
}

func (r *attrReader) hex16(name string) uint16 {
	return uint16(r.uint(name, r.text(name), 16))
}

func (r *attrReader) dec(name string) int {
	return int(r.uint(name, r.text(name), 10))
}

// optDec is dec for an attribute that may be empty, meaning 0.
func (r *attrReader) optDec(name string) int {
	s := r.text(name)
	if s == "" {
		return 0
	}
	return int(r.uint(name, s, 10))
}

// uint parses the value s of attribute name as a 16-bit number.
func (r *attrReader) uint(name, s string, base int) uint64 {
	if r.err != nil {
		return 0
	}
	v, err := strconv.ParseUint(s, base, 16)
	if err != nil {
		r.err = fmt.Errorf("%s: %w", name, err)
	}
	return v
}
