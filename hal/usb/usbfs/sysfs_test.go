package usbfs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal/usb"
)

// extractSysfs unpacks testdata/sysfs.tar.gz into a temporary directory
// and returns the root that holds sys/.
func extractSysfs(t *testing.T) string {
	t.Helper()
	f, err := os.Open("testdata/sysfs.tar.gz")
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	root := t.TempDir()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return root
		}
		require.NoError(t, err)
		require.True(t, filepath.IsLocal(h.Name), "archive entry %q", h.Name)
		path := filepath.Join(root, h.Name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		switch h.Typeflag {
		case tar.TypeDir:
			require.NoError(t, os.MkdirAll(path, 0o755))
		case tar.TypeSymlink:
			require.NoError(t, os.Symlink(h.Linkname, path))
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, b, 0o644))
		default:
			t.Fatalf("archive entry %q: type %c", h.Name, h.Typeflag)
		}
	}
}

// deviceDesc is an 18-byte device descriptor with the 16-bit fields in
// byte order o: little-endian in sysfs, the CPU's in a usbfs read.
func deviceDesc(o binary.ByteOrder, vid, pid uint16, serialIndex uint8) []byte {
	d := []byte{deviceDescLen, deviceDescType, 0x00, 0x02, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 1, 2, serialIndex, 1}
	o.PutUint16(d[descVendorOff:], vid)
	o.PutUint16(d[descProductOff:], pid)
	return d
}

// fakeDevice is one device directory of a generated sysfs tree.
type fakeDevice struct {
	port  string
	attrs map[string]string // name → content, written as is
}

// cm4 is a CM4 boot ROM at port as sysfs shows it.
func cm4(port string, devnum string) fakeDevice {
	return fakeDevice{port: port, attrs: map[string]string{
		"idVendor": "0a5c\n", "idProduct": "2711\n", "busnum": "1\n", "devnum": devnum + "\n",
		"bNumInterfaces": " 1\n", "serial": "af04b2da\n",
		"descriptors": string(deviceDesc(binary.LittleEndian, 0x0a5c, 0x2711, 3)),
	}}
}

// with returns a copy of d with attributes changed; "" removes one.
func (d fakeDevice) with(kv ...string) fakeDevice {
	c := fakeDevice{port: d.port, attrs: map[string]string{}}
	for k, v := range d.attrs {
		c.attrs[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(c.attrs, kv[i])
		} else {
			c.attrs[kv[i]] = kv[i+1]
		}
	}
	return c
}

// writeSysfs generates a sysfs tree with devs in a temporary directory,
// and returns its root.
func writeSysfs(t *testing.T, devs ...fakeDevice) string {
	t.Helper()
	root := t.TempDir()
	dir := devicesDir(root)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, d := range devs {
		p := filepath.Join(dir, d.port)
		require.NoError(t, os.MkdirAll(p, 0o755))
		for name, content := range d.attrs {
			require.NoError(t, os.WriteFile(filepath.Join(p, name), []byte(content), 0o644))
		}
	}
	return root
}

// testLogger logs into buf.
func testLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestListDevicesTestdata(t *testing.T) {
	root := extractSysfs(t)
	var logs bytes.Buffer
	got, err := listDevices(context.Background(), filepath.Join(root, "sys"), testLogger(&logs))
	require.NoError(t, err)
	want := []usb.DeviceInfo{
		{Port: "1-1", Bus: 1, Address: 2, VendorID: 0x05e3, ProductID: 0x0608, NumInterfaces: 1},
		{Port: "1-1.2", Bus: 1, Address: 5, VendorID: 0x0a5c, ProductID: 0x2711, SerialIndex: 3, Serial: "af04b2da", NumInterfaces: 1},
		{Port: "1-1.3", Bus: 1, Address: 6, VendorID: 0x0a5c, ProductID: 0x2764, NumInterfaces: 2},
		{Port: "1-1.4", Bus: 1, Address: 4, VendorID: 0x046d, ProductID: 0xc31c, NumInterfaces: 2},
	}
	assert.Equal(t, want, got)
	assert.Empty(t, logs.String(), "nothing skipped")
}

func TestReadDevice(t *testing.T) {
	base := cm4("1-1.2", "5")
	tests := []struct {
		name    string
		dev     fakeDevice
		want    usb.DeviceInfo
		wantErr string // substring; "" for no error
		gone    bool   // the error says the device vanished
	}{
		{
			name: "cm4 rom",
			dev:  base,
			want: usb.DeviceInfo{Port: "1-1.2", Bus: 1, Address: 5, VendorID: 0x0a5c, ProductID: 0x2711, SerialIndex: 3, Serial: "af04b2da", NumInterfaces: 1},
		},
		{
			name: "cm3 rom with two interfaces, no serial",
			dev: base.with("idProduct", "2764\n", "bNumInterfaces", " 2\n", "serial", "",
				"descriptors", string(deviceDesc(binary.LittleEndian, 0x0a5c, 0x2764, 0))),
			want: usb.DeviceInfo{Port: "1-1.2", Bus: 1, Address: 5, VendorID: 0x0a5c, ProductID: 0x2764, NumInterfaces: 2},
		},
		{
			name: "serial index 0 ignores a serial file",
			dev:  base.with("descriptors", string(deviceDesc(binary.LittleEndian, 0x0a5c, 0x2711, 0))),
			want: usb.DeviceInfo{Port: "1-1.2", Bus: 1, Address: 5, VendorID: 0x0a5c, ProductID: 0x2711, NumInterfaces: 1},
		},
		{
			name: "serial string unreadable",
			dev:  base.with("serial", ""),
			want: usb.DeviceInfo{Port: "1-1.2", Bus: 1, Address: 5, VendorID: 0x0a5c, ProductID: 0x2711, SerialIndex: 3, NumInterfaces: 1},
		},
		{
			name: "unconfigured",
			dev:  base.with("bNumInterfaces", "\n"),
			want: usb.DeviceInfo{Port: "1-1.2", Bus: 1, Address: 5, VendorID: 0x0a5c, ProductID: 0x2711, SerialIndex: 3, Serial: "af04b2da"},
		},
		{
			name: "serial keeps inner spaces",
			dev:  base.with("serial", " af 04 \n"),
			want: usb.DeviceInfo{Port: "1-1.2", Bus: 1, Address: 5, VendorID: 0x0a5c, ProductID: 0x2711, SerialIndex: 3, Serial: " af 04 ", NumInterfaces: 1},
		},
		{name: "no idVendor", dev: base.with("idVendor", ""), wantErr: "idVendor", gone: true},
		{name: "no descriptors", dev: base.with("descriptors", ""), wantErr: "descriptors", gone: true},
		{name: "no devnum", dev: base.with("devnum", ""), wantErr: "devnum", gone: true},
		{name: "bad idVendor", dev: base.with("idVendor", "zz\n"), wantErr: `usbfs: device 1-1.2: idVendor: strconv.ParseUint: parsing "zz"`},
		{name: "idProduct too wide", dev: base.with("idProduct", "12345\n"), wantErr: "idProduct"},
		{name: "empty busnum", dev: base.with("busnum", "\n"), wantErr: "busnum"},
		{name: "bad bNumInterfaces", dev: base.with("bNumInterfaces", " x\n"), wantErr: "bNumInterfaces"},
		{name: "short descriptors", dev: base.with("descriptors", "\x12\x01\x00\x02"), wantErr: "usbfs: device 1-1.2: descriptors: no device descriptor in 12 01 00 02"},
		{name: "not a device descriptor", dev: base.with("descriptors", string(make([]byte, 18))), wantErr: "no device descriptor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeSysfs(t, tt.dev)
			got, err := readDevice(devicesDir(root), tt.dev.port)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				assert.Equal(t, tt.gone, gone(err), "gone(%v)", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestListDevices(t *testing.T) {
	tests := []struct {
		name     string
		devs     []fakeDevice
		setup    func(t *testing.T, root string)
		want     []string // ports
		wantLogs []string // substrings of the log
	}{
		{name: "empty bus", want: []string{}},
		{
			name: "interfaces and root hubs skipped",
			devs: []fakeDevice{
				cm4("1-1.2", "5"),
				cm4("1-1.2:1.0", "5"),
				cm4("usb1", "1"),
				cm4("usb2", "1"),
			},
			want: []string{"1-1.2"},
		},
		{
			name: "device vanished while listed",
			devs: []fakeDevice{cm4("1-1.2", "5"), cm4("1-1.3", "6").with("descriptors", "")},
			want: []string{"1-1.2"},
			wantLogs: []string{
				`level=DEBUG msg="usb device vanished while listing" port=1-1.3`,
			},
		},
		{
			name: "dangling symlink of an unplugged device",
			devs: []fakeDevice{cm4("1-1.2", "5")},
			setup: func(t *testing.T, root string) {
				require.NoError(t, os.Symlink("../../../devices/platform/soc/usb1/1-1/1-1.4", filepath.Join(devicesDir(root), "1-1.4")))
			},
			want:     []string{"1-1.2"},
			wantLogs: []string{`level=DEBUG msg="usb device vanished while listing" port=1-1.4`},
		},
		{
			name: "unreadable device skipped with a warning",
			devs: []fakeDevice{cm4("1-1.1", "3").with("idVendor", "zz\n"), cm4("1-1.2", "5")},
			want: []string{"1-1.2"},
			wantLogs: []string{
				`level=WARN msg="skipping unreadable usb device" port=1-1.1 err="usbfs: device 1-1.1: idVendor`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeSysfs(t, tt.devs...)
			if tt.setup != nil {
				tt.setup(t, root)
			}
			var logs bytes.Buffer
			got, err := listDevices(context.Background(), root, testLogger(&logs))
			require.NoError(t, err)
			ports := []string{}
			for _, d := range got {
				ports = append(ports, d.Port)
			}
			assert.Equal(t, tt.want, ports)
			for _, l := range tt.wantLogs {
				assert.Contains(t, logs.String(), l)
			}
			if len(tt.wantLogs) == 0 {
				assert.Empty(t, logs.String())
			}
		})
	}
}

func TestListDevicesErrors(t *testing.T) {
	discard := slog.New(slog.DiscardHandler)
	t.Run("no usb subsystem", func(t *testing.T) {
		_, err := listDevices(context.Background(), t.TempDir(), discard)
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.ErrorContains(t, err, "usbfs: list devices: open ")
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := listDevices(ctx, writeSysfs(t, cm4("1-1.2", "5")), discard)
		assert.ErrorIs(t, err, context.Canceled)
		assert.True(t, strings.HasPrefix(err.Error(), "usbfs: list devices: "), err.Error())
	})
}

func TestReadAddress(t *testing.T) {
	root := extractSysfs(t)
	tests := []struct {
		port      string
		bus, addr int
		gone      bool
	}{
		{port: "1-1.2", bus: 1, addr: 5},
		{port: "1-1.3", bus: 1, addr: 6},
		{port: "1-1.9", gone: true},
	}
	for _, tt := range tests {
		t.Run(tt.port, func(t *testing.T) {
			bus, addr, err := readAddress(filepath.Join(root, "sys"), tt.port)
			if tt.gone {
				assert.True(t, gone(err), "gone(%v)", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []int{tt.bus, tt.addr}, []int{bus, addr})
		})
	}
}

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		name             string
		opts             *Opts
		sysRoot, devRoot string
	}{
		{name: "nil", opts: nil, sysRoot: "/sys", devRoot: "/dev"},
		{name: "zero", opts: &Opts{}, sysRoot: "/sys", devRoot: "/dev"},
		{name: "roots", opts: &Opts{SysRoot: "/tmp/s", DevRoot: "/tmp/d"}, sysRoot: "/tmp/s", devRoot: "/tmp/d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.opts)
			assert.Equal(t, tt.sysRoot, b.sysRoot)
			assert.Equal(t, tt.devRoot, b.devRoot)
			assert.NotNil(t, b.log)
		})
	}
}
