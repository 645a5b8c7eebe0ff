package usbsim

import "time"

// Vendor and product IDs of the Raspberry Pi boot stages (reference §1.1).
const (
	vendorBroadcom = 0x0a5c
	// productBCM2835ROM is the BCM2835 (CM1) boot ROM; its second stage
	// reports productBCM2837.
	productBCM2835ROM = 0x2763
	// productBCM2837 is the BCM2837 (CM3/CM3+) boot ROM (index 0) and the
	// second stage of any BCM2835/6/7 (index 1).
	productBCM2837 = 0x2764
	productBCM2711 = 0x2711
	productBCM2712 = 0x2712
	// productMSD is the legacy msd VPU firmware's mass-storage device.
	productMSD = 0x0001
	// productMSG is the Linux mass-storage-gadget (configure-gadgets in
	// timg236/cm4-scripts, reference §1.1).
	productMSG = 0x0104
)

// Payload is what the second stage boots into, and so which files it
// asks for (reference §5.1).
type Payload int

// Payloads.
const (
	// MassStorageGadget is mass-storage-gadget64: Linux from boot.img
	// exporting the eMMC as 0a5c:0104.
	MassStorageGadget Payload = iota + 1
	// LegacyMSD is the msd VPU firmware (start.elf / start4.elf), which
	// shows the eMMC as 0a5c:0001. The BCM2712 (CM5) has no such firmware;
	// a CM5 profile ignores it and behaves as MassStorageGadget.
	LegacyMSD
)

func (p Payload) String() string {
	switch p {
	case MassStorageGadget:
		return "mass-storage-gadget64"
	case LegacyMSD:
		return "msd"
	}
	return "unknown payload"
}

// Profile describes a compute module model and how it behaves.
type Profile struct {
	// Name is for logs and messages: "CM4".
	Name string
	// ROMProduct is the boot ROM's product ID: 0x2764 (CM3), 0x2711 (CM4),
	// 0x2712 (CM5), 0x2763 (CM1).
	ROMProduct uint16
	// ROMSerialIndex is the ROM's iSerialNumber index: 0 (BCM2835/7) or 3
	// (BCM2711/2).
	ROMSerialIndex uint8
	// ROMInterfaces is 1, or 2 for the BCM2837 ROM that also shows a
	// mass-storage interface and wants interface 1, endpoint 0x03.
	ROMInterfaces int
	// SecondStageSerialIndex is the second stage's iSerialNumber index;
	// anything but 0 and 3 (observed: 1, and 4 on some BCM2711 firmware).
	SecondStageSerialIndex uint8
	// Serial is the CPU serial, 16 hex digits. The BCM2711/2 ROM and
	// second stage report its last 8 digits; the mass-storage-gadget
	// reports all of it.
	Serial string
	// Payload is what the second stage boots into.
	Payload Payload
	Timing  Timing
	Quirks  Quirks
}

// CM3 is a Compute Module 3/3+ (BCM2837) with the legacy msd payload: ROM
// 0a5c:2764 with no serial string, one interface.
func CM3() Profile {
	return Profile{
		Name:                   "CM3",
		ROMProduct:             productBCM2837,
		ROMSerialIndex:         0,
		ROMInterfaces:          1,
		SecondStageSerialIndex: 1,
		Serial:                 "00000000a3c0ffee",
		Payload:                LegacyMSD,
		// CM1 dmesg in usbboot#9: disconnect → second stage ~1.3 s,
		// second stage → msd ~0.3 s (reference §3.3, §5.2).
		Timing: Timing{Disconnect: 200 * time.Millisecond, SecondStage: 1500 * time.Millisecond, MassStorage: time.Second},
	}
}

// CM3TwoInterfaces is a CM3 whose boot ROM shows two interfaces (0: mass
// storage, 1: vendor), so the host must claim interface 1 and send to
// endpoint 0x03 (reference §1.3).
func CM3TwoInterfaces() Profile {
	p := CM3()
	p.Name = "CM3 (2 interfaces)"
	p.ROMInterfaces = 2
	return p
}

// CM4 is a Compute Module 4 (BCM2711) with the mass-storage-gadget
// payload: ROM 0a5c:2711, iSerialNumber index 3, an 8-hex-digit serial.
func CM4() Profile {
	return Profile{
		Name:                   "CM4",
		ROMProduct:             productBCM2711,
		ROMSerialIndex:         3,
		ROMInterfaces:          1,
		SecondStageSerialIndex: 1,
		Serial:                 "10000000af04b2da",
		Payload:                MassStorageGadget,
		// Linux boot of the gadget: roughly 5–20 s (reference §5.2,
		// an estimate).
		Timing: Timing{Disconnect: 200 * time.Millisecond, SecondStage: 1500 * time.Millisecond, MassStorage: 8 * time.Second},
	}
}

// CM5 is a Compute Module 5 (BCM2712), always with the
// mass-storage-gadget payload: ROM 0a5c:2712, index 3.
func CM5() Profile {
	p := CM4()
	p.Name = "CM5"
	p.ROMProduct = productBCM2712
	p.Serial = "100000005e1ac5c5"
	return p
}

// secondStageProduct is the product ID the second stage reports.
func (p Profile) secondStageProduct() uint16 {
	if p.ROMProduct == productBCM2835ROM {
		return productBCM2837
	}
	return p.ROMProduct
}

// payload is the payload the module really boots: the CM5 has only the
// gadget.
func (p Profile) payload() Payload {
	if p.ROMProduct == productBCM2712 || p.Payload == 0 {
		return MassStorageGadget
	}
	return p.Payload
}

// romSerial is the boot ROM's (and second stage's) serial string: the
// last 8 digits of the CPU serial on BCM2711/2, none on the others.
func (p Profile) romSerial() string {
	if p.ROMSerialIndex == 0 {
		return ""
	}
	if len(p.Serial) > 8 {
		return p.Serial[len(p.Serial)-8:]
	}
	return p.Serial
}
