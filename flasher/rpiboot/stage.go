package rpiboot

import (
	"fmt"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// USB IDs of the boot stages (reference §1.1; raspberrypi/usbboot main.c
// accepts exactly these four products).
const (
	vendorBroadcom = 0x0a5c
	// product2763 is the BCM2835 boot ROM (CM1).
	product2763 = 0x2763
	// product2764 is the BCM2837 boot ROM (CM3/CM3+, index 0) and the
	// second stage of every BCM2835/6/7 (index 1).
	product2764 = 0x2764
	product2711 = 0x2711
	product2712 = 0x2712
	// productLegacyMSD is the legacy msd firmware's mass-storage device.
	productLegacyMSD = 0x0001
	// productGadget is the Linux mass-storage-gadget (configure-gadgets
	// script quoted in reference §1.1).
	productGadget = 0x0104
)

// Chip is the SoC of a compute module, as USB boot tells it.
type Chip int

// Chips.
const (
	ChipUnknown Chip = iota
	// BCM2835 is the CM1 (boot ROM 0a5c:2763).
	BCM2835
	// BCM2837 is the CM3 and CM3+ (boot ROM 0a5c:2764, iSerialNumber
	// index 0). A second stage 0a5c:2764 may also be a BCM2835's: both use
	// the same firmware.
	BCM2837
	// BCM2711 is the CM4 (0a5c:2711).
	BCM2711
	// BCM2712 is the CM5 (0a5c:2712).
	BCM2712
)

func (c Chip) String() string {
	switch c {
	case BCM2835:
		return "BCM2835"
	case BCM2837:
		return "BCM2837"
	case BCM2711:
		return "BCM2711"
	case BCM2712:
		return "BCM2712"
	}
	return "unknown chip"
}

// Module is the compute module with the chip: "CM1", "CM3", "CM4", "CM5".
func (c Chip) Module() string {
	switch c {
	case BCM2835:
		return "CM1"
	case BCM2837:
		return "CM3"
	case BCM2711:
		return "CM4"
	case BCM2712:
		return "CM5"
	}
	return "unknown module"
}

// socDir is the chip's subdirectory in a firmware directory and in
// bootfiles.bin (main.c check_file: 2710 for BCM2835/6/7).
func (c Chip) socDir() string {
	switch c {
	case BCM2711:
		return "2711"
	case BCM2712:
		return "2712"
	}
	return "2710"
}

// secondStageFile is the file the boot ROM gets (reference §3.2 step 2).
func (c Chip) secondStageFile() string {
	switch c {
	case BCM2711:
		return "bootcode4.bin"
	case BCM2712:
		return "bootcode5.bin"
	}
	return "bootcode.bin"
}

// Stage is what a USB device is in the boot of a compute module.
type Stage int

// Stages.
const (
	// StageNone: not a Raspberry Pi boot device.
	StageNone Stage = iota
	// StageROM: the boot ROM, waiting for a second stage.
	StageROM
	// StageFileServer: the second stage, asking the host for files.
	StageFileServer
	// StageMassStorage: the module's storage as a USB mass-storage
	// device, 0a5c:0104 (mass-storage-gadget) or 0a5c:0001 (legacy msd).
	StageMassStorage
)

func (s Stage) String() string {
	switch s {
	case StageROM:
		return "boot ROM"
	case StageFileServer:
		return "second stage"
	case StageMassStorage:
		return "mass storage"
	}
	return "not a boot device"
}

// Identify tells the stage and chip of a device from its IDs and its
// iSerialNumber index, as rpiboot does (reference §1.2): index 0 or 3 is a
// boot ROM, any other index the second stage. A mass-storage device does
// not tell its chip.
func Identify(d usb.DeviceInfo) (Stage, Chip) {
	if d.VendorID != vendorBroadcom {
		return StageNone, ChipUnknown
	}
	var chip Chip
	switch d.ProductID {
	case product2763:
		chip = BCM2835
	case product2764:
		chip = BCM2837
	case product2711:
		chip = BCM2711
	case product2712:
		chip = BCM2712
	case productLegacyMSD, productGadget:
		return StageMassStorage, ChipUnknown
	default:
		return StageNone, ChipUnknown
	}
	if d.SerialIndex == 0 || d.SerialIndex == 3 {
		return StageROM, chip
	}
	return StageFileServer, chip
}

// vendorInterface is the interface to claim and the bulk OUT endpoint to
// send to: interface 0 and endpoint 0x01, or, on the BCM2837 ROM that
// shows two interfaces (mass storage first), interface 1 and endpoint
// 0x03 (reference §1.3; main.c Initialize_Device).
func vendorInterface(numInterfaces int) (iface int, ep uint8) {
	if numInterfaces >= 2 {
		return 1, 0x03
	}
	return 0, 0x01
}

// describe names a device for messages: "CM4 boot ROM 0a5c:2711". chip,
// if known, overrides what the IDs say (a 0a5c:2764 second stage).
func describe(d usb.DeviceInfo, chip Chip) string {
	stage, c := Identify(d)
	if chip == ChipUnknown {
		chip = c
	}
	switch stage {
	case StageROM, StageFileServer:
		return fmt.Sprintf("%s %s %04x:%04x", chip.Module(), stage, d.VendorID, d.ProductID)
	case StageMassStorage:
		return fmt.Sprintf("%s %04x:%04x", stage, d.VendorID, d.ProductID)
	}
	return fmt.Sprintf("%04x:%04x", d.VendorID, d.ProductID)
}
