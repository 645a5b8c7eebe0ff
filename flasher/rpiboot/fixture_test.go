package rpiboot

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// fakeBytes is n deterministic pseudo-random bytes, different per name.
func fakeBytes(name string, n int) []byte {
	h := fnv.New64a()
	h.Write([]byte(name))
	r := rand.New(rand.NewPCG(h.Sum64(), uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// firmwareFixture is a synthetic firmware directory laid out like
// usbboot's, with made-up bytes: none of Raspberry Pi's binaries.
type firmwareFixture struct {
	dir string
	// files maps the names the devices ask for, per soc, to their bytes:
	// "2711/bootmain", "msd/start.elf", "msg/boot.img".
	files map[string][]byte
}

// tarEntry is an entry of a synthetic archive.
type tarEntry struct {
	name string
	data []byte
	kind byte // tar.TypeReg if zero
}

// makeTar builds a ustar archive as usbboot's bootfiles.bin is.
func makeTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: e.kind, ModTime: time.Unix(1700000000, 0), Format: tar.FormatUSTAR}
		switch e.kind {
		case 0:
			hdr.Typeflag = tar.TypeReg
		case tar.TypeDir, tar.TypeSymlink:
			hdr.Size = 0
			hdr.Linkname = string(e.data)
			if e.kind == tar.TypeDir {
				hdr.Linkname = ""
			}
		}
		require.NoError(t, w.WriteHeader(hdr))
		if hdr.Size > 0 {
			_, err := w.Write(e.data)
			require.NoError(t, err)
		}
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// fixtureOpts removes files from the standard fixture.
type fixtureOpts struct {
	without []string // paths relative to the firmware directory
}

// makeFirmware writes the synthetic firmware directory:
//
//	msd/bootcode.bin, msd/bootcode4.bin, msd/start.elf   (no start4.elf:
//	    the CM4 gets start.elf, as from rpiboot's embedded copy)
//	firmware/bootfiles.bin   2711/{bootcode4.bin,bootmain,mcb.bin,memsys00-08.bin}
//	                         2712/{bootcode5.bin,bootmain,mcb.bin,memsys00-03.bin}
//	mass-storage-gadget64/bootfiles.bin -> ../firmware/bootfiles.bin
//	mass-storage-gadget64/{config.txt,boot.img}
//
// Sizes make several 16 KiB chunks and lengths over 64 KiB.
func makeFirmware(t testing.TB, o fixtureOpts) *firmwareFixture {
	t.Helper()
	f := &firmwareFixture{dir: t.TempDir(), files: map[string][]byte{}}
	skip := map[string]bool{}
	for _, w := range o.without {
		skip[w] = true
	}
	write := func(rel string, b []byte) {
		if skip[rel] {
			return
		}
		p := filepath.Join(f.dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, b, 0o644))
	}
	msd := map[string]int{"bootcode.bin": 20000, "bootcode4.bin": 70000, "start.elf": 50000}
	for name, n := range msd {
		f.files["msd/"+name] = fakeBytes("msd/"+name, n)
		write("msd/"+name, f.files["msd/"+name])
	}
	var entries []tarEntry
	add := func(soc, name string, n int) {
		key := soc + "/" + name
		f.files[key] = fakeBytes(key, n)
		if !skip["firmware/bootfiles.bin:"+key] {
			entries = append(entries, tarEntry{name: key, data: f.files[key]})
		}
	}
	for _, soc := range []string{"2711", "2712"} {
		add(soc, map[string]string{"2711": "bootcode4.bin", "2712": "bootcode5.bin"}[soc], 30000)
		add(soc, "bootmain", 40000)
		add(soc, "mcb.bin", 3000)
		memsys := map[string]int{"2711": 9, "2712": 4}[soc]
		for i := range memsys {
			add(soc, fmt.Sprintf("memsys%02d.bin", i), 1000+100*i)
		}
	}
	write("firmware/bootfiles.bin", makeTar(t, entries))
	if !skip["mass-storage-gadget64/bootfiles.bin"] {
		require.NoError(t, os.MkdirAll(filepath.Join(f.dir, "mass-storage-gadget64"), 0o755))
		require.NoError(t, os.Symlink("../firmware/bootfiles.bin", filepath.Join(f.dir, "mass-storage-gadget64", "bootfiles.bin")))
	}
	f.files["msg/config.txt"] = []byte("boot_ramdisk=1\nuart_2ndstage=1\n")
	write("mass-storage-gadget64/config.txt", f.files["msg/config.txt"])
	f.files["msg/boot.img"] = fakeBytes("boot.img", 200000)
	write("mass-storage-gadget64/boot.img", f.files["msg/boot.img"])
	return f
}

// rig is a simulated bus on a fake clock that runs by itself.
type rig struct {
	t     *testing.T
	clock *clockwork.FakeClock
	bus   *usbsim.Bus
	root  string
	fw    *firmwareFixture
	log   *slog.Logger
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{
		t:     t,
		clock: clockwork.NewFakeClockAt(time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)),
		root:  t.TempDir(),
		fw:    makeFirmware(t, fixtureOpts{}),
		log:   slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	r.bus = usbsim.New(&usbsim.Opts{Clock: r.clock, Root: r.root, Logger: r.log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		usbsim.DriveClock(ctx, r.clock, 10*time.Millisecond)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		require.NoError(t, r.bus.Close())
	})
	return r
}

// attach plugs a module with a 64 MiB disk into port.
func (r *rig) attach(port string, p usbsim.Profile) *usbsim.Module {
	disk := usbsim.Disk{Path: filepath.Join(r.t.TempDir(), "emmc.img"), Size: 64 << 20}
	return r.bus.Attach(port, p, disk)
}

// opts are Boot options on the rig's clock and firmware.
func (r *rig) opts() *Opts {
	return &Opts{Firmware: NewFirmware(r.fw.dir), Clock: r.clock, Logger: r.log}
}

// boot runs Boot with a real-time safety net.
func (r *rig) boot(port string, opts *Opts) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return Boot(ctx, r.bus, port, opts)
}

// digest is the SHA-256 of b.
func digest(b []byte) [32]byte { return sha256.Sum256(b) }
