package rpiboot

import (
	"errors"
	"fmt"
)

// Errors, matched with errors.Is. Transfer failures also match the
// sentinels of package usb (usb.ErrNoDevice, usb.ErrTimeout, ...). Their
// text does not repeat the package name: Boot's errors are *Error, which
// says it once.
var (
	// ErrDeadline: a step did not finish in time (no device appeared,
	// the device did not re-enumerate, the file server went on too long).
	ErrDeadline = errors.New("deadline exceeded")
	// ErrReturnCode: the boot ROM answered the last of its uploads (three
	// at most) with a non-zero return code and was still there after it.
	// A non-zero code alone is no error: main.c ignores it.
	ErrReturnCode = errors.New("upload rejected")
	// ErrUploadLost: the boot ROM came back as a boot ROM after each of
	// its uploads (three at most) instead of starting the second stage.
	ErrUploadLost = errors.New("upload lost")
	// ErrNotFound: a firmware file is missing from the firmware directory.
	ErrNotFound = errors.New("firmware file not found")
	// ErrUnsafeName: the device asked for a file outside the firmware
	// directory ("..", an absolute path). It is answered as missing.
	ErrUnsafeName = errors.New("unsafe file name")
	// ErrUnsupported: the payload does not exist for the module (legacy
	// msd on a CM5).
	ErrUnsupported = errors.New("not supported")
	// ErrProtocol: the device sent something the protocol does not allow.
	ErrProtocol = errors.New("protocol error")
	// ErrBadArchive: bootfiles.bin is not a usable tar archive.
	ErrBadArchive = errors.New("bad bootfiles archive")
)

// Error is the error Boot returns: which port, which device, which step,
// and why.
type Error struct {
	// Port is the USB port path, "1-1.2".
	Port string
	// Device describes the device the step ran against, "CM4 boot ROM
	// 0a5c:2711"; empty if none was found.
	Device string
	// Step is what failed, "send second stage: bulk chunk 3/7".
	Step string
	Err  error
}

func (e *Error) Error() string {
	port := e.Port
	if port == "" {
		port = "any"
	}
	if e.Device == "" {
		return fmt.Sprintf("rpiboot: port %s: %s: %v", port, e.Step, e.Err)
	}
	return fmt.Sprintf("rpiboot: port %s (%s): %s: %v", port, e.Device, e.Step, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
