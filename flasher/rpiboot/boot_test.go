package rpiboot

import (
	"context"
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

const port = "1-1.2"

// msgFiles are the files a BCM2711/2 second stage loads with the
// mass-storage-gadget, by request name, as fixture keys.
func msgFiles(soc string, memsys int) map[string]string {
	m := map[string]string{
		"mcb.bin":    soc + "/mcb.bin",
		"bootmain":   soc + "/bootmain",
		"config.txt": "msg/config.txt",
		"boot.img":   "msg/boot.img",
	}
	for i := range memsys {
		n := fmt.Sprintf("memsys%02d.bin", i)
		m[n] = soc + "/" + n
	}
	return m
}

func TestBootModules(t *testing.T) {
	tests := []struct {
		name        string
		profile     func() usbsim.Profile
		payload     Payload
		wantChip    Chip
		wantPayload Payload
		wantProduct uint16
		wantSerial  string
		wantVendor  string
		bootcode    string            // fixture key
		loaded      map[string]string // request name → fixture key
	}{
		{
			name: "CM3", profile: usbsim.CM3,
			wantChip: BCM2837, wantPayload: PayloadLegacyMSD, wantProduct: 0x0001, wantVendor: "RPi-MSD-\n",
			bootcode: "msd/bootcode.bin", loaded: map[string]string{"start.elf": "msd/start.elf"},
		},
		{
			name: "CM3 with two ROM interfaces", profile: usbsim.CM3TwoInterfaces,
			wantChip: BCM2837, wantPayload: PayloadLegacyMSD, wantProduct: 0x0001, wantVendor: "RPi-MSD-\n",
			bootcode: "msd/bootcode.bin", loaded: map[string]string{"start.elf": "msd/start.elf"},
		},
		{
			name: "CM4 mass-storage-gadget", profile: usbsim.CM4,
			wantChip: BCM2711, wantPayload: PayloadMassStorageGadget, wantProduct: 0x0104, wantSerial: "af04b2da", wantVendor: "mmcblk0 \n",
			bootcode: "2711/bootcode4.bin", loaded: msgFiles("2711", 9),
		},
		{
			name: "CM4 legacy msd",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Payload = usbsim.LegacyMSD
				return p
			},
			payload:  PayloadLegacyMSD,
			wantChip: BCM2711, wantPayload: PayloadLegacyMSD, wantProduct: 0x0001, wantSerial: "af04b2da", wantVendor: "RPi-MSD-\n",
			bootcode: "msd/bootcode4.bin", loaded: map[string]string{"start4.elf": "msd/start.elf"},
		},
		{
			name: "CM5", profile: usbsim.CM5,
			wantChip: BCM2712, wantPayload: PayloadMassStorageGadget, wantProduct: 0x0104, wantSerial: "5e1ac5c5", wantVendor: "mmcblk0 \n",
			bootcode: "2712/bootcode5.bin", loaded: msgFiles("2712", 4),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			m := r.attach(port, tt.profile())
			opts := r.opts()
			opts.Payload = tt.payload
			res, err := r.boot(port, opts)
			require.NoError(t, err)

			assert.Equal(t, port, res.Port)
			assert.Equal(t, tt.wantChip, res.Chip)
			assert.Equal(t, tt.wantPayload, res.Payload)
			assert.Equal(t, tt.wantSerial, res.Serial)
			assert.Equal(t, uint16(0x0a5c), res.Device.VendorID)
			assert.Equal(t, tt.wantProduct, res.Device.ProductID)
			assert.Equal(t, port, res.Device.Port)
			assert.Equal(t, usbsim.StateMassStorage, m.State())

			assert.Equal(t, r.fw.files[tt.bootcode], m.Bootcode(), "the ROM got %s", tt.bootcode)
			want := map[string][32]byte{}
			for name, key := range tt.loaded {
				want[name] = digest(r.fw.files[key])
			}
			got := map[string][32]byte{}
			for _, f := range m.Files() {
				if f.Size > 0 {
					got[f.Name] = f.SHA256
				}
			}
			assert.Equal(t, want, got, "files the second stage loaded")

			checkDisk(t, r, m, tt.wantProduct, tt.wantVendor)
		})
	}
}

// checkDisk checks the mass-storage module's sysfs and /dev entries and
// that writes through /dev land in its disk file.
func checkDisk(t *testing.T, r *rig, m *usbsim.Module, product uint16, vendor string) {
	t.Helper()
	name := m.BlockDevice()
	require.NotEmpty(t, name)
	sys := filepath.Join(r.root, "sys")
	read := func(p string) string {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return string(b)
	}
	assert.Equal(t, fmt.Sprintf("%04x\n", product), read(filepath.Join(sys, "bus", "usb", "devices", m.Port(), "idProduct")))
	assert.Equal(t, vendor, read(filepath.Join(sys, "block", name, "device", "vendor")))
	assert.Equal(t, fmt.Sprintf("%d\n", (64<<20)/512), read(filepath.Join(sys, "block", name, "size")))
	real, err := filepath.EvalSymlinks(filepath.Join(sys, "block", name))
	require.NoError(t, err)
	usbDev, err := filepath.EvalSymlinks(filepath.Join(sys, "bus", "usb", "devices", m.Port()))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(real, usbDev+string(filepath.Separator)), "%s is under %s", real, usbDev)

	dev, err := os.OpenFile(filepath.Join(r.root, "dev", name), os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = dev.WriteAt([]byte("flashed"), 4096)
	require.NoError(t, err)
	require.NoError(t, dev.Close())
	disk, err := filepath.EvalSymlinks(filepath.Join(r.root, "dev", name))
	require.NoError(t, err)
	f, err := os.Open(disk)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 7)
	_, err = f.ReadAt(b, 4096)
	require.NoError(t, err)
	assert.Equal(t, "flashed", string(b))
}

func TestBootFaults(t *testing.T) {
	type want struct {
		err  error  // errors.Is; nil: the boot succeeds
		step string // the failing step
		msg  string // a substring of the message
	}
	tests := []struct {
		name    string
		profile func() usbsim.Profile
		faults  []usbsim.Fault
		setup   func(r *rig, m *usbsim.Module, o *Opts)
		want    want
		check   func(t *testing.T, r *rig, m *usbsim.Module, res Result)
	}{
		{
			name:   "announce times out",
			faults: []usbsim.Fault{{Kind: usbsim.FaultTimeout, Stage: usbsim.StateROM, Op: usbsim.OpControlOut, N: 1}},
			want: want{err: usb.ErrTimeout, step: "send boot message: announce 24 bytes",
				msg: "rpiboot: port 1-1.2 (CM4 boot ROM 0a5c:2711): send boot message: announce 24 bytes: "},
		},
		{
			name:   "bulk chunk times out",
			faults: []usbsim.Fault{{Kind: usbsim.FaultTimeout, Stage: usbsim.StateROM, Op: usbsim.OpBulkOut, N: 3}},
			want:   want{err: usb.ErrTimeout, step: "send second stage", msg: "send second stage: bulk chunk 2/2: "},
		},
		{
			name:   "return code read times out",
			faults: []usbsim.Fault{{Kind: usbsim.FaultTimeout, Stage: usbsim.StateROM, Op: usbsim.OpControlIn, N: 1}},
			want:   want{err: usb.ErrTimeout, step: "read return code"},
		},
		{
			name:   "stall once is retried",
			faults: []usbsim.Fault{{Kind: usbsim.FaultStall, Stage: usbsim.StateROM, Op: usbsim.OpBulkOut, N: 2}},
			check: func(t *testing.T, r *rig, m *usbsim.Module, res Result) {
				assert.Equal(t, 1, countOps(m, func(o usbsim.Op) bool { return o.Kind == usbsim.OpClearHalt && o.Endpoint == 0x01 }), "one clear halt")
			},
		},
		{
			name:   "stall three times is retried",
			faults: []usbsim.Fault{{Kind: usbsim.FaultStall, Stage: usbsim.StateSecondStage, Op: usbsim.OpBulkOut, N: 4, Times: 3}},
		},
		{
			name:   "stall four times fails",
			faults: []usbsim.Fault{{Kind: usbsim.FaultStall, Stage: usbsim.StateROM, Op: usbsim.OpBulkOut, N: 3, Times: 4}},
			want: want{err: usb.ErrStall, step: "send second stage",
				msg: "rpiboot: port 1-1.2 (CM4 boot ROM 0a5c:2711): send second stage: bulk chunk 2/2: "},
		},
		{
			name:   "device vanishes mid-transfer in the ROM",
			faults: []usbsim.Fault{{Kind: usbsim.FaultVanish, Stage: usbsim.StateROM, Op: usbsim.OpBulkOut, N: 2}},
			want:   want{err: usb.ErrNoDevice, step: "send second stage", msg: "bulk chunk 1/2"},
			check: func(t *testing.T, r *rig, m *usbsim.Module, res Result) {
				assert.Equal(t, usbsim.StateUnplugged, m.State())
			},
		},
		{
			name: "device vanishes mid-transfer in the second stage",
			// Bulk transfers: mcb.bin, memsys00-08.bin, bootmain (3),
			// config.txt, then boot.img's 13 chunks.
			faults: []usbsim.Fault{{Kind: usbsim.FaultVanish, Stage: usbsim.StateSecondStage, Op: usbsim.OpBulkOut, N: 16}},
			want: want{err: usb.ErrNoDevice, step: "file server: ReadFile boot.img",
				msg: "rpiboot: port 1-1.2 (CM4 second stage 0a5c:2711): file server: ReadFile boot.img: bulk chunk 2/13: "},
		},
		{
			name: "never re-enumerates",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Quirks.NeverReenumerate = true
				return p
			},
			want: want{err: ErrDeadline, step: "wait for second stage",
				msg: "rpiboot: port 1-1.2 (CM4 boot ROM 0a5c:2711): wait for second stage: nothing after 10s: deadline exceeded"},
		},
		{
			name: "ROM enumerates twice and the first open fails",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Quirks.ROMEnumeratesTwice = true
				return p
			},
			check: func(t *testing.T, r *rig, m *usbsim.Module, res Result) {
				ops := m.Transcript()
				require.NotEmpty(t, ops)
				assert.Equal(t, usbsim.OpOpen, ops[0].Kind)
				assert.ErrorIs(t, ops[0].Err, usb.ErrNoDevice)
				assert.Equal(t, usbsim.OpOpen, ops[1].Kind)
				assert.NoError(t, ops[1].Err)
				assert.NotEqual(t, ops[0].Address, ops[1].Address)
			},
		},
		{
			name: "second stage drops off the bus instead of sending Done",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Quirks.SessionEnd = usbsim.EndDisconnect
				return p
			},
			check: checkSessionEnd(usb.ErrNoDevice),
		},
		{
			name: "second stage request read fails with an I/O error instead of Done",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Quirks.SessionEnd = usbsim.EndIOError
				return p
			},
			check: checkSessionEnd(usb.ErrIO),
		},
		{
			name: "second stage drops off the bus before its first request",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Quirks.SessionEnd = usbsim.EndDisconnect
				return p
			},
			setup: func(r *rig, m *usbsim.Module, o *Opts) { m.SetScript(nil) },
			want: want{err: usb.ErrNoDevice, step: "file server: read request",
				msg: "rpiboot: port 1-1.2 (CM4 second stage 0a5c:2711): file server: read request: "},
		},
		{
			name: "ROM loses the first two uploads",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Quirks.ROMLostUploads = 2
				return p
			},
			check: func(t *testing.T, r *rig, m *usbsim.Module, res Result) {
				assert.Equal(t, 3, m.Uploads())
				assert.Equal(t, r.fw.files["2711/bootcode4.bin"], m.Bootcode())
			},
		},
		{
			name: "ROM answers with a non-zero return code and starts the second stage",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Quirks.ROMReturnCode = 5
				return p
			},
			check: func(t *testing.T, r *rig, m *usbsim.Module, res Result) {
				assert.Equal(t, 1, m.Uploads())
			},
		},
		{
			name:   "request read times out once",
			faults: []usbsim.Fault{{Kind: usbsim.FaultTimeout, Stage: usbsim.StateSecondStage, Op: usbsim.OpControlIn, N: 3}},
		},
		{
			name:   "request read times out three times",
			faults: []usbsim.Fault{{Kind: usbsim.FaultTimeout, Stage: usbsim.StateSecondStage, Op: usbsim.OpControlIn, N: 3, Times: 3}},
			want:   want{err: usb.ErrTimeout, step: "file server: read request"},
		},
		{
			name: "busy second stage",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Payload = usbsim.LegacyMSD
				p.Quirks.RequestLatency = 25 * time.Second // longer than a read's 20 s
				return p
			},
			setup: func(r *rig, m *usbsim.Module, o *Opts) {
				o.Payload = PayloadLegacyMSD
				m.SetScript([]usbsim.Step{{Name: "start4.elf", Required: true}})
			},
		},
		{
			name: "slow second stage",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Timing.SecondStage = 9 * time.Second
				p.Timing.MassStorage = 55 * time.Second
				return p
			},
		},
		{
			name: "mass storage too slow",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Timing.MassStorage = 90 * time.Second
				return p
			},
			want: want{err: ErrDeadline, step: "wait for mass storage",
				msg: "rpiboot: port 1-1.2 (CM4 second stage 0a5c:2711): wait for mass storage: nothing after 1m0s: deadline exceeded"},
		},
		{
			name: "missing required file",
			setup: func(r *rig, m *usbsim.Module, o *Opts) {
				require.NoError(r.t, os.Remove(filepath.Join(r.fw.dir, "mass-storage-gadget64", "boot.img")))
			},
			want: want{err: ErrNotFound, step: "file server: GetFileSize boot.img"},
			check: func(t *testing.T, r *rig, m *usbsim.Module, res Result) {
				assert.Equal(t, usbsim.StateFailed, m.State())
				assert.Empty(t, m.BlockDevice())
			},
		},
		{
			name: "missing second stage",
			setup: func(r *rig, m *usbsim.Module, o *Opts) {
				o.Firmware = NewFirmware(makeFirmware(r.t, fixtureOpts{without: []string{"firmware/bootfiles.bin:2711/bootcode4.bin", "msd/bootcode4.bin"}}).dir)
			},
			want: want{err: ErrNotFound, step: "load second stage", msg: "bootcode4.bin for CM4, mass-storage-gadget64: not in mass-storage-gadget64/2711/bootcode4.bin, "},
			check: func(t *testing.T, r *rig, m *usbsim.Module, res Result) {
				assert.Empty(t, m.Transcript(), "nothing was sent")
			},
		},
		{
			name: "ROM rejects the second stage every time",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Quirks.ROMReturnCode = 5
				p.Quirks.ROMRejectsUpload = true
				return p
			},
			want: want{err: ErrReturnCode, step: "send second stage",
				msg: "rpiboot: port 1-1.2 (CM4 boot ROM 0a5c:2711): send second stage: the ROM is still there after 3 uploads, the last answered with return code 5 (0x00000005): upload rejected"},
			check: func(t *testing.T, r *rig, m *usbsim.Module, res Result) {
				assert.Equal(t, maxROMUploads, m.Uploads())
				assert.Equal(t, usbsim.StateROM, m.State())
			},
		},
		{
			name: "ROM loses every upload",
			profile: func() usbsim.Profile {
				p := usbsim.CM4()
				p.Quirks.ROMLostUploads = maxROMUploads
				return p
			},
			want: want{err: ErrUploadLost, step: "send second stage",
				msg: "rpiboot: port 1-1.2 (CM4 boot ROM 0a5c:2711): send second stage: the ROM came back after each of 3 uploads: upload lost"},
			check: func(t *testing.T, r *rig, m *usbsim.Module, res Result) {
				assert.Equal(t, maxROMUploads, m.Uploads())
			},
		},

		{
			name:    "legacy msd on a CM5",
			profile: usbsim.CM5,
			setup:   func(r *rig, m *usbsim.Module, o *Opts) { o.Payload = PayloadLegacyMSD },
			want:    want{err: ErrUnsupported, step: "choose payload"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			p := usbsim.CM4()
			if tt.profile != nil {
				p = tt.profile()
			}
			m := r.attach(port, p)
			for _, f := range tt.faults {
				m.Inject(f)
			}
			opts := r.opts()
			if tt.setup != nil {
				tt.setup(r, m, opts)
			}
			res, err := r.boot(port, opts)
			if tt.want.err == nil {
				require.NoError(t, err)
				assert.Equal(t, usbsim.StateMassStorage, m.State())
				assert.NotEmpty(t, m.BlockDevice())
			} else {
				require.ErrorIs(t, err, tt.want.err)
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, port, e.Port)
				assert.Equal(t, tt.want.step, e.Step)
				assert.Contains(t, err.Error(), tt.want.msg)
			}
			if tt.check != nil {
				tt.check(t, r, m, res)
			}
		})
	}
}

// checkSessionEnd checks a session that ended when the request read
// after the last file failed with want: every file was served, no Done
// came, and the module became a disk.
func checkSessionEnd(want error) func(t *testing.T, r *rig, m *usbsim.Module, res Result) {
	return func(t *testing.T, r *rig, m *usbsim.Module, res Result) {
		require.NotEmpty(t, res.Files)
		assert.Equal(t, FileRequest{Command: CommandReadFile, Name: "boot.img", Size: 200000, Source: "mass-storage-gadget64/boot.img"}, res.Files[len(res.Files)-1])
		var last usbsim.Op
		for _, op := range m.Transcript() {
			if op.Kind == usbsim.OpControlIn {
				last = op
			}
			assert.NotEqual(t, "request Done", op.Note)
		}
		assert.ErrorIs(t, last.Err, want, "the last request read")
		assert.Equal(t, uint16(0x0104), res.Device.ProductID)
	}
}

// countOps counts the operations on m that match.
func countOps(m *usbsim.Module, match func(usbsim.Op) bool) int {
	n := 0
	for _, o := range m.Transcript() {
		if match(o) {
			n++
		}
	}
	return n
}

func TestBootIgnoresOtherDevices(t *testing.T) {
	r := newRig(t)
	r.bus.AttachOther("1-1.1", usbsim.Other{VendorID: 0x046d, ProductID: 0xc31c})                              // a keyboard
	r.bus.AttachOther("1-1.3", usbsim.Other{VendorID: 0x1234, ProductID: 0x2711, SerialIndex: 3, Serial: "x"}) // another vendor's 2711
	r.bus.AttachOther("1-1.5", usbsim.Other{VendorID: 0x0a5c, ProductID: 0x21e8})                              // a Broadcom dongle
	other := r.attach("1-1.4", usbsim.CM4())
	m := r.attach(port, usbsim.CM4())

	res, err := r.boot(port, r.opts())
	require.NoError(t, err)
	assert.Equal(t, port, res.Device.Port)
	assert.Equal(t, usbsim.StateMassStorage, m.State())
	assert.Equal(t, usbsim.StateROM, other.State(), "the module on another port was left alone")
	for _, op := range r.bus.Transcript() {
		assert.Equal(t, port, op.Port, "operation on another port: %s", op)
	}
}

func TestBootAnyPort(t *testing.T) {
	r := newRig(t)
	r.bus.AttachOther("1-1.1", usbsim.Other{VendorID: 0x046d, ProductID: 0xc31c})
	m := r.attach("1-1.3", usbsim.CM3())
	res, err := r.boot("", r.opts())
	require.NoError(t, err)
	assert.Equal(t, "1-1.3", res.Port)
	assert.Equal(t, usbsim.StateMassStorage, m.State())
}

func TestBootAlreadyMassStorage(t *testing.T) {
	r := newRig(t)
	m := r.attach(port, usbsim.CM4())
	first, err := r.boot(port, r.opts())
	require.NoError(t, err)
	ops := len(m.Transcript())

	again, err := r.boot(port, r.opts())
	require.NoError(t, err)
	assert.Equal(t, first.Device, again.Device)
	assert.Equal(t, ChipUnknown, again.Chip)
	assert.Equal(t, PayloadMassStorageGadget, again.Payload)
	assert.Len(t, m.Transcript(), ops, "the disk was not touched")
}

func TestBootNoDevice(t *testing.T) {
	r := newRig(t)
	r.bus.AttachOther(port, usbsim.Other{VendorID: 0x046d, ProductID: 0xc31c})
	_, err := r.boot(port, r.opts())
	require.ErrorIs(t, err, ErrDeadline)
	assert.EqualError(t, err, "rpiboot: port 1-1.2: find boot ROM: nothing after 10s, the port has 046d:c31c: deadline exceeded")
}

func TestBootMetadataAndUnsafeNames(t *testing.T) {
	r := newRig(t)
	p := usbsim.CM4()
	m := r.attach(port, p)
	script := append([]usbsim.Step{
		{Name: "*MAC_ADDR*d8:3a:dd:00:00:01"},
		{Name: "../../etc/shadow"},
		{Name: "/etc/passwd"},
		{Name: "*BOARD_ATTR*0"},
	}, usbsim.Script(p)...)
	m.SetScript(append(script, usbsim.Step{Name: ""})) // ends with an empty name, not Done

	res, err := r.boot(port, r.opts())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"MAC_ADDR": "d8:3a:dd:00:00:01", "BOARD_ATTR": "0"}, res.Metadata)
	assert.Equal(t, []string{"*MAC_ADDR*d8:3a:dd:00:00:01", "*BOARD_ATTR*0"}, m.Metadata())
	assert.Contains(t, res.Files, FileRequest{Command: CommandGetFileSize, Name: "../../etc/shadow"})
	assert.Contains(t, res.Files, FileRequest{Command: CommandGetFileSize, Name: "/etc/passwd"})
	assert.Contains(t, m.Files(), usbsim.File{Name: "../../etc/shadow"}, "answered as missing")
	assert.Contains(t, res.Files, FileRequest{Command: CommandReadFile, Name: "boot.img", Size: 200000, Source: "mass-storage-gadget64/boot.img"})
	assert.Contains(t, res.Files, FileRequest{Command: CommandReadFile, Name: "bootmain", Size: 40000, Source: "mass-storage-gadget64/bootfiles.bin:2711/bootmain"})
}

func TestWaitForNamesTheDeviceOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		current string
		want    string
	}{
		{"the device the error names", "CM4 boot ROM 0a5c:2711",
			"rpiboot: port 1-1.2 (CM4 boot ROM 0a5c:2711): wait for second stage: nothing after 10s, the port still has it: deadline exceeded"},
		{"another device", "CM4 second stage 0a5c:2711",
			"rpiboot: port 1-1.2 (CM4 second stage 0a5c:2711): wait for second stage: nothing after 10s, the port has CM4 boot ROM 0a5c:2711: deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			r.attach(port, usbsim.CM4())
			s := newSession(r.bus, port, r.opts())
			s.chip, s.current = BCM2711, tt.current
			_, err := s.waitFor(context.Background(), "wait for second stage", 10*time.Second, is(StageFileServer))
			require.ErrorIs(t, err, ErrDeadline)
			assert.EqualError(t, err, tt.want)
		})
	}
}

func TestBootCanceled(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Boot(ctx, r.bus, port, r.opts())
	require.ErrorIs(t, err, context.Canceled)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "find boot ROM", e.Step)
}

func TestBootDetachedMidBoot(t *testing.T) {
	r := newRig(t)
	m := r.attach(port, usbsim.CM4())
	// The second stage never answers, and the host would wait a day.
	m.Inject(usbsim.Fault{Kind: usbsim.FaultTimeout, Stage: usbsim.StateSecondStage, Op: usbsim.OpControlIn, Times: 1000})
	opts := r.opts()
	opts.Timeouts.Read = 24 * time.Hour
	done := make(chan error, 1)
	go func() {
		_, err := r.boot(port, opts)
		done <- err
	}()
	// Unplug once the host has claimed the second stage and reads.
	require.Eventually(t, func() bool {
		ops := m.Transcript()
		return len(ops) > 0 && ops[len(ops)-1].Kind == usbsim.OpClaim && m.State() == usbsim.StateSecondStage
	}, 10*time.Second, time.Millisecond)
	r.bus.Detach(port)
	err := <-done
	require.ErrorIs(t, err, usb.ErrNoDevice)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "file server: read request", e.Step)
	assert.Equal(t, usbsim.StateUnplugged, m.State())
}
