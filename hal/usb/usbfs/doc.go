// Package usbfs is the Linux backend of usb.Bus and usb.Device, in pure
// Go: it lists devices from sysfs (/sys/bus/usb/devices) and talks to them
// through usbfs (/dev/bus/usb/BBB/DDD) with ioctls, so it needs neither
// cgo nor libusb and cross-compiles for the BMC (linux/arm, GOARM=7) and
// for arm64.
//
// [New] takes the sysfs and /dev roots as options, so tests run on fake
// trees. On other systems New still compiles, but every method fails.
//
// # Enumeration
//
// Devices reads the text attributes idVendor and idProduct (hex), busnum
// and devnum (decimal), bNumInterfaces ("%2d", empty when the device is
// unconfigured) and serial, and the binary attribute descriptors, whose
// byte 16 is iSerialNumber (the Raspberry Pi boot ROM reports 0 or 3; the
// second stage another index). It skips interfaces ("1-1.2:1.0") and root
// hubs ("usb1"). A device that disappears while it is read is left out; a
// device whose attributes cannot be parsed is left out with a warning, so
// that one odd device never hides the others.
//
// Open opens the device node and checks that it is still the device that
// was listed: same vendor, product and iSerialNumber in the descriptor read
// from the node, and the same bus and address at the same port in sysfs.
// Otherwise it fails with usb.ErrNoDevice: the compute module has
// re-enumerated (a CM4 boot ROM and its second stage share 0a5c:2711 and
// differ only in iSerialNumber). The node appears a moment after the sysfs
// entry, so an Open right after a device shows up may also fail with
// usb.ErrNoDevice; callers poll anyway.
//
// # Ioctls
//
// The request numbers of <linux/usbdevice_fs.h> encode the size of their
// argument, and the control and bulk structs carry a pointer, so the
// numbers differ between 32-bit ARM (the BMC) and 64-bit hosts: for
// example USBDEVFS_CONTROL is 0xC0105500 on arm and 0xC0185500 on arm64.
// They are not hard-coded: each is computed by ioc, the _IOC macro of
// <asm-generic/ioctl.h> (dir<<30 | size<<16 | 'U'<<8 | nr), from
// unsafe.Sizeof of a Go struct that mirrors the C struct field for field,
// with unsafe.Pointer where C has a pointer. The tests check the numbers
// for both pointer sizes against values printed by gcc. The asm-generic
// encoding is that of arm, arm64, x86 and riscv; mips, powerpc, sparc and
// alpha encode directions and sizes differently and are not supported.
//
// Transfers are synchronous (USBDEVFS_CONTROL, USBDEVFS_BULK), one ioctl
// per call: BulkOut does not split data, the caller sends chunks (the boot
// protocol uses at most 16 KiB). The kernel reads the data pointer inside
// the struct during the call, so the buffer is pinned (runtime.Pinner)
// until the ioctl returns.
//
// Claim claims with USBDEVFS_CLAIMINTERFACE; if a kernel driver holds the
// interface (usb-storage on interface 0 of a CM3 boot ROM that shows two
// interfaces), it detaches the driver and claims in one step with
// USBDEVFS_DISCONNECT_CLAIM, which refuses to take the interface from
// another usbfs user (Linux 3.8 and later; before that it falls back to
// USBDEVFS_IOCTL with USBDEVFS_DISCONNECT, as libusb does). The detached
// driver is not re-attached: the device re-enumerates after the boot ROM
// stage anyway.
//
// # Errors
//
// Errors name the operation and the device, and match both a sentinel of
// package usb and the errno with errors.Is:
//
//	ENODEV, ESHUTDOWN           usb.ErrNoDevice
//	ETIMEDOUT                   usb.ErrTimeout
//	EPIPE                       usb.ErrStall
//	EPROTO, EILSEQ, EOVERFLOW,
//	EIO                         usb.ErrIO
//	EBUSY                       usb.ErrBusy
//
// Other errnos (ENOTTY, EINVAL, EACCES, ENOMEM...) are returned as the
// errno alone. Ioctls interrupted by a signal (EINTR) are retried.
//
// # Finding a disk
//
// [FindDisk] finds the block device that the USB device on a port
// exports once it is mass storage (a compute module after USB boot):
// <sysRoot>/block/sdX links to a directory below the USB device's. It is
// the one sysfs disk lookup of the project; bmc calls it after rpiboot.
package usbfs
