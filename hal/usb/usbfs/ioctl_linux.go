//go:build linux

package usbfs

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// ioctlFunc does ioctl(fd, req, arg) and returns its result (the byte
// count of a transfer) or its errno. Tests replace the system call with
// one to check the request and the struct each method passes.
type ioctlFunc func(fd, req uintptr, arg unsafe.Pointer) (int, error)

// disconnectClaimExceptDriver is the flag of disconnectClaim that
// disconnects any driver but the one named Driver
// (USBDEVFS_DISCONNECT_CLAIM_EXCEPT_DRIVER of <linux/usbdevice_fs.h>).
const disconnectClaimExceptDriver = 0x02

// usbfsDriver is the name usbfs claims interfaces under: an interface
// bound to it is claimed by a usbfs user, another process maybe.
const usbfsDriver = "usbfs"

// sysIoctl is the real ioctlFunc. Converting arg to uintptr in the call
// itself keeps the struct alive until the system call returns (rule 4 of
// unsafe.Pointer); the buffer the struct points to is pinned by the caller.
//
// The package uses syscall rather than golang.org/x/sys/unix: the few
// calls it needs are there, and the module does not import x/sys itself.
func sysIoctl(fd, req uintptr, arg unsafe.Pointer) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg))
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// errnos maps the errnos of usbfs transfers (see the kernel's
// Documentation/driver-api/usb/error-codes.rst) to the sentinels of
// package usb.
var errnos = map[syscall.Errno]struct {
	name string
	kind error
}{
	syscall.ENODEV:    {"ENODEV", usb.ErrNoDevice},
	syscall.ESHUTDOWN: {"ESHUTDOWN", usb.ErrNoDevice},
	syscall.ETIMEDOUT: {"ETIMEDOUT", usb.ErrTimeout},
	syscall.EPIPE:     {"EPIPE", usb.ErrStall},
	syscall.EPROTO:    {"EPROTO", usb.ErrIO},
	syscall.EILSEQ:    {"EILSEQ", usb.ErrIO},
	syscall.EOVERFLOW: {"EOVERFLOW", usb.ErrIO},
	syscall.EIO:       {"EIO", usb.ErrIO},
	syscall.EBUSY:     {"EBUSY", usb.ErrBusy},
}

// errnoError is an errno and the sentinel of package usb it means;
// errors.Is matches both.
type errnoError struct {
	kind  error
	errno syscall.Errno
	name  string
}

func (e *errnoError) Error() string {
	return fmt.Sprintf("%v (%s: %v)", e.kind, e.name, e.errno)
}

func (e *errnoError) Unwrap() []error { return []error{e.kind, e.errno} }

// mapErrno classifies err if it is one of the errnos above, and returns
// any other error as it is.
func mapErrno(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err
	}
	m, ok := errnos[errno]
	if !ok {
		return err
	}
	return &errnoError{kind: m.kind, errno: errno, name: m.name}
}
