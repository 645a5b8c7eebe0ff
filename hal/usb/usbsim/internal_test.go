package usbsim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDiskName(t *testing.T) {
	tests := []struct {
		index int
		want  string
	}{
		{0, "sda"}, {1, "sdb"}, {25, "sdz"}, {26, "sdaa"}, {27, "sdab"}, {701, "sdzz"}, {702, "sdaaa"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, diskName(tt.index))
		})
	}
}

func TestUSBDevicePath(t *testing.T) {
	tests := []struct {
		name, port, want string
	}{
		{"on a hub", "1-1.2", "devices/platform/soc/usb1/1-1/1-1.2"},
		{"root port", "1-1", "devices/platform/soc/usb1/1-1"},
		{"two hubs deep", "2-1.3.1", "devices/platform/soc/usb2/2-1/2-1.3/2-1.3.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, usbDevicePath(tt.port))
		})
	}
}

func TestBusNumber(t *testing.T) {
	for port, want := range map[string]int{"1-1.2": 1, "3-2": 3, "x": 1, "0-1": 1} {
		assert.Equal(t, want, busNumber(port), port)
	}
}

func TestFaultMatch(t *testing.T) {
	f := &fault{Fault: Fault{Kind: FaultStall, Stage: StateROM, Op: OpBulkOut, N: 2, Times: 2}}
	var fired []bool
	for _, tr := range []struct {
		s State
		k OpKind
	}{
		{StateROM, OpBulkOut},         // 1st match
		{StateROM, OpControlOut},      // not counted
		{StateSecondStage, OpBulkOut}, // not counted
		{StateROM, OpBulkOut},         // 2nd: fires
		{StateROM, OpBulkOut},         // 3rd: fires
		{StateROM, OpBulkOut},         // 4th: over
	} {
		fired = append(fired, f.match(tr.s, tr.k))
	}
	assert.Equal(t, []bool{false, false, false, true, true, false}, fired)

	any := &fault{Fault: Fault{Kind: FaultTimeout}}
	assert.True(t, any.match(StateSecondStage, OpControlIn), "zero N and Times: the first transfer of any kind")
	assert.False(t, any.match(StateSecondStage, OpControlIn))
}

func TestProfiles(t *testing.T) {
	tests := []struct {
		name              string
		p                 Profile
		romSerial         string
		product, msdProd  uint16
		payload           Payload
		secondStageSerial string
	}{
		{"CM3", CM3(), "", 0x2764, productMSD, LegacyMSD, "Broadcom"},
		{"CM4", CM4(), "af04b2da", 0x2711, productMSG, MassStorageGadget, "af04b2da"},
		{"CM5 ignores legacy", func() Profile { p := CM5(); p.Payload = LegacyMSD; return p }(), "5e1ac5c5", 0x2712, productMSG, MassStorageGadget, "5e1ac5c5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.romSerial, tt.p.romSerial())
			assert.Equal(t, tt.product, tt.p.secondStageProduct())
			assert.Equal(t, tt.payload, tt.p.payload())
			m := &Module{profile: tt.p}
			assert.Equal(t, tt.msdProd, m.massStorageIdentity().product)
			assert.Equal(t, tt.secondStageSerial, m.secondStageIdentity().serial)
		})
	}
}

func TestOpStringIncludesErrors(t *testing.T) {
	op := Op{Port: "1-1.2", Address: 5, VendorID: 0x0a5c, ProductID: 0x2711, Kind: OpBulkOut, Endpoint: 1, Length: 10, Timeout: 5 * time.Second}
	assert.Equal(t, "1-1.2 dev 5 0a5c:2711 bulk-out ep=0x01 len=10 timeout=5s -> 0", op.String())
}
