package usbsim_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal/usb"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// testImage is a made-up second stage over 64 KiB, so its announce uses
// wIndex.
func testImage() []byte {
	b := make([]byte, 70000)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestROMRefusesWhatARealROMRefuses(t *testing.T) {
	tests := []struct {
		name    string
		profile func() usbsim.Profile
		run     func(h host) error
		want    error
	}{
		{
			name: "bulk without an announce",
			run:  func(h host) error { _, err := h.bulk(make([]byte, 24)); return err },
			want: usb.ErrTimeout,
		},
		{
			name: "first announce is not 24",
			run:  func(h host) error { return h.announce(25) },
			want: usb.ErrStall,
		},
		{
			name: "read before the upload",
			run:  func(h host) error { _, err := h.read(4, time.Second); return err },
			want: usb.ErrTimeout,
		},
		{
			name: "image announce disagrees with the boot message",
			run: func(h host) error {
				h.send(append(bootMessage(100), make([]byte, 20)...))
				return h.announce(99)
			},
			want: usb.ErrStall,
		},
		{
			name: "more data than announced",
			run: func(h host) error {
				require.NoError(t, h.announce(24))
				n, err := h.bulk(make([]byte, 30))
				assert.Equal(t, 24, n, "the ROM took what was announced")
				return err
			},
			want: usb.ErrTimeout,
		},
		{
			name: "read of the wrong length",
			run: func(h host) error {
				h.send(append(bootMessage(100), make([]byte, 20)...))
				h.send(make([]byte, 100))
				_, err := h.read(8, time.Second)
				return err
			},
			want: usb.ErrStall,
		},
		{
			name: "standard request",
			run: func(h host) error {
				_, err := h.dev.Control(0x80, 6, 0x0100, 0, make([]byte, 18), time.Second)
				return err
			},
			want: usb.ErrStall,
		},
		{
			name: "no such endpoint",
			run:  func(h host) error { _, err := h.dev.BulkOut(0x02, make([]byte, 4), time.Second); return err },
			want: usb.ErrIO,
		},
		{
			name:    "mass-storage interface of a two-interface ROM",
			profile: usbsim.CM3TwoInterfaces,
			run: func(h host) error {
				require.NoError(t, h.dev.Claim(0))
				require.NoError(t, h.announce(24))
				_, err := h.dev.BulkOut(0x01, make([]byte, 24), time.Second)
				return err
			},
			want: usb.ErrStall,
		},
		{
			name:    "vendor interface of a two-interface ROM not claimed",
			profile: usbsim.CM3TwoInterfaces,
			run: func(h host) error {
				require.NoError(t, h.dev.Release(1))
				require.NoError(t, h.announce(24))
				_, err := h.dev.BulkOut(0x03, make([]byte, 24), time.Second)
				return err
			},
			want: usb.ErrIO,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.drive()
			p := usbsim.CM4()
			if tt.profile != nil {
				p = tt.profile()
			}
			m, _ := e.attach(p)
			h, _ := e.open()
			assert.ErrorIs(t, tt.run(h), tt.want)
			assert.Equal(t, usbsim.StateROM, m.State(), "the ROM keeps waiting")
		})
	}
}

func TestROMUploadAndReenumeration(t *testing.T) {
	e := newEnv(t)
	m, _ := e.attach(usbsim.CM4())
	h, rom := e.open()
	assert.Equal(t, usb.DeviceInfo{Port: port, Bus: 1, Address: 2, VendorID: 0x0a5c, ProductID: 0x2711, SerialIndex: 3, Serial: "af04b2da", NumInterfaces: 1}, rom)

	assert.Equal(t, int32(0), h.uploadROM(testImage()))
	assert.Equal(t, testImage(), m.Bootcode())
	_, ok := e.find()
	assert.True(t, ok, "the ROM is still there right after its return code")

	e.clock.Advance(300 * time.Millisecond)
	_, ok = e.find()
	assert.False(t, ok, "the ROM disconnected")
	assert.Equal(t, usbsim.StateOffline, m.State())
	assert.ErrorIs(t, h.announce(24), usb.ErrNoDevice, "its handle is stale")

	e.clock.Advance(1500 * time.Millisecond)
	second, ok := e.find()
	require.True(t, ok)
	assert.Equal(t, usb.DeviceInfo{Port: port, Bus: 1, Address: 3, VendorID: 0x0a5c, ProductID: 0x2711, SerialIndex: 1, Serial: "af04b2da", NumInterfaces: 1}, second)
	assert.Equal(t, usbsim.StateSecondStage, m.State())
	_, err := e.bus.Open(context.Background(), rom)
	assert.ErrorIs(t, err, usb.ErrNoDevice, "the ROM's listing is stale")
}

func TestROMReturnCode(t *testing.T) {
	t.Parallel()
	t.Run("rejects the upload", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		p := usbsim.CM4()
		p.Quirks.ROMReturnCode = -2
		p.Quirks.ROMRejectsUpload = true
		m, _ := e.attach(p)
		h, rom := e.open()
		assert.Equal(t, int32(-2), h.uploadROM(testImage()))
		e.clock.Advance(time.Minute)
		assert.Equal(t, usbsim.StateROM, m.State(), "no re-enumeration")
		again, ok := e.find()
		require.True(t, ok)
		assert.Equal(t, rom, again, "same address")
		assert.Equal(t, int32(-2), h.uploadROM(testImage()), "the ROM takes a new upload")
		assert.Equal(t, 2, m.Uploads())
		assert.Nil(t, m.Bootcode(), "no second stage started")
	})
	t.Run("starts the second stage all the same", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		p := usbsim.CM4()
		p.Quirks.ROMReturnCode = 5
		m, _ := e.attach(p)
		h, _ := e.open()
		assert.Equal(t, int32(5), h.uploadROM(testImage()))
		e.clock.Advance(p.Timing.SecondStage)
		assert.Equal(t, usbsim.StateSecondStage, m.State())
		assert.Equal(t, testImage(), m.Bootcode())
	})
}

func TestROMLostUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := usbsim.CM4()
	p.Quirks.ROMLostUploads = 2
	m, _ := e.attach(p)
	addrs := map[int]bool{}
	for upload := 1; upload <= 2; upload++ {
		h, rom := e.open()
		addrs[rom.Address] = true
		assert.Equal(t, int32(0), h.uploadROM(testImage()), "upload %d", upload)
		e.clock.Advance(p.Timing.Disconnect)
		_, ok := e.find()
		assert.False(t, ok, "upload %d: the ROM left the bus", upload)
		assert.ErrorIs(t, h.announce(24), usb.ErrNoDevice, "upload %d: its handle is stale", upload)
		e.clock.Advance(p.Timing.SecondStage)
		again, ok := e.find()
		require.True(t, ok, "upload %d: the ROM came back", upload)
		assert.Equal(t, uint8(3), again.SerialIndex, "upload %d: as the ROM", upload)
		assert.False(t, addrs[again.Address], "upload %d: at a new address", upload)
		assert.Equal(t, usbsim.StateROM, m.State())
		assert.Nil(t, m.Bootcode(), "upload %d: no second stage started", upload)
	}
	h, _ := e.open()
	assert.Equal(t, int32(0), h.uploadROM(testImage()), "the third upload")
	e.clock.Advance(p.Timing.SecondStage)
	assert.Equal(t, usbsim.StateSecondStage, m.State())
	assert.Equal(t, 3, m.Uploads())
	assert.Equal(t, testImage(), m.Bootcode())
}

// bootToSecondStage takes a module through the ROM stage and opens its second stage.
func (e *env) bootToSecondStage(p usbsim.Profile) (*usbsim.Module, host, string) {
	m, disk := e.attach(p)
	h, _ := e.open()
	require.Equal(e.t, int32(0), h.uploadROM(testImage()))
	require.NoError(e.t, h.dev.Close())
	e.clock.Advance(p.Timing.SecondStage)
	require.Equal(e.t, usbsim.StateSecondStage, m.State())
	h, _ = e.open()
	return m, h, disk
}

func TestSecondStageScripts(t *testing.T) {
	files := map[string][]byte{
		"mcb.bin": []byte("mcb"), "bootmain": []byte("bootmain"), "config.txt": []byte("cfg"), "boot.img": testImage(),
		"start.elf": []byte("start"), "start4.elf": []byte("start4"),
	}
	for i := range 9 {
		files[fmt.Sprintf("memsys%02d.bin", i)] = []byte{byte(i)}
	}
	msg := func(memsys int) []string {
		s := []string{"GetFileSize mcb.bin", "ReadFile mcb.bin"}
		for i := range memsys {
			s = append(s, fmt.Sprintf("GetFileSize memsys%02d.bin", i), fmt.Sprintf("ReadFile memsys%02d.bin", i))
		}
		return append(s, "GetFileSize bootmain", "ReadFile bootmain", "GetFileSize config.txt", "ReadFile config.txt",
			"GetFileSize boot.img", "ReadFile boot.img", "Done ")
	}
	legacyCM4 := usbsim.CM4()
	legacyCM4.Payload = usbsim.LegacyMSD
	tests := []struct {
		name        string
		profile     usbsim.Profile
		want        []string
		wantProduct uint16
	}{
		{"CM3", usbsim.CM3(), []string{"GetFileSize autoboot.txt", "GetFileSize config.txt", "ReadFile config.txt",
			"GetFileSize recovery.elf", "GetFileSize start.elf", "ReadFile start.elf", "GetFileSize fixup.dat", "Done "}, 0x0001},
		{"CM4 legacy", legacyCM4, []string{"GetFileSize config.txt", "ReadFile config.txt", "GetFileSize pieeprom.sig",
			"GetFileSize start4.elf", "ReadFile start4.elf", "GetFileSize fixup4.dat", "Done "}, 0x0001},
		{"CM4", usbsim.CM4(), msg(9), 0x0104},
		{"CM5", usbsim.CM5(), msg(4), 0x0104},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			m, h, _ := e.bootToSecondStage(tt.profile)
			assert.Equal(t, tt.want, h.serve(files))
			e.clock.Advance(tt.profile.Timing.MassStorage)
			d, ok := e.find()
			require.True(t, ok)
			assert.Equal(t, tt.wantProduct, d.ProductID)
			assert.Equal(t, usbsim.StateMassStorage, m.State())
			for _, f := range m.Files() {
				if f.Size > 0 {
					assert.Equal(t, int64(len(files[f.Name])), f.Size, f.Name)
				}
			}
		})
	}
}

func TestSecondStageRefusals(t *testing.T) {
	tests := []struct {
		name string
		run  func(h host) error
		want error
	}{
		{
			name: "bulk after GetFileSize",
			run: func(h host) error {
				h.request()
				require.NoError(t, h.announce(3))
				_, err := h.bulk([]byte("mcb"))
				return err
			},
			want: usb.ErrTimeout,
		},
		{
			name: "a request read instead of an answer",
			run: func(h host) error {
				h.request()
				_, err := h.read(260, time.Second)
				return err
			},
			want: usb.ErrStall,
		},
		{
			name: "ReadFile announce disagrees with the size",
			run: func(h host) error {
				h.request()
				require.NoError(t, h.announce(3))
				h.request()
				return h.announce(4)
			},
			want: usb.ErrStall,
		},
		{
			name: "read of the wrong length",
			run:  func(h host) error { _, err := h.read(256, time.Second); return err },
			want: usb.ErrStall,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, h, _ := e.bootToSecondStage(usbsim.CM4())
			e.drive()
			assert.ErrorIs(t, tt.run(h), tt.want)
		})
	}
}

func TestSecondStageRequiredFileMissing(t *testing.T) {
	e := newEnv(t)
	p := usbsim.CM4()
	m, h, _ := e.bootToSecondStage(p)
	m.SetScript([]usbsim.Step{{Name: "config.txt"}, {Name: "boot.img", Required: true}})
	e.drive()
	assert.Equal(t, "GetFileSize config.txt", h.request().String())
	require.NoError(t, h.announce(0))
	assert.Equal(t, "GetFileSize boot.img", h.request().String())
	require.NoError(t, h.announce(0))
	assert.Equal(t, usbsim.StateFailed, m.State())
	require.ErrorContains(t, m.Err(), "required file boot.img is missing")
	_, err := h.read(260, 20*time.Second)
	assert.ErrorIs(t, err, usb.ErrTimeout, "a failed module hangs")
	assert.Equal(t, []usbsim.File{{Name: "config.txt"}, {Name: "boot.img"}}, m.Files())
	assert.Empty(t, m.BlockDevice())
}

func TestSecondStageMetadataAndEmptyName(t *testing.T) {
	e := newEnv(t)
	m, h, _ := e.bootToSecondStage(usbsim.CM4())
	m.SetScript([]usbsim.Step{{Name: "*MAC_ADDR*d8:3a:dd:00:00:01"}, {Name: ""}})
	assert.Equal(t, []string{"GetFileSize *MAC_ADDR*d8:3a:dd:00:00:01", "GetFileSize "}, h.serve(nil))
	assert.Equal(t, []string{"*MAC_ADDR*d8:3a:dd:00:00:01"}, m.Metadata())
	e.clock.Advance(usbsim.CM4().Timing.MassStorage)
	assert.Equal(t, usbsim.StateMassStorage, m.State())
}

func TestSecondStageEndsWithoutDone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		end  usbsim.SessionEnd
		want error
	}{
		{usbsim.EndDisconnect, usb.ErrNoDevice},
		{usbsim.EndIOError, usb.ErrIO},
	}
	for _, tt := range tests {
		t.Run(tt.end.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			p := usbsim.CM4()
			p.Quirks.SessionEnd = tt.end
			m, h, _ := e.bootToSecondStage(p)
			m.SetScript([]usbsim.Step{{Name: "boot.img", Required: true}})
			e.drive()
			assert.Equal(t, "GetFileSize boot.img", h.request().String())
			require.NoError(t, h.announce(5))
			assert.Equal(t, "ReadFile boot.img", h.request().String())
			h.send([]byte("image"))

			_, err := h.read(260, 20*time.Second)
			require.ErrorIs(t, err, tt.want, "the read after the last file")
			e.clock.Advance(p.Timing.MassStorage)
			require.Equal(t, usbsim.StateMassStorage, m.State())
			_, err = h.read(260, 20*time.Second)
			assert.ErrorIs(t, err, usb.ErrNoDevice, "the second stage is gone")
			d, ok := e.find()
			require.True(t, ok)
			assert.Equal(t, uint16(0x0104), d.ProductID)
			for _, op := range m.Transcript() {
				assert.NotEqual(t, "request Done", op.Note, "no Done was sent")
			}
		})
	}
}

func TestSecondStageLatency(t *testing.T) {
	e := newEnv(t)
	p := usbsim.CM4()
	p.Quirks.RequestLatency = 30 * time.Second
	_, h, _ := e.bootToSecondStage(p)
	e.drive()
	start := e.clock.Now()
	_, err := h.read(260, 20*time.Second)
	assert.ErrorIs(t, err, usb.ErrTimeout)
	assert.Equal(t, 20*time.Second, e.clock.Since(start), "a timeout takes the timeout")
	assert.Equal(t, "GetFileSize mcb.bin", h.request().String(), "ready 30 s after it started")
	assert.Equal(t, 30*time.Second, e.clock.Since(start))
}

func TestMassStorageTree(t *testing.T) {
	e := newEnv(t)
	m, h, disk := e.bootToSecondStage(usbsim.CM3())
	h.serve(map[string][]byte{"start.elf": []byte("start")})
	e.clock.Advance(usbsim.CM3().Timing.MassStorage)
	d, ok := e.find()
	require.True(t, ok)
	assert.Equal(t, usb.DeviceInfo{Port: port, Bus: 1, Address: 4, VendorID: 0x0a5c, ProductID: 0x0001, NumInterfaces: 1}, d)
	require.Equal(t, "sda", m.BlockDevice())

	usbDir := "sys/devices/platform/soc/usb1/1-1/1-1.2"
	scsi := usbDir + "/1-1.2:1.0/host0/target0:0:0/0:0:0:0"
	files := map[string]string{
		usbDir + "/idVendor":         "0a5c\n",
		usbDir + "/idProduct":        "0001\n",
		usbDir + "/busnum":           "1\n",
		usbDir + "/devnum":           "4\n",
		usbDir + "/bNumInterfaces":   " 1\n",
		scsi + "/vendor":             "RPi-MSD-\n",
		scsi + "/model":              "0001            \n",
		scsi + "/block/sda/size":     fmt.Sprintf("%d\n", (8<<20)/512),
		"sys/block/sda/device/model": "0001            \n",
	}
	for p, want := range files {
		b, err := os.ReadFile(filepath.Join(e.root, p))
		if assert.NoError(t, err, p) {
			assert.Equal(t, want, string(b), p)
		}
	}
	_, err := os.Stat(filepath.Join(e.root, usbDir, "serial"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no serial string, no serial attribute")
	links := map[string]string{
		"sys/bus/usb/devices/1-1.2": "../../../devices/platform/soc/usb1/1-1/1-1.2",
		"sys/block/sda":             "../devices/platform/soc/usb1/1-1/1-1.2/1-1.2:1.0/host0/target0:0:0/0:0:0:0/block/sda",
		scsi + "/block/sda/device":  "../../../0:0:0:0",
		"dev/sda":                   disk,
	}
	for p, want := range links {
		got, err := os.Readlink(filepath.Join(e.root, p))
		if assert.NoError(t, err, p) {
			assert.Equal(t, want, got, p)
		}
	}
	desc, err := os.ReadFile(filepath.Join(e.root, usbDir, "descriptors"))
	require.NoError(t, err)
	assert.Equal(t, []byte{18, 1, 0x00, 0x02, 0, 0, 0, 64, 0x5c, 0x0a, 0x01, 0x00}, desc[:12])

	f, err := os.OpenFile(filepath.Join(e.root, "dev", "sda"), os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("image"), 512)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	e.bus.Detach(port)
	for _, p := range []string{"sys/bus/usb/devices/1-1.2", "sys/block/sda", "dev/sda", usbDir} {
		_, err := os.Lstat(filepath.Join(e.root, p))
		assert.ErrorIs(t, err, os.ErrNotExist, "%s after Detach", p)
	}
	b, err := os.ReadFile(disk)
	require.NoError(t, err, "the disk file stays")
	assert.Equal(t, "image", string(b[512:517]))
	assert.Equal(t, usbsim.StateUnplugged, m.State())
}

func TestMassStorageGadgetTree(t *testing.T) {
	e := newEnv(t)
	e.bus.AttachOther("1-1.1", usbsim.Other{VendorID: 0x046d, ProductID: 0xc31c})
	m, h, _ := e.bootToSecondStage(usbsim.CM4())
	h.serve(map[string][]byte{"bootmain": []byte("b"), "boot.img": []byte("i")})
	e.clock.Advance(usbsim.CM4().Timing.MassStorage)
	d, ok := e.find()
	require.True(t, ok)
	assert.Equal(t, uint16(0x0104), d.ProductID)
	assert.Equal(t, "10000000af04b2da", d.Serial, "the gadget reports the whole CPU serial")
	assert.True(t, strings.HasSuffix(d.Serial, "af04b2da"))

	usbDir := filepath.Join(e.root, "sys/devices/platform/soc/usb1/1-1/1-1.2")
	for name, want := range map[string]string{
		"serial": "10000000af04b2da\n",
		"1-1.2:1.0/host0/target0:0:0/0:0:0:0/vendor": "mmcblk0 \n",
	} {
		b, err := os.ReadFile(filepath.Join(usbDir, name))
		require.NoError(t, err)
		assert.Equal(t, want, string(b))
	}
	assert.Equal(t, "sda", m.BlockDevice())
}

func TestDiskNamesAndHosts(t *testing.T) {
	e := newEnv(t)
	var mods []*usbsim.Module
	for _, p := range []string{"1-1.1", "1-1.2", "2-1.3.1"} {
		m := e.bus.Attach(p, usbsim.CM3(), usbsim.Disk{Path: filepath.Join(t.TempDir(), "emmc"), Size: 1 << 20})
		mods = append(mods, m)
		devs, err := e.bus.Devices(context.Background())
		require.NoError(t, err)
		for _, d := range devs {
			if d.Port != p {
				continue
			}
			dev, err := e.bus.Open(context.Background(), d)
			require.NoError(t, err)
			h := host{t: t, dev: dev, ep: 0x01}
			require.NoError(t, dev.Claim(0))
			require.Equal(t, int32(0), h.uploadROM(testImage()))
			require.NoError(t, dev.Close())
		}
	}
	e.clock.Advance(2 * time.Second)
	devs, err := e.bus.Devices(context.Background())
	require.NoError(t, err)
	for _, d := range devs {
		dev, err := e.bus.Open(context.Background(), d)
		require.NoError(t, err)
		require.NoError(t, dev.Claim(0))
		host{t: t, dev: dev, ep: 0x01}.serve(map[string][]byte{"start.elf": []byte("s")})
		require.NoError(t, dev.Close())
	}
	e.clock.Advance(2 * time.Second)
	assert.Equal(t, []string{"sda", "sdb", "sdc"}, []string{mods[0].BlockDevice(), mods[1].BlockDevice(), mods[2].BlockDevice()})
	target, err := os.Readlink(filepath.Join(e.root, "sys/block/sdc"))
	require.NoError(t, err)
	assert.Equal(t, "../devices/platform/soc/usb2/2-1/2-1.3/2-1.3.1/2-1.3.1:1.0/host2/target2:0:0/2:0:0:0/block/sdc", target)

	e.bus.Detach("1-1.1")
	m := e.bus.Attach("1-1.1", usbsim.CM3(), usbsim.Disk{Path: filepath.Join(t.TempDir(), "emmc"), Size: 1 << 20})
	assert.Equal(t, usbsim.StateROM, m.State())
	assert.Empty(t, m.BlockDevice())
}

func TestDetachInterruptsATransfer(t *testing.T) {
	e := newEnv(t)
	e.attach(usbsim.CM4())
	h, _ := e.open()
	done := make(chan error, 1)
	go func() {
		_, err := h.read(4, time.Hour) // before the upload: the ROM never answers
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.clock.BlockUntilContext(ctx, 1), "the read waits on the clock")
	e.bus.Detach(port)
	assert.ErrorIs(t, <-done, usb.ErrNoDevice)
	_, ok := e.find()
	assert.False(t, ok)
}

func TestFaults(t *testing.T) {
	t.Run("stall halts the endpoint until cleared", func(t *testing.T) {
		e := newEnv(t)
		m, _ := e.attach(usbsim.CM4())
		m.Inject(usbsim.Fault{Kind: usbsim.FaultStall, Op: usbsim.OpBulkOut})
		h, _ := e.open()
		require.NoError(t, h.announce(24))
		msg := append(bootMessage(100), make([]byte, 20)...)
		_, err := h.bulk(msg)
		assert.ErrorIs(t, err, usb.ErrStall)
		_, err = h.bulk(msg)
		assert.ErrorIs(t, err, usb.ErrStall, "still halted")
		_, err = h.dev.Control(0x02, 0x01, 0, 0x01, nil, time.Second)
		require.NoError(t, err, "CLEAR_FEATURE(ENDPOINT_HALT)")
		n, err := h.bulk(msg)
		require.NoError(t, err)
		assert.Equal(t, 24, n)
	})
	t.Run("ClearHalt un-halts too", func(t *testing.T) {
		e := newEnv(t)
		m, _ := e.attach(usbsim.CM4())
		m.Inject(usbsim.Fault{Kind: usbsim.FaultStall, Op: usbsim.OpBulkOut})
		h, _ := e.open()
		require.NoError(t, h.announce(24))
		_, err := h.bulk(make([]byte, 24))
		assert.ErrorIs(t, err, usb.ErrStall)
		hc, ok := h.dev.(interface{ ClearHalt(uint8) error })
		require.True(t, ok)
		assert.ErrorIs(t, hc.ClearHalt(0x05), usb.ErrStall, "no such endpoint")
		require.NoError(t, hc.ClearHalt(0x01))
		_, err = h.bulk(make([]byte, 24))
		require.NoError(t, err)
		last := m.Transcript()
		assert.Equal(t, "1-1.2 dev 2 0a5c:2711 clear-halt ep=0x01", last[len(last)-2].String())
	})
	t.Run("timeout takes the timeout", func(t *testing.T) {
		e := newEnv(t)
		e.drive()
		m, _ := e.attach(usbsim.CM4())
		m.Inject(usbsim.Fault{Kind: usbsim.FaultTimeout, Stage: usbsim.StateROM, Op: usbsim.OpControlOut, N: 2, Times: 2})
		h, _ := e.open()
		start := e.clock.Now()
		require.NoError(t, h.announce(24))
		assert.ErrorIs(t, h.announce(24), usb.ErrTimeout)
		assert.ErrorIs(t, h.announce(24), usb.ErrTimeout)
		assert.Equal(t, 2*time.Second, e.clock.Since(start))
		assert.ErrorIs(t, h.announce(24), usb.ErrStall, "the fault is over; a second announce 24 is a protocol error")
	})
	t.Run("vanish", func(t *testing.T) {
		e := newEnv(t)
		m, _ := e.attach(usbsim.CM4())
		m.Inject(usbsim.Fault{Kind: usbsim.FaultVanish, Op: usbsim.OpBulkOut})
		h, _ := e.open()
		require.NoError(t, h.announce(24))
		n, err := h.bulk(make([]byte, 24))
		assert.ErrorIs(t, err, usb.ErrNoDevice)
		assert.Equal(t, 12, n, "half went through")
		assert.Equal(t, usbsim.StateUnplugged, m.State())
		_, ok := e.find()
		assert.False(t, ok)
		e.clock.Advance(time.Hour)
		_, ok = e.find()
		assert.False(t, ok, "it never comes back")
	})
	t.Run("ROM enumerates twice", func(t *testing.T) {
		e := newEnv(t)
		p := usbsim.CM4()
		p.Quirks.ROMEnumeratesTwice = true
		e.attach(p)
		first, _ := e.find()
		_, err := e.bus.Open(context.Background(), first)
		require.ErrorIs(t, err, usb.ErrNoDevice)
		second, ok := e.find()
		require.True(t, ok)
		assert.NotEqual(t, first.Address, second.Address)
		assert.Equal(t, first.SerialIndex, second.SerialIndex)
		dev, err := e.bus.Open(context.Background(), second)
		require.NoError(t, err)
		require.NoError(t, dev.Close())
	})
	t.Run("never re-enumerates", func(t *testing.T) {
		e := newEnv(t)
		p := usbsim.CM4()
		p.Quirks.NeverReenumerate = true
		m, _ := e.attach(p)
		h, _ := e.open()
		require.Equal(t, int32(0), h.uploadROM(testImage()))
		e.clock.Advance(time.Hour)
		_, ok := e.find()
		assert.False(t, ok)
		assert.Equal(t, usbsim.StateOffline, m.State())
	})
}

func TestOtherDevices(t *testing.T) {
	e := newEnv(t)
	e.bus.AttachOther(port, usbsim.Other{VendorID: 0x046d, ProductID: 0xc31c})
	d, ok := e.find()
	require.True(t, ok)
	assert.Equal(t, usb.DeviceInfo{Port: port, Bus: 1, Address: 2, VendorID: 0x046d, ProductID: 0xc31c, NumInterfaces: 1}, d)
	dev, err := e.bus.Open(context.Background(), d)
	require.NoError(t, err)
	require.NoError(t, dev.Claim(0))
	_, err = dev.Control(0x40, 0, 24, 0, nil, time.Second)
	assert.ErrorIs(t, err, usb.ErrStall)
	_, err = dev.BulkOut(0x01, []byte{1}, time.Second)
	assert.ErrorIs(t, err, usb.ErrStall)
	require.NoError(t, dev.Close())
	_, err = dev.BulkOut(0x01, []byte{1}, time.Second)
	assert.ErrorIs(t, err, usbsim.ErrClosed)

	var kinds []string
	for _, op := range e.bus.Transcript() {
		kinds = append(kinds, op.Kind.String())
	}
	assert.Equal(t, []string{"open", "claim", "control-out", "bulk-out", "close", "bulk-out"}, kinds)
	e.bus.Detach(port)
	_, err = e.bus.Open(context.Background(), d)
	assert.ErrorIs(t, err, usb.ErrNoDevice)
}

func TestClaimBusy(t *testing.T) {
	e := newEnv(t)
	e.attach(usbsim.CM4())
	_, d := e.open()
	dev, err := e.bus.Open(context.Background(), d)
	require.NoError(t, err)
	defer dev.Close()
	assert.ErrorIs(t, dev.Claim(0), usb.ErrBusy)
	assert.Error(t, dev.Claim(1), "no interface 1")
}

func TestTranscript(t *testing.T) {
	e := newEnv(t)
	m, _ := e.attach(usbsim.CM4())
	h, _ := e.open()
	require.NoError(t, h.announce(24))
	_, err := h.bulk(append(bootMessage(4096), make([]byte, 20)...))
	require.NoError(t, err)
	ops := m.Transcript()
	require.Len(t, ops, 4)
	want := []string{
		"1-1.2 dev 2 0a5c:2711 open",
		"1-1.2 dev 2 0a5c:2711 claim 0",
		"1-1.2 dev 2 0a5c:2711 control-out type=0x40 req=0x00 value=0x0018 index=0x0000 len=0 timeout=1s -> 0: announce 24: boot message",
		"1-1.2 dev 2 0a5c:2711 bulk-out ep=0x01 len=24 timeout=5s -> 24 crc=a2b34c6c: boot message: image length 4096",
	}
	for i, op := range ops {
		assert.Equal(t, want[i], op.String())
		assert.Equal(t, i+1, op.Seq)
	}
	assert.Equal(t, ops, e.bus.Transcript())

	e.drive()
	_, err = h.read(4, time.Second)
	require.ErrorIs(t, err, usb.ErrTimeout)
	last := m.Transcript()[4]
	assert.Contains(t, last.String(), `error="usbsim: control-in: usb: transfer timed out": read before the upload is complete`)
	assert.True(t, errors.Is(last.Err, usb.ErrTimeout))
}

func TestTranscriptIsBounded(t *testing.T) {
	e := newEnv(t)
	m, _ := e.attach(usbsim.CM4())
	_, d := e.open()
	opens := usbsim.TranscriptLimit/2 + 100 // two operations each: open, close
	for range opens {
		dev, err := e.bus.Open(context.Background(), d)
		require.NoError(t, err)
		require.NoError(t, dev.Close())
	}
	for name, ops := range map[string][]usbsim.Op{"bus": e.bus.Transcript(), "module": m.Transcript()} {
		require.LessOrEqual(t, len(ops), usbsim.TranscriptLimit, name)
		require.Greater(t, len(ops), usbsim.TranscriptLimit/2, name)
		last := ops[len(ops)-1]
		assert.Equal(t, usbsim.OpClose, last.Kind, name)
		// Sequence numbers keep counting across the dropped operations,
		// and what is kept is the newest, without a gap.
		assert.Equal(t, 2+2*opens, last.Seq, name) // e.open's open and claim, then the loop's
		for i := 1; i < len(ops); i++ {
			require.Equal(t, ops[i-1].Seq+1, ops[i].Seq, name)
		}
	}
}
