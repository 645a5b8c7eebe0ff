// Package usbsim is a simulated USB bus with Raspberry Pi compute modules
// (CM3/CM3+, CM4, CM5) plugged in with their nRPIBOOT strap set: each
// module speaks the real USB boot ("rpiboot") protocol, device side, and
// after a successful boot shows up as a USB mass-storage device whose
// disk is a regular file. It implements usb.Bus and usb.Device, so the
// host-side protocol code (flasher/rpiboot) runs against it unchanged; the
// tests of that code and `bmcd --board sim` use it.
//
// The facts it is built on are in the project's research notes
// (shared/reference/rpiboot.md, "reference §N" below), which cite
// raspberrypi/usbboot main.c, balena's node-raspberrypi-usbboot and
// dmesg logs from usbboot issues. No code was copied from those projects.
//
// # Modules and stages
//
// [Bus.Attach] plugs a module into a port ("1-1.2") with a [Profile]
// ([CM3], [CM3TwoInterfaces], [CM4], [CM5]) and a [Disk]. A module goes
// through the stages of a real one:
//
//   - Boot ROM (0a5c:2764 with iSerialNumber index 0 on CM3; 0a5c:2711 and
//     0a5c:2712 with index 3 and an 8-hex-digit serial on CM4 and CM5).
//     It accepts exactly: control OUT 0x40/0 announcing 24 bytes, 24 bytes
//     of boot message over bulk (any chunking), an announce of the image
//     length written in the boot message, that many bulk bytes, then a
//     4-byte control IN 0xC0/0 read that returns the int32 return code 0
//     (reference §2, §3). Then it disconnects and, after
//     [Timing.SecondStage], re-enumerates on the same port with a new
//     address.
//   - Second stage (same product ID, iSerialNumber index 1): every 260-byte
//     control IN read returns the next request of a script taken from the
//     real logs (reference §4, §5.1). After GetFileSize it expects an
//     announce of the size and no bulk; after ReadFile the announce and
//     exactly that many bulk bytes; metadata requests ("*KEY*VALUE") and
//     the empty-name end expect a zero-length announce. A required file
//     (bootmain, boot.img, start*.elf) answered with size 0 puts the
//     module in [StateFailed]: it hangs and never becomes a disk. After
//     Done (or, with [Quirks.SessionEnd], instead of it) it disconnects
//     and, after [Timing.MassStorage], enumerates as
//     mass storage: 0a5c:0104 (mass-storage-gadget) or 0a5c:0001 (legacy
//     msd firmware).
//   - Mass storage: the disk appears in a fake sysfs and /dev under
//     [Opts.Root] (see below).
//
// A request the current stage does not expect fails the way a device
// fails it: an unexpected control request stalls (usb.ErrStall); bulk data
// nobody announced, or a read before the upload is complete, is NAKed
// until the transfer times out (usb.ErrTimeout), in fake time. A stalled
// bulk endpoint stays halted until the host clears it with the standard
// CLEAR_FEATURE(ENDPOINT_HALT) request, or with the handle's ClearHalt
// method (not part of usb.Device; it stands for usbfs's
// USBDEVFS_CLEAR_HALT). Transfers go to the vendor
// interface's bulk OUT endpoint: interface 0, endpoint 0x01, or interface
// 1, endpoint 0x03 on the CM3 boot ROM that shows two interfaces
// (reference §1.3); the interface must be claimed first (usbfs would claim
// it implicitly; the simulator is stricter).
//
// # Time
//
// Everything that takes time runs on [Opts.Clock], so tests use a
// clockwork fake clock and [DriveClock]. The simulator has no goroutines
// and no timers of its own: a transition that is due (a re-enumeration, a
// disk appearing) takes effect when the bus or the module is next looked
// at (Devices, Open, a transfer, [Module.State]). Only a transfer that
// the device does not answer (a timeout, a busy second stage) blocks its
// caller on the clock, and [Bus.Detach] interrupts it with
// usb.ErrNoDevice.
//
// # Faults and quirks
//
// [Module.Inject] adds a [Fault] on the n-th matching transfer: a timeout,
// a STALL (once or several times) or the device vanishing mid-transfer
// (usb.ErrNoDevice; the module is gone for good). [Quirks] in the Profile
// cover the rest: the BCM2711 ROM that enumerates twice (the first open
// fails), a ROM that loses the first uploads and enumerates as the ROM
// again, a ROM that never re-enumerates, a non-zero return code (with
// the second stage started all the same, or the upload rejected), a busy
// second stage, and a second stage that ends its session without Done,
// dropping off the bus under the host's request read ([SessionEnd]). [Timing] makes any stage slow. [Bus.AttachOther] plugs in
// unrelated devices (a keyboard, another vendor's device) that accept
// nothing.
//
// # Sysfs and /dev
//
// When a module becomes mass storage and Opts.Root is set, the simulator
// writes what the kernel would show, under Root:
//
//	sys/devices/platform/soc/usb1/1-1/1-1.2/   idVendor idProduct busnum devnum
//	                                           bNumInterfaces descriptors
//	                                           serial (if the device has one)
//	  1-1.2:1.0/host0/target0:0:0/0:0:0:0/     vendor model (SCSI inquiry)
//	    block/sda/                             size (512-byte sectors)
//	    block/sda/device -> ../../../0:0:0:0
//	sys/bus/usb/devices/1-1.2 -> ../../../devices/platform/soc/usb1/1-1/1-1.2
//	sys/block/sda -> ../devices/platform/soc/usb1/1-1/1-1.2/1-1.2:1.0/host0/target0:0:0/0:0:0:0/block/sda
//	dev/sda -> Disk.Path
//
// The USB device directory nests under its hubs the way the kernel's does
// (port "2-1.3.1" is usb2/2-1/2-1.3/2-1.3.1). SCSI host numbers count up
// across the bus's life; disk names take the lowest free sdX. The vendor
// is "mmcblk0 " for the mass-storage-gadget (the gadget uses the block
// device's name as its inquiry string, reference §5.1: unverified on
// hardware) and "RPi-MSD-" with model "0001" for the legacy msd firmware.
// The legacy device has no serial string; the gadget's is the module's
// 16-hex-digit CPU serial, whose last 8 digits are the CM4/CM5 boot ROM's
// serial. Writes through dev/sdX land in the disk file. Detach, or
// [Bus.Close], removes the tree, never the disk file.
//
// # Transcript
//
// Every operation the host performs on a device (open, claim, release,
// transfers, clear-halt, close) is recorded as an [Op], in order, with the
// simulator's reading of it ([Bus.Transcript], [Module.Transcript]);
// golden tests compare [Op.String] lines. Enumeration (Devices) is not
// recorded: how often a host polls depends on timing.
package usbsim
