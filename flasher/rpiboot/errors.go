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
	// ErrReturnCode: the boot ROM was still there after the last upload
	// it may have (maxROMUploads), which it answered with a non-zero
	// return code.
	ErrReturnCode = errors.New("boot ROM rejected the second stage")
	// ErrUploadLost: the boot ROM came back as a boot ROM after every
	// upload, instead of starting the second stage.
	ErrUploadLost = errors.New("second stage never started")
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
