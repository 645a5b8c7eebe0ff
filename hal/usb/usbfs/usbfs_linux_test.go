//go:build linux

package usbfs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// step is one ioctl a test expects, and what the fake kernel does.
type step struct {
	req  uintptr
	want []byte // the argument as the kernel reads it; nil: not checked
	do   func(arg unsafe.Pointer)
	n    int
	err  error
}

// fakeKernel replaces the ioctl system call: it checks each call against
// the next step (u-root's spidev tests do the same).
type fakeKernel struct {
	t     *testing.T
	steps []step
	calls int
}

func (k *fakeKernel) ioctl(fd, req uintptr, arg unsafe.Pointer) (int, error) {
	if k.calls >= len(k.steps) {
		k.t.Errorf("unexpected ioctl %#x", req)
		return 0, syscall.ENOTTY
	}
	s := k.steps[k.calls]
	k.calls++
	assert.Equal(k.t, uint64(s.req), uint64(req), "ioctl %d: request = %#x, want %#x", k.calls, req, s.req)
	if s.want != nil {
		got := bytes.Clone(unsafe.Slice((*byte)(arg), len(s.want)))
		assert.Equal(k.t, s.want, got, "ioctl %d (%#x): argument", k.calls, req)
	}
	if s.do != nil {
		s.do(arg)
	}
	return s.n, s.err
}

// bytesOf is the memory of *v, as the kernel would read it.
func bytesOf[T any](v *T) []byte {
	return bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)))
}

// The arguments the kernel must see, built from the C-layout mirrors of
// ioctl_test.go for the host's pointer size.

func ctrlArg(reqType, req uint8, value, index, length uint16, timeout uint32, data unsafe.Pointer) []byte {
	if ptrSize == 8 {
		return bytesOf(&ctrlTransfer64{RequestType: reqType, Request: req, Value: value, Index: index, Length: length, Timeout: timeout, Data: uint64(uintptr(data))})
	}
	return bytesOf(&ctrlTransfer32{RequestType: reqType, Request: req, Value: value, Index: index, Length: length, Timeout: timeout, Data: uint32(uintptr(data))})
}

func bulkArg(ep, n, timeout uint32, data unsafe.Pointer) []byte {
	if ptrSize == 8 {
		return bytesOf(&bulkTransfer64{Ep: ep, Len: n, Timeout: timeout, Data: uint64(uintptr(data))})
	}
	return bytesOf(&bulkTransfer32{Ep: ep, Len: n, Timeout: timeout, Data: uint32(uintptr(data))})
}

func ioctlArg(ifno, code int32) []byte {
	if ptrSize == 8 {
		return bytesOf(&usbIoctl64{Ifno: ifno, Code: code})
	}
	return bytesOf(&usbIoctl32{Ifno: ifno, Code: code})
}

func uintArg(v uint32) []byte {
	return binary.NativeEndian.AppendUint32(nil, v)
}

// disconnectClaimArg is struct usbdevfs_disconnect_claim, byte by byte.
func disconnectClaimArg(iface, flags uint32, driver string) []byte {
	b := binary.NativeEndian.AppendUint32(nil, iface)
	b = binary.NativeEndian.AppendUint32(b, flags)
	return append(b, append([]byte(driver), make([]byte, 256-len(driver))...)...)
}

// cm4Info is the CM4 boot ROM of cm4("1-1.2", "5").
var cm4Info = usb.DeviceInfo{Port: "1-1.2", Bus: 1, Address: 5, VendorID: 0x0a5c, ProductID: 0x2711, SerialIndex: 3, Serial: "af04b2da", NumInterfaces: 1}

// newTestDevice is a Device on a real fd (a temporary file), so that
// Close closes something, with the ioctls going to k. The test closes it
// in the end, without checking the releases (TestClose does).
func newTestDevice(t *testing.T, k *fakeKernel) *Device {
	t.Helper()
	fd, err := syscall.Open(filepath.Join(t.TempDir(), "node"), syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC, 0o600)
	require.NoError(t, err)
	d := newDevice(fd, cm4Info, k.ioctl, slog.New(slog.DiscardHandler))
	t.Cleanup(func() {
		d.ioctl = func(fd, req uintptr, arg unsafe.Pointer) (int, error) { return 0, nil }
		assert.NoError(t, d.Close())
	})
	return d
}

func TestDeviceIoctls(t *testing.T) {
	in := make([]byte, 4)
	out := bytes.Repeat([]byte{0xa5}, 24)
	chunk := make([]byte, 16<<10)
	tail := make([]byte, 100)

	tests := []struct {
		name    string
		call    func(d *Device) (int, error)
		steps   []step
		wantN   int
		wantErr string  // substring; "" for no error
		wantIs  []error // errors.Is matches
		check   func(t *testing.T)
	}{
		{
			name: "announce: control out without data",
			call: func(d *Device) (int, error) { return d.Control(0x40, 0, 24, 0, nil, time.Second) },
			steps: []step{
				{req: usbdevfsControl, want: ctrlArg(0x40, 0, 24, 0, 0, 1000, nil)},
			},
		},
		{
			name: "announce of 31,457,792 bytes: wIndex has the high half",
			call: func(d *Device) (int, error) { return d.Control(0x40, 0, 0x0200, 0x01E0, nil, time.Second) },
			steps: []step{
				{req: usbdevfsControl, want: ctrlArg(0x40, 0, 0x0200, 0x01E0, 0, 1000, nil)},
			},
		},
		{
			name: "control out with data",
			call: func(d *Device) (int, error) { return d.Control(0x40, 1, 2, 3, out, 1500*time.Microsecond) },
			steps: []step{
				{req: usbdevfsControl, want: ctrlArg(0x40, 1, 2, 3, 24, 2, unsafe.Pointer(&out[0])), n: 24},
			},
			wantN: 24,
		},
		{
			name: "read: control in fills the buffer",
			call: func(d *Device) (int, error) { return d.Control(0xC0, 0, 4, 0, in, 20*time.Second) },
			steps: []step{{
				req:  usbdevfsControl,
				want: ctrlArg(0xC0, 0, 4, 0, 4, 20000, unsafe.Pointer(&in[0])),
				do: func(arg unsafe.Pointer) {
					ct := (*ctrlTransfer)(arg)
					copy(unsafe.Slice((*byte)(ct.Data), ct.Length), []byte{1, 2, 3, 4})
				},
				n: 4,
			}},
			wantN: 4,
			check: func(t *testing.T) { assert.Equal(t, []byte{1, 2, 3, 4}, in) },
		},
		{
			name: "bulk out of a 16 KiB chunk to ep 0x01",
			call: func(d *Device) (int, error) { return d.BulkOut(0x01, chunk, 5*time.Second) },
			steps: []step{
				{req: usbdevfsBulk, want: bulkArg(1, 16<<10, 5000, unsafe.Pointer(&chunk[0])), n: 16 << 10},
			},
			wantN: 16 << 10,
		},
		{
			name: "bulk out of part of a buffer to ep 0x03",
			call: func(d *Device) (int, error) { return d.BulkOut(0x03, tail[10:20], 5*time.Second) },
			steps: []step{
				{req: usbdevfsBulk, want: bulkArg(3, 10, 5000, unsafe.Pointer(&tail[10])), n: 7},
			},
			wantN: 7,
		},
		{
			name: "bulk out of nothing passes a nil pointer",
			call: func(d *Device) (int, error) { return d.BulkOut(0x01, tail[:0], 0) },
			steps: []step{
				{req: usbdevfsBulk, want: bulkArg(1, 0, 0, nil)},
			},
		},
		{
			name: "interrupted call is retried",
			call: func(d *Device) (int, error) { return d.BulkOut(0x01, tail, time.Second) },
			steps: []step{
				{req: usbdevfsBulk, err: syscall.EINTR},
				{req: usbdevfsBulk, want: bulkArg(1, 100, 1000, unsafe.Pointer(&tail[0])), n: 100},
			},
			wantN: 100,
		},
		{
			name:  "claim",
			call:  func(d *Device) (int, error) { return 0, d.Claim(0) },
			steps: []step{{req: usbdevfsClaimInterface, want: uintArg(0)}},
		},
		{
			name: "claim detaches a kernel driver",
			call: func(d *Device) (int, error) { return 0, d.Claim(1) },
			steps: []step{
				{req: usbdevfsClaimInterface, want: uintArg(1), err: syscall.EBUSY},
				{req: usbdevfsDisconnectClaim, want: disconnectClaimArg(1, 0x02, "usbfs")},
			},
		},
		{
			name: "claim of an interface another process has",
			call: func(d *Device) (int, error) { return 0, d.Claim(1) },
			steps: []step{
				{req: usbdevfsClaimInterface, err: syscall.EBUSY},
				{req: usbdevfsDisconnectClaim, err: syscall.EBUSY},
			},
			wantErr: "usbfs: claim interface 1: detach kernel driver: usb: interface busy (EBUSY: device or resource busy)",
			wantIs:  []error{usb.ErrBusy, syscall.EBUSY},
		},
		{
			name: "claim before Linux 3.8 disconnects, then claims",
			call: func(d *Device) (int, error) { return 0, d.Claim(1) },
			steps: []step{
				{req: usbdevfsClaimInterface, err: syscall.EBUSY},
				{req: usbdevfsDisconnectClaim, err: syscall.ENOTTY},
				{req: usbdevfsIoctl, want: ioctlArg(1, 0x5516)},
				{req: usbdevfsClaimInterface, want: uintArg(1)},
			},
		},
		{
			name: "claim before Linux 3.8, the driver left meanwhile",
			call: func(d *Device) (int, error) { return 0, d.Claim(1) },
			steps: []step{
				{req: usbdevfsClaimInterface, err: syscall.EBUSY},
				{req: usbdevfsDisconnectClaim, err: syscall.ENOTTY},
				{req: usbdevfsIoctl, err: syscall.ENODATA},
				{req: usbdevfsClaimInterface},
			},
		},
		{
			name:    "claim of a device that is gone",
			call:    func(d *Device) (int, error) { return 0, d.Claim(0) },
			steps:   []step{{req: usbdevfsClaimInterface, err: syscall.ENODEV}},
			wantErr: "usbfs: claim interface 0: usb: no such device",
			wantIs:  []error{usb.ErrNoDevice, syscall.ENODEV},
		},
		{
			name:  "release",
			call:  func(d *Device) (int, error) { return 0, d.Release(1) },
			steps: []step{{req: usbdevfsReleaseInterface, want: uintArg(1)}},
		},
		{
			name:  "clear halt",
			call:  func(d *Device) (int, error) { return 0, d.ClearHalt(0x01) },
			steps: []step{{req: usbdevfsClearHalt, want: uintArg(1)}},
		},
		{
			name:    "control longer than wLength can say",
			call:    func(d *Device) (int, error) { return d.Control(0x40, 0, 0, 0, make([]byte, 1<<16), time.Second) },
			wantErr: "usbfs: control type 0x40 request 0x00: 65536 bytes",
		},
		{
			name:    "bulk out to an IN endpoint",
			call:    func(d *Device) (int, error) { return d.BulkOut(0x82, tail, time.Second) },
			wantErr: "usbfs: bulk out ep 0x82: an IN endpoint",
		},
		{
			name:    "claim of a negative interface",
			call:    func(d *Device) (int, error) { return 0, d.Claim(-1) },
			wantErr: "usbfs: claim interface -1",
		},
		{
			name:    "release of interface 256",
			call:    func(d *Device) (int, error) { return 0, d.Release(256) },
			wantErr: "usbfs: release interface 256",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &fakeKernel{t: t, steps: tt.steps}
			d := newTestDevice(t, k)
			n, err := tt.call(d)
			assert.Equal(t, len(tt.steps), k.calls, "ioctls made")
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				for _, target := range tt.wantIs {
					assert.ErrorIs(t, err, target)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantN, n)
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}

func TestErrnoMapping(t *testing.T) {
	sentinels := []error{usb.ErrNoDevice, usb.ErrTimeout, usb.ErrStall, usb.ErrIO, usb.ErrBusy}
	tests := []struct {
		errno   syscall.Errno
		want    error // nil: no sentinel
		wantMsg string
	}{
		{errno: syscall.ENODEV, want: usb.ErrNoDevice, wantMsg: "usb: no such device (it disconnected) (ENODEV: no such device)"},
		{errno: syscall.ESHUTDOWN, want: usb.ErrNoDevice, wantMsg: "usb: no such device (it disconnected) (ESHUTDOWN: cannot send after transport endpoint shutdown)"},
		{errno: syscall.ETIMEDOUT, want: usb.ErrTimeout, wantMsg: "usb: transfer timed out (ETIMEDOUT: connection timed out)"},
		{errno: syscall.EPIPE, want: usb.ErrStall, wantMsg: "usb: endpoint stalled (EPIPE: broken pipe)"},
		{errno: syscall.EPROTO, want: usb.ErrIO, wantMsg: "usb: I/O error (EPROTO: protocol error)"},
		{errno: syscall.EILSEQ, want: usb.ErrIO, wantMsg: "usb: I/O error (EILSEQ: invalid or incomplete multibyte or wide character)"},
		{errno: syscall.EOVERFLOW, want: usb.ErrIO, wantMsg: "usb: I/O error (EOVERFLOW: value too large for defined data type)"},
		{errno: syscall.EIO, want: usb.ErrIO, wantMsg: "usb: I/O error (EIO: input/output error)"},
		{errno: syscall.EBUSY, want: usb.ErrBusy, wantMsg: "usb: interface busy (EBUSY: device or resource busy)"},
		{errno: syscall.ENOTTY, wantMsg: "inappropriate ioctl for device"},
		{errno: syscall.ENOMEM, wantMsg: "cannot allocate memory"},
		{errno: syscall.EINVAL, wantMsg: "invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.errno.Error(), func(t *testing.T) {
			k := &fakeKernel{t: t, steps: []step{{req: usbdevfsBulk, err: tt.errno}}}
			d := newTestDevice(t, k)
			n, err := d.BulkOut(0x01, []byte{1}, time.Second)
			assert.Zero(t, n)
			assert.EqualError(t, err, "usbfs: bulk out ep 0x01: "+tt.wantMsg)
			assert.ErrorIs(t, err, tt.errno, "the errno stays visible")
			for _, s := range sentinels {
				assert.Equal(t, s == tt.want, errors.Is(err, s), "errors.Is(err, %v)", s)
			}
		})
	}
}

func TestClose(t *testing.T) {
	tests := []struct {
		name    string
		steps   []step // after Claim(0) and Claim(1)
		wantErr string
	}{
		{
			name: "releases the claimed interfaces",
			steps: []step{
				{req: usbdevfsReleaseInterface, want: uintArg(0)},
				{req: usbdevfsReleaseInterface, want: uintArg(1)},
			},
		},
		{
			name: "device gone is not an error",
			steps: []step{
				{req: usbdevfsReleaseInterface, err: syscall.ENODEV},
				{req: usbdevfsReleaseInterface, err: syscall.ENODEV},
			},
		},
		{
			name: "other release errors are returned",
			steps: []step{
				{req: usbdevfsReleaseInterface},
				{req: usbdevfsReleaseInterface, err: syscall.EINVAL},
			},
			wantErr: "usbfs: release interface 1: invalid argument",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &fakeKernel{t: t, steps: append([]step{
				{req: usbdevfsClaimInterface, want: uintArg(1)},
				{req: usbdevfsClaimInterface, want: uintArg(0)},
			}, tt.steps...)}
			d := newTestDevice(t, k)
			require.NoError(t, d.Claim(1))
			require.NoError(t, d.Claim(0))
			err := d.Close()
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, len(k.steps), k.calls, "ioctls made")

			assert.NoError(t, d.Close(), "second Close")
			_, err = d.BulkOut(0x01, []byte{1}, time.Second)
			assert.ErrorIs(t, err, os.ErrClosed)
			assert.ErrorContains(t, err, "usbfs: bulk out ep 0x01: ")
			assert.ErrorIs(t, d.Claim(0), os.ErrClosed)
			assert.Equal(t, len(k.steps), k.calls, "no ioctl after Close")
		})
	}
}

func TestReleaseForgetsInterface(t *testing.T) {
	k := &fakeKernel{t: t, steps: []step{
		{req: usbdevfsClaimInterface, want: uintArg(0)},
		{req: usbdevfsReleaseInterface, want: uintArg(0)},
	}}
	d := newTestDevice(t, k)
	require.NoError(t, d.Claim(0))
	require.NoError(t, d.Release(0))
	require.NoError(t, d.Close(), "Close releases nothing more")
	assert.Equal(t, 2, k.calls)
}

// TestCloseWaitsForTransfer checks that Close does not close the fd under
// a transfer in flight.
func TestCloseWaitsForTransfer(t *testing.T) {
	started, finish := make(chan struct{}), make(chan struct{})
	d := newTestDevice(t, &fakeKernel{t: t})
	d.ioctl = func(fd, req uintptr, arg unsafe.Pointer) (int, error) {
		close(started)
		<-finish
		return 1, nil
	}
	sent := make(chan error, 1)
	go func() {
		_, err := d.BulkOut(0x01, []byte{1}, time.Second)
		sent <- err
	}()
	<-started
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned during a transfer")
	case <-time.After(50 * time.Millisecond):
	}
	close(finish)
	assert.NoError(t, <-sent)
	assert.NoError(t, <-closed)
}

// fakeNode writes a usbfs node for bus 1 device 5 under a new /dev root:
// what a read of the real node returns, the device descriptor in CPU byte
// order and a configuration descriptor.
func fakeNode(t *testing.T, content []byte) string {
	t.Helper()
	devRoot := t.TempDir()
	if content == nil {
		return devRoot
	}
	dir := filepath.Join(devRoot, "bus", "usb", "001")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "005"), content, 0o644))
	return devRoot
}

func TestOpen(t *testing.T) {
	config := []byte{9, 2, 32, 0, 1, 1, 0, 0x80, 250}
	node := func(vid, pid uint16, idx uint8) []byte {
		return append(deviceDesc(binary.NativeEndian, vid, pid, idx), config...)
	}
	tests := []struct {
		name    string
		info    usb.DeviceInfo
		node    []byte       // nil: no node
		sys     []fakeDevice // sysfs now
		ctx     func() context.Context
		wantErr string
		wantIs  []error
	}{
		{name: "same device", info: cm4Info, node: node(0x0a5c, 0x2711, 3), sys: []fakeDevice{cm4("1-1.2", "5")}},
		{name: "no port: sysfs not checked", info: func() usb.DeviceInfo { i := cm4Info; i.Port = ""; return i }(), node: node(0x0a5c, 0x2711, 3)},
		{
			name: "node gone", info: cm4Info, sys: []fakeDevice{cm4("1-1.2", "5")},
			wantErr: "usbfs: open 0a5c:2711 at port 1-1.2 (bus 001 device 005): usb: no such device (it disconnected): open ",
			wantIs:  []error{usb.ErrNoDevice, syscall.ENOENT},
		},
		{
			name: "node is another device", info: cm4Info, node: node(0x046d, 0xc31c, 0), sys: []fakeDevice{cm4("1-1.2", "5")},
			wantErr: "usbfs: open 0a5c:2711 at port 1-1.2 (bus 001 device 005): usb: no such device (it disconnected): the node is now 046d:c31c with iSerialNumber 0",
			wantIs:  []error{usb.ErrNoDevice},
		},
		{
			name: "node is the second stage", info: cm4Info, node: node(0x0a5c, 0x2711, 4), sys: []fakeDevice{cm4("1-1.2", "5")},
			wantErr: "the node is now 0a5c:2711 with iSerialNumber 4",
			wantIs:  []error{usb.ErrNoDevice},
		},
		{
			name: "port re-enumerated", info: cm4Info, node: node(0x0a5c, 0x2711, 3), sys: []fakeDevice{cm4("1-1.2", "7")},
			wantErr: "usbfs: open 0a5c:2711 at port 1-1.2 (bus 001 device 005): usb: no such device (it disconnected): port 1-1.2 is now bus 001 device 007",
			wantIs:  []error{usb.ErrNoDevice},
		},
		{
			name: "port empty", info: cm4Info, node: node(0x0a5c, 0x2711, 3),
			wantErr: "port 1-1.2 is empty",
			wantIs:  []error{usb.ErrNoDevice},
		},
		{
			name: "port unreadable", info: cm4Info, node: node(0x0a5c, 0x2711, 3), sys: []fakeDevice{cm4("1-1.2", "x")},
			wantErr: "usbfs: open 0a5c:2711 at port 1-1.2 (bus 001 device 005): port 1-1.2: devnum: ",
		},
		{
			name: "node without a descriptor", info: cm4Info, node: []byte{18, 1, 0}, sys: []fakeDevice{cm4("1-1.2", "5")},
			wantErr: "usbfs: open 0a5c:2711 at port 1-1.2 (bus 001 device 005): read device descriptor: got 12 01 00",
		},
		{
			name: "cancelled", info: cm4Info, node: node(0x0a5c, 0x2711, 3), sys: []fakeDevice{cm4("1-1.2", "5")},
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			wantErr: "usbfs: open 0a5c:2711 at port 1-1.2 (bus 001 device 005): context canceled",
			wantIs:  []error{context.Canceled},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(&Opts{SysRoot: writeSysfs(t, tt.sys...), DevRoot: fakeNode(t, tt.node)})
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			dev, err := b.Open(ctx, tt.info)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				for _, target := range tt.wantIs {
					assert.ErrorIs(t, err, target)
				}
				assert.Nil(t, dev, "a nil interface, not a nil *Device")
				return
			}
			require.NoError(t, err)
			d := dev.(*Device)
			assert.Equal(t, tt.info, d.info)
			assert.NoError(t, dev.Close())
		})
	}
}

// TestRegularFile runs the real ioctls on a regular file standing in for
// the node: the kernel answers ENOTTY, and the errors say which operation
// failed on which device. There is no usbfs on the test machines, so this
// is as far as the real system call goes here.
func TestRegularFile(t *testing.T) {
	b := New(&Opts{
		SysRoot: writeSysfs(t, cm4("1-1.2", "5")),
		DevRoot: fakeNode(t, deviceDesc(binary.NativeEndian, 0x0a5c, 0x2711, 3)),
	})
	dev, err := b.Open(context.Background(), cm4Info)
	require.NoError(t, err)
	defer dev.Close()
	buf := make([]byte, 4)
	const on = ": inappropriate ioctl for device"
	tests := []struct {
		name    string
		call    func() error
		wantErr string
	}{
		{name: "claim", call: func() error { return dev.Claim(0) }, wantErr: "usbfs: claim interface 0" + on},
		{name: "release", call: func() error { return dev.Release(0) }, wantErr: "usbfs: release interface 0" + on},
		{name: "control in", call: func() error { _, err := dev.Control(0xC0, 0, 4, 0, buf, time.Second); return err }, wantErr: "usbfs: control type 0xc0 request 0x00" + on},
		{name: "control out", call: func() error { _, err := dev.Control(0x40, 0, 0, 0, nil, time.Second); return err }, wantErr: "usbfs: control type 0x40 request 0x00" + on},
		{name: "bulk out", call: func() error { _, err := dev.BulkOut(0x01, buf, time.Second); return err }, wantErr: "usbfs: bulk out ep 0x01" + on},
		{name: "clear halt", call: func() error { return dev.(*Device).ClearHalt(0x01) }, wantErr: "usbfs: clear halt ep 0x01" + on},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			assert.EqualError(t, err, tt.wantErr)
			assert.ErrorIs(t, err, syscall.ENOTTY)
			for _, s := range []error{usb.ErrNoDevice, usb.ErrTimeout, usb.ErrStall, usb.ErrIO, usb.ErrBusy} {
				assert.NotErrorIs(t, err, s)
			}
		})
	}
	assert.NoError(t, dev.Close(), "nothing was claimed")
}

func TestBusDevices(t *testing.T) {
	root := extractSysfs(t)
	b := New(&Opts{SysRoot: filepath.Join(root, "sys")})
	got, err := b.Devices(context.Background())
	require.NoError(t, err)
	want, err := listDevices(context.Background(), filepath.Join(root, "sys"), b.log)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Len(t, got, 4)
}
