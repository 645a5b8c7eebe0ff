package rpiboot

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

func TestIdentify(t *testing.T) {
	dev := func(vid, pid uint16, index uint8) usb.DeviceInfo {
		return usb.DeviceInfo{Port: "1-1.2", VendorID: vid, ProductID: pid, SerialIndex: index}
	}
	tests := []struct {
		name      string
		dev       usb.DeviceInfo
		wantStage Stage
		wantChip  Chip
		wantFile  string
	}{
		{"CM1 boot ROM", dev(0x0a5c, 0x2763, 0), StageROM, BCM2835, "bootcode.bin"},
		{"CM3 boot ROM", dev(0x0a5c, 0x2764, 0), StageROM, BCM2837, "bootcode.bin"},
		{"BCM283x second stage", dev(0x0a5c, 0x2764, 1), StageFileServer, BCM2837, "bootcode.bin"},
		{"CM4 boot ROM", dev(0x0a5c, 0x2711, 3), StageROM, BCM2711, "bootcode4.bin"},
		{"CM4 boot ROM, index 0", dev(0x0a5c, 0x2711, 0), StageROM, BCM2711, "bootcode4.bin"},
		{"CM4 second stage", dev(0x0a5c, 0x2711, 1), StageFileServer, BCM2711, "bootcode4.bin"},
		{"CM4 second stage, index 4", dev(0x0a5c, 0x2711, 4), StageFileServer, BCM2711, "bootcode4.bin"},
		{"CM5 boot ROM", dev(0x0a5c, 0x2712, 3), StageROM, BCM2712, "bootcode5.bin"},
		{"CM5 second stage", dev(0x0a5c, 0x2712, 1), StageFileServer, BCM2712, "bootcode5.bin"},
		{"mass-storage-gadget", dev(0x0a5c, 0x0104, 3), StageMassStorage, ChipUnknown, "bootcode.bin"},
		{"legacy msd", dev(0x0a5c, 0x0001, 0), StageMassStorage, ChipUnknown, "bootcode.bin"},
		{"keyboard", dev(0x046d, 0xc31c, 0), StageNone, ChipUnknown, "bootcode.bin"},
		{"another vendor's 2711", dev(0x1234, 0x2711, 3), StageNone, ChipUnknown, "bootcode.bin"},
		{"Broadcom bluetooth", dev(0x0a5c, 0x21e8, 3), StageNone, ChipUnknown, "bootcode.bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stage, chip := Identify(tt.dev)
			assert.Equal(t, tt.wantStage, stage)
			assert.Equal(t, tt.wantChip, chip)
			assert.Equal(t, tt.wantFile, chip.secondStageFile())
		})
	}
}

func TestVendorInterface(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		wantIface int
		wantEP    uint8
	}{
		{"unconfigured", 0, 0, 0x01},
		{"one interface", 1, 0, 0x01},
		{"CM3 ROM with mass storage first", 2, 1, 0x03},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iface, ep := vendorInterface(tt.n)
			assert.Equal(t, tt.wantIface, iface)
			assert.Equal(t, tt.wantEP, ep)
		})
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name string
		dev  usb.DeviceInfo
		chip Chip
		want string
	}{
		{"boot ROM", usb.DeviceInfo{VendorID: 0x0a5c, ProductID: 0x2711, SerialIndex: 3}, ChipUnknown, "CM4 boot ROM 0a5c:2711"},
		{"second stage of a known chip", usb.DeviceInfo{VendorID: 0x0a5c, ProductID: 0x2764, SerialIndex: 1}, BCM2835, "CM1 second stage 0a5c:2764"},
		{"mass storage", usb.DeviceInfo{VendorID: 0x0a5c, ProductID: 0x0104, SerialIndex: 3}, BCM2711, "mass storage 0a5c:0104"},
		{"other", usb.DeviceInfo{VendorID: 0x046d, ProductID: 0xc31c}, ChipUnknown, "046d:c31c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, describe(tt.dev, tt.chip))
		})
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"with a device", &Error{Port: "1-1.2", Device: "CM4 boot ROM 0a5c:2711", Step: "send second stage: bulk chunk 3/7", Err: usb.ErrStall},
			"rpiboot: port 1-1.2 (CM4 boot ROM 0a5c:2711): send second stage: bulk chunk 3/7: usb: endpoint stalled"},
		{"without a device", &Error{Port: "1-1.2", Step: "find boot ROM", Err: ErrDeadline},
			"rpiboot: port 1-1.2: find boot ROM: deadline exceeded"},
		{"any port", &Error{Step: "find boot ROM", Err: ErrDeadline},
			"rpiboot: port any: find boot ROM: deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.EqualError(t, tt.err, tt.want)
			assert.True(t, errors.Is(tt.err, tt.err.Err))
		})
	}
}
