// Package rpiboot is the host side of the Raspberry Pi USB boot
// ("rpiboot") protocol, in Go: it turns a compute module (CM3/CM3+, CM4,
// CM5) that was powered on with its nRPIBOOT strap set into a USB
// mass-storage device, so that its eMMC can be flashed. It talks to USB
// through the narrow interface of package hal/usb: hal/usb/usbfs on the
// BMC, hal/usb/usbsim in tests and on the simulated board.
//
// The protocol facts come from the project's research notes
// (shared/reference/rpiboot.md, "reference §N" in comments), which cite
// raspberrypi/usbboot (main.c, bootfiles.c), balena's
// node-raspberrypi-usbboot and logs in usbboot's issues. No code was
// copied from them.
//
// # Stages
//
// [Boot] drives a module on one USB port through three stages:
//
//  1. Boot ROM (0a5c:2763, 2764, 2711 or 2712 with iSerialNumber index 0
//     or 3; see [Identify]). The host announces 24 bytes with a vendor
//     control OUT (0x40, request 0, the length split across wValue and
//     wIndex), sends the boot message (the image length and 20 zero
//     bytes) over bulk, announces the image and sends it in chunks of at
//     most 16 KiB, then reads a 4-byte return code with a vendor control
//     IN (0xC0). A non-zero code is logged, not an error: main.c ignores
//     it too, and what the port shows next is what counts. The image is
//     bootcode.bin (BCM2835/7), bootcode4.bin (BCM2711) or bootcode5.bin
//     (BCM2712). If the port then shows a boot ROM again (re-enumerated
//     at a new address, or the same one still there 1 s after a
//     non-zero code), the upload is repeated, up to three uploads in all
//     (usbboot PR #63: the BCM2711 ROM can come back after the upload).
//  2. Second stage (same product, another index), which asks for files:
//     each 260-byte read returns GetFileSize, ReadFile or Done and a name.
//     GetFileSize is answered with an announce of the size (0 if missing),
//     ReadFile with the announce and the bytes, metadata ("*KEY*VALUE")
//     and an empty name with a zero-length announce. A name with ".." or
//     an absolute path is refused: answered as missing, and logged. The
//     session ends with Done, an empty name, or, once at least one
//     request was answered, the device leaving the bus under the next
//     request read (no device, or an I/O error), as main.c's file_server
//     ends it: a second stage may start its payload without sending
//     Done. Before any request that is an error.
//  3. Mass storage: 0a5c:0104 (mass-storage-gadget) or 0a5c:0001 (legacy
//     msd firmware) on the same port. Finding its block device is the
//     flasher's job.
//
// The bulk endpoint is 0x01 on interface 0, or 0x03 on interface 1 when
// the device shows two interfaces (a CM3 boot ROM). A bulk chunk that
// stalls is retried, after clearing the halt, up to three times; the halt
// is cleared with the device's ClearHalt(ep uint8) error method if the
// backend has one (Linux's USBDEVFS_CLEAR_HALT also resets the host's data
// toggle), else with a CLEAR_FEATURE(ENDPOINT_HALT) control request. A request
// read that times out is read again (twice), after a pause of 1 s: the
// device may be busy.
//
// # Firmware
//
// The project ships none of Raspberry Pi's binaries. [Firmware] reads
// them at run time from a directory laid out like usbboot's
// (DefaultFirmwareDir, as its packages install it): msd/ (bootcode.bin,
// bootcode4.bin, start.elf), mass-storage-gadget64/ (bootfiles.bin,
// config.txt, boot.img) and firmware/. bootfiles.bin is a tar archive of
// "<soc>/<name>" entries (soc 2710, 2711 or 2712); see [Firmware.Open]
// for the lookup order. The [Payload] picks the directory:
// mass-storage-gadget64 is the default for the CM4 and the only one for
// the CM5; msd is the default for the CM3.
//
// # Deadlines and errors
//
// Every step has a deadline ([Timeouts]), kept on [Opts.Clock]; Boot
// polls the bus while it waits and never sleeps blindly. Errors are
// [*Error] and read like
//
//	rpiboot: port 1-1.2 (CM4 boot ROM 0a5c:2711): send second stage: bulk chunk 3/7: usbsim: 1-1.2 bulk-out: usb: endpoint stalled
//
// They wrap the cause, a sentinel of this package ([ErrDeadline],
// [ErrUploadLost], [ErrReturnCode], [ErrNotFound], ...) or of package usb
// (usb.ErrNoDevice, usb.ErrTimeout, usb.ErrStall). The sentinels' text
// does not repeat "rpiboot:": the *Error says it once.
//
// # Testing
//
// The tests run the real protocol code against hal/usb/usbsim on a fake
// clock, with a synthetic firmware directory made in t.TempDir(): every
// module, every fault the simulator can inject, and a golden transcript
// of a whole CM4 boot (go test -run Golden -update rewrites it).
package rpiboot
