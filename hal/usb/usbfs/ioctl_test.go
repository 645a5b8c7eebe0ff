package usbfs

import (
	"math"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// C layouts of the <linux/usbdevice_fs.h> structs for 4-byte pointers
// (arm, 386) and 8-byte pointers (arm64, amd64). The padding C inserts
// before an 8-byte pointer is written out, so each mirror has its C size
// on any host, 32-bit or 64-bit.
type (
	ctrlTransfer32 struct {
		RequestType, Request uint8
		Value, Index, Length uint16
		Timeout              uint32
		Data                 uint32
	}
	ctrlTransfer64 struct {
		RequestType, Request uint8
		Value, Index, Length uint16
		Timeout              uint32
		_                    uint32
		Data                 uint64
	}
	bulkTransfer32 struct {
		Ep, Len, Timeout uint32
		Data             uint32
	}
	bulkTransfer64 struct {
		Ep, Len, Timeout uint32
		_                uint32
		Data             uint64
	}
	usbIoctl32 struct {
		Ifno, Code int32
		Data       uint32
	}
	usbIoctl64 struct {
		Ifno, Code int32
		Data       uint64
	}
)

// ptrSize is the size of a pointer on the host running the tests.
const ptrSize = unsafe.Sizeof(uintptr(0))

func TestIoctlNumbers(t *testing.T) {
	const (
		r  = iocRead
		rw = iocRead | iocWrite
	)
	// Values printed by gcc from <linux/usbdevice_fs.h> on amd64, and
	// derived for 32-bit ARM from the struct sizes (rpiboot.md §9.3).
	tests := []struct {
		name      string
		dir, nr   uintptr
		size      uintptr
		want      uint32
		ptrSize   uintptr // 0: the same for both
		hostValue uintptr // the package's value, checked on a host of ptrSize
	}{
		{name: "CONTROL/64", dir: rw, nr: 0, size: unsafe.Sizeof(ctrlTransfer64{}), want: 0xC0185500, ptrSize: 8, hostValue: usbdevfsControl},
		{name: "CONTROL/32", dir: rw, nr: 0, size: unsafe.Sizeof(ctrlTransfer32{}), want: 0xC0105500, ptrSize: 4, hostValue: usbdevfsControl},
		{name: "BULK/64", dir: rw, nr: 2, size: unsafe.Sizeof(bulkTransfer64{}), want: 0xC0185502, ptrSize: 8, hostValue: usbdevfsBulk},
		{name: "BULK/32", dir: rw, nr: 2, size: unsafe.Sizeof(bulkTransfer32{}), want: 0xC0105502, ptrSize: 4, hostValue: usbdevfsBulk},
		{name: "CLAIMINTERFACE", dir: r, nr: 15, size: 4, want: 0x8004550F, hostValue: usbdevfsClaimInterface},
		{name: "RELEASEINTERFACE", dir: r, nr: 16, size: 4, want: 0x80045510, hostValue: usbdevfsReleaseInterface},
		{name: "IOCTL/64", dir: rw, nr: 18, size: unsafe.Sizeof(usbIoctl64{}), want: 0xC0105512, ptrSize: 8, hostValue: usbdevfsIoctl},
		{name: "IOCTL/32", dir: rw, nr: 18, size: unsafe.Sizeof(usbIoctl32{}), want: 0xC00C5512, ptrSize: 4, hostValue: usbdevfsIoctl},
		{name: "CLEAR_HALT", dir: r, nr: 21, size: 4, want: 0x80045515, hostValue: usbdevfsClearHalt},
		{name: "DISCONNECT", dir: 0, nr: 22, size: 0, want: 0x5516, hostValue: usbdevfsDisconnect},
		{name: "DISCONNECT_CLAIM", dir: r, nr: 27, size: unsafe.Sizeof(disconnectClaim{}), want: 0x8108551B, hostValue: usbdevfsDisconnectClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Less(t, tt.size, uintptr(1<<14), "size does not fit _IOC's 14 bits")
			got := ioc(tt.dir, 'U', tt.nr, tt.size)
			assert.Equal(t, uint64(tt.want), uint64(got), "ioc(%d, 'U', %d, %d) = %#x, want %#x", tt.dir, tt.nr, tt.size, got, tt.want)
			if tt.ptrSize == 0 || tt.ptrSize == ptrSize {
				assert.Equal(t, uint64(tt.want), uint64(tt.hostValue), "request on this %d-bit host = %#x, want %#x", 8*ptrSize, tt.hostValue, tt.want)
			}
		})
	}
}

// TestStructLayout checks that the structs the package passes to the
// kernel have the C layout for the host's pointer size: the mirrors above
// spell it out.
func TestStructLayout(t *testing.T) {
	type layout struct {
		size    uintptr
		offsets []uintptr
	}
	pick := func(l32, l64 layout) layout {
		if ptrSize == 8 {
			return l64
		}
		return l32
	}
	var (
		ct   ctrlTransfer
		ct32 ctrlTransfer32
		ct64 ctrlTransfer64
		bt   bulkTransfer
		bt32 bulkTransfer32
		bt64 bulkTransfer64
		ui   usbIoctl
		ui32 usbIoctl32
		ui64 usbIoctl64
		dc   disconnectClaim
	)
	tests := []struct {
		name string
		got  layout
		want layout
	}{
		{
			name: "usbdevfs_ctrltransfer",
			got:  layout{unsafe.Sizeof(ct), []uintptr{unsafe.Offsetof(ct.Value), unsafe.Offsetof(ct.Index), unsafe.Offsetof(ct.Length), unsafe.Offsetof(ct.Timeout), unsafe.Offsetof(ct.Data)}},
			want: pick(
				layout{unsafe.Sizeof(ct32), []uintptr{unsafe.Offsetof(ct32.Value), unsafe.Offsetof(ct32.Index), unsafe.Offsetof(ct32.Length), unsafe.Offsetof(ct32.Timeout), unsafe.Offsetof(ct32.Data)}},
				layout{unsafe.Sizeof(ct64), []uintptr{unsafe.Offsetof(ct64.Value), unsafe.Offsetof(ct64.Index), unsafe.Offsetof(ct64.Length), unsafe.Offsetof(ct64.Timeout), unsafe.Offsetof(ct64.Data)}},
			),
		},
		{
			name: "usbdevfs_bulktransfer",
			got:  layout{unsafe.Sizeof(bt), []uintptr{unsafe.Offsetof(bt.Len), unsafe.Offsetof(bt.Timeout), unsafe.Offsetof(bt.Data)}},
			want: pick(
				layout{unsafe.Sizeof(bt32), []uintptr{unsafe.Offsetof(bt32.Len), unsafe.Offsetof(bt32.Timeout), unsafe.Offsetof(bt32.Data)}},
				layout{unsafe.Sizeof(bt64), []uintptr{unsafe.Offsetof(bt64.Len), unsafe.Offsetof(bt64.Timeout), unsafe.Offsetof(bt64.Data)}},
			),
		},
		{
			name: "usbdevfs_ioctl",
			got:  layout{unsafe.Sizeof(ui), []uintptr{unsafe.Offsetof(ui.Code), unsafe.Offsetof(ui.Data)}},
			want: pick(
				layout{unsafe.Sizeof(ui32), []uintptr{unsafe.Offsetof(ui32.Code), unsafe.Offsetof(ui32.Data)}},
				layout{unsafe.Sizeof(ui64), []uintptr{unsafe.Offsetof(ui64.Code), unsafe.Offsetof(ui64.Data)}},
			),
		},
		{
			name: "usbdevfs_disconnect_claim",
			got:  layout{unsafe.Sizeof(dc), []uintptr{unsafe.Offsetof(dc.Flags), unsafe.Offsetof(dc.Driver)}},
			want: layout{264, []uintptr{4, 8}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got, "layout on this %d-bit host", 8*ptrSize)
		})
	}
	// The sizes of rpiboot.md §9.3, so that the mirrors are checked too.
	assert.Equal(t, []uintptr{16, 24, 16, 24, 12, 16}, []uintptr{
		unsafe.Sizeof(ct32), unsafe.Sizeof(ct64), unsafe.Sizeof(bt32), unsafe.Sizeof(bt64), unsafe.Sizeof(ui32), unsafe.Sizeof(ui64),
	})
}

func TestTimeoutMillis(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want uint32
	}{
		{name: "zero waits forever", d: 0, want: 0},
		{name: "negative waits forever", d: -time.Second, want: 0},
		{name: "sub-millisecond rounds up", d: time.Microsecond, want: 1},
		{name: "rounds up", d: 1500 * time.Microsecond, want: 2},
		{name: "exact", d: 5 * time.Second, want: 5000},
		{name: "read timeout", d: 20 * time.Second, want: 20000},
		{name: "clamped", d: math.MaxInt64, want: math.MaxUint32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, timeoutMillis(tt.d), "timeoutMillis(%v)", tt.d)
		})
	}
}

func TestBufPtr(t *testing.T) {
	buf := make([]byte, 8)
	assert.Nil(t, bufPtr(nil))
	assert.Nil(t, bufPtr(buf[:0]), "an empty slice with capacity")
	assert.Equal(t, unsafe.Pointer(&buf[0]), bufPtr(buf))
	assert.Equal(t, unsafe.Pointer(&buf[3]), bufPtr(buf[3:]))
}
