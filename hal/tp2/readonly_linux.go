//go:build linux

package tp2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"

	"github.com/turingpi-oss/bmcd/hal"
)

// OpenReadOnly finds the lines and supplies of a Turing Pi 2 of revision
// rev as Open does, but takes none of them, for a check while no bmcd
// runs. Each line is looked at through the kernel's line info (direction,
// holder) and read with an "as-is" request, one that sets neither
// direction nor value and is released at once; a line someone holds is
// reported as held and not read. Supplies are read from sysfs. Every
// write fails with ErrReadOnly. Like Open, it needs periph's host.Init.
func OpenReadOnly(rev string, opts *Opts) (hal.Board, error) {
	v24, err := revision(rev)
	if err != nil {
		return nil, err
	}
	soc, err := socChip()
	if err != nil {
		return nil, err
	}
	named := func(name string) gpio.PinOut {
		for _, c := range gpioioctl.Chips {
			if l := c.ByName(name); l != nil {
				return roKernelLine(c.Path(), uint32(l.Number()), name)
			}
		}
		return nil // reported as "line not found" by the probe
	}
	raw := func(pin string) gpio.PinOut {
		off, err := pinOffset(pin)
		if err != nil || off >= soc.LineCount() {
			return nil
		}
		return roKernelLine(soc.Path(), uint32(off), pin)
	}
	regulator := func(name string) Regulator {
		path := filepath.Join(platformDevices, name, "state")
		if _, err := os.Stat(path); err != nil {
			return nil
		}
		return roRegulator{SysfsRegulator{Path: path}}
	}
	var lines Lines
	for i := range Slots {
		s := i + 1
		lines.En[i], lines.RPIBoot[i] = named(enName(s)), named(rpibootName(s))
		lines.Power[i] = regulator(powerName(s))
		if v24 {
			lines.USBOTGDev[i] = named(otgName(s))
		}
	}
	// A probe reports missing lines; the constructors refuse nil ones.
	fill := func(p *gpio.PinOut, name string) {
		if *p == nil {
			*p = &missingPin{roPin{PinOut: gpio.INVALID, name: name}}
		}
	}
	if !v24 {
		lines.USBRoute = raw("PG2")
		lines.Node1USBOutput, lines.Node1USBSource = raw("PG0"), raw("PG1")
		fill(&lines.Node1USBOutput, "node1 usb output switch")
		fill(&lines.Node1USBSource, "node1 usb source switch")
		for i := range Slots {
			fill(&lines.En[i], enName(i+1))
			fill(&lines.RPIBoot[i], rpibootName(i+1))
		}
		fillRegulators(&lines)
		return NewV25(lines, opts)
	}
	lines.USBSel1, lines.USBOE1, lines.USBSel2, lines.USBOE2 = raw("PG1"), raw("PG2"), raw("PG0"), raw("PG3")
	lines.USBRoute = raw("PG5")
	if _, err := os.Stat(filepath.Join(platformDevices, vbusName, "state")); err == nil {
		lines.USBVBUS = regulator(vbusName)
	} else if p := raw("PG4"); p != nil {
		lines.USBVBUS = GPIORegulator{Pin: p, ActiveLow: true}
	}
	if _, held, err := kernelLineInfo(soc.Path(), mustOffset("PD3")); err == nil && !held {
		lines.PSU = GPIORegulator{Pin: raw("PD3")}
	}
	for i := range Slots {
		fill(&lines.En[i], enName(i+1))
		fill(&lines.RPIBoot[i], rpibootName(i+1))
		fill(&lines.USBOTGDev[i], otgName(i+1))
	}
	for _, p := range []*gpio.PinOut{&lines.USBSel1, &lines.USBOE1, &lines.USBSel2, &lines.USBOE2, &lines.USBRoute} {
		fill(p, "usb mux or route line")
	}
	fillRegulators(&lines)
	return NewV24(lines, opts)
}

// fillRegulators stands a failing supply in for each missing one, so the
// constructors accept the lines and the probe reports what is missing.
func fillRegulators(lines *Lines) {
	missing := roRegulator{errRegulator{}}
	for i := range lines.Power {
		if lines.Power[i] == nil {
			lines.Power[i] = missing
		}
	}
	if lines.USBVBUS == nil {
		lines.USBVBUS = missing
	}
}

// errRegulator is a supply that is not there.
type errRegulator struct{ Regulator }

func (errRegulator) Enabled(context.Context) (bool, error) {
	return false, errors.New("supply not found in " + platformDevices)
}

func mustOffset(pin string) uint32 {
	off, _ := pinOffset(pin)
	return uint32(off)
}

// roKernelLine is a read-only view of line offset of the chip at path.
func roKernelLine(path string, offset uint32, name string) gpio.PinOut {
	return &roPin{PinOut: gpio.INVALID, name: name, read: func() (gpio.Level, bool, string, bool) {
		note, held, err := kernelLineInfo(path, offset)
		if err != nil || held {
			return gpio.Low, false, lineNote(note, err), held
		}
		l, err := kernelLineValue(path, offset)
		return l, err == nil, lineNote(note, err), false
	}}
}

// kernelLineInfo reads a line's info (GPIO_V2_GET_LINEINFO_IOCTL), which
// changes nothing.
func kernelLineInfo(path string, offset uint32) (note string, held bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	info := unix.GPIOV2LineInfo{Offset: offset}
	if err := ioctl(f.Fd(), unix.GPIO_V2_GET_LINEINFO_IOCTL, unsafe.Pointer(&info)); err != nil {
		return "", false, fmt.Errorf("line info of %s line %d: %w", path, offset, err)
	}
	note, held = describeLine(info.Flags, strings.TrimRight(string(info.Consumer[:]), "\x00"))
	return note, held, nil
}

// kernelLineValue reads a free line's value through an as-is request
// (no direction, no output value, no bias: the kernel leaves the line
// configured as it is) released right after.
func kernelLineValue(path string, offset uint32) (gpio.Level, error) {
	f, err := os.Open(path)
	if err != nil {
		return gpio.Low, err
	}
	defer f.Close()
	req := unix.GPIOV2LineRequest{Num_lines: 1}
	req.Offsets[0] = offset
	copy(req.Consumer[:], "bmcd-check")
	if err := ioctl(f.Fd(), unix.GPIO_V2_GET_LINE_IOCTL, unsafe.Pointer(&req)); err != nil {
		return gpio.Low, fmt.Errorf("request %s line %d as is: %w", path, offset, err)
	}
	defer unix.Close(int(req.Fd))
	vals := unix.GPIOV2LineValues{Mask: 1}
	if err := ioctl(uintptr(req.Fd), unix.GPIO_V2_LINE_GET_VALUES_IOCTL, unsafe.Pointer(&vals)); err != nil {
		return gpio.Low, fmt.Errorf("read %s line %d: %w", path, offset, err)
	}
	return gpio.Level(vals.Bits&1 != 0), nil
}

func ioctl(fd uintptr, req uint, arg unsafe.Pointer) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, uintptr(req), uintptr(arg))
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return errno
	}
}
