package usbfs

import (
	"math"
	"time"
	"unsafe"
)

// Request number encoding of <asm-generic/ioctl.h> (arm, arm64, x86,
// riscv): _IOC(dir, type, nr, size), the size field 14 bits wide.
const (
	iocNRShift   = 0
	iocTypeShift = 8
	iocSizeShift = 16
	iocDirShift  = 30

	iocWrite = 1 // _IOC_WRITE: user space writes the argument
	iocRead  = 2 // _IOC_READ: user space reads it back
)

// ioc is the _IOC macro of <asm-generic/ioctl.h>.
func ioc(dir, typ, nr, size uintptr) uintptr {
	return dir<<iocDirShift | size<<iocSizeShift | typ<<iocTypeShift | nr<<iocNRShift
}

// Go mirrors of the argument structs of <linux/usbdevice_fs.h>. Field
// order, types and so padding follow C: unsafe.Pointer is as wide as a C
// pointer, 4 bytes on arm and 8 on arm64.

// ctrlTransfer is struct usbdevfs_ctrltransfer.
type ctrlTransfer struct {
	RequestType uint8
	Request     uint8
	Value       uint16
	Index       uint16
	Length      uint16
	Timeout     uint32 // in milliseconds, 0 waits forever
	Data        unsafe.Pointer
}

// bulkTransfer is struct usbdevfs_bulktransfer.
type bulkTransfer struct {
	Ep      uint32
	Len     uint32
	Timeout uint32 // in milliseconds, 0 waits forever
	Data    unsafe.Pointer
}

// usbIoctl is struct usbdevfs_ioctl: an ioctl for the driver bound to
// interface Ifno.
type usbIoctl struct {
	Ifno int32
	Code int32
	Data unsafe.Pointer
}

// disconnectClaim is struct usbdevfs_disconnect_claim.
type disconnectClaim struct {
	Interface uint32
	Flags     uint32
	Driver    [256]byte
}

// The ioctls of <linux/usbdevice_fs.h> this package uses.
var (
	// USBDEVFS_CONTROL = _IOWR('U', 0, struct usbdevfs_ctrltransfer)
	usbdevfsControl = ioc(iocRead|iocWrite, 'U', 0, unsafe.Sizeof(ctrlTransfer{}))
	// USBDEVFS_BULK = _IOWR('U', 2, struct usbdevfs_bulktransfer)
	usbdevfsBulk = ioc(iocRead|iocWrite, 'U', 2, unsafe.Sizeof(bulkTransfer{}))
	// USBDEVFS_CLAIMINTERFACE = _IOR('U', 15, unsigned int)
	usbdevfsClaimInterface = ioc(iocRead, 'U', 15, unsafe.Sizeof(uint32(0)))
	// USBDEVFS_RELEASEINTERFACE = _IOR('U', 16, unsigned int)
	usbdevfsReleaseInterface = ioc(iocRead, 'U', 16, unsafe.Sizeof(uint32(0)))
	// USBDEVFS_IOCTL = _IOWR('U', 18, struct usbdevfs_ioctl)
	usbdevfsIoctl = ioc(iocRead|iocWrite, 'U', 18, unsafe.Sizeof(usbIoctl{}))
	// USBDEVFS_CLEAR_HALT = _IOR('U', 21, unsigned int)
	usbdevfsClearHalt = ioc(iocRead, 'U', 21, unsafe.Sizeof(uint32(0)))
	// USBDEVFS_DISCONNECT = _IO('U', 22), the Code of a usbIoctl
	usbdevfsDisconnect = ioc(0, 'U', 22, 0)
	// USBDEVFS_DISCONNECT_CLAIM = _IOR('U', 27, struct usbdevfs_disconnect_claim)
	usbdevfsDisconnectClaim = ioc(iocRead, 'U', 27, unsafe.Sizeof(disconnectClaim{}))
)

// timeoutMillis converts d to the milliseconds of a usbfs timeout,
// rounding up so that a short timeout does not become 0, which usbfs
// takes as "wait forever". d <= 0 waits forever, as in libusb.
func timeoutMillis(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	ms := d / time.Millisecond
	if d%time.Millisecond != 0 {
		ms++
	}
	if ms > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(ms)
}

// bufPtr is the address of data for the kernel, nil when it is empty.
func bufPtr(data []byte) unsafe.Pointer {
	if len(data) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.SliceData(data))
}
