package bmc_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal/sim"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// usbRig is a simulated board whose CM4s boot over a simulated USB bus
// through the real rpiboot host, slot 4 empty.
type usbRig struct {
	hw     *sim.Board
	board  *bmc.Board
	emmc   string // directory of the eMMC files
	booter *bmc.RPiBooter
}

func newUSBRig(t *testing.T, topology sim.USBTopology, parallel bool, mod ...func(*bmc.Config)) *usbRig {
	t.Helper()
	return newUSBRigSize(t, topology, parallel, 4<<20, mod...)
}

// newUSBRigSize is newUSBRig with eMMCs of diskSize bytes.
func newUSBRigSize(t *testing.T, topology sim.USBTopology, parallel bool, diskSize int64, mod ...func(*bmc.Config)) *usbRig {
	t.Helper()
	root, fw, emmc := t.TempDir(), t.TempDir(), t.TempDir()
	require.NoError(t, usbsim.WriteFirmware(fw))
	bus := usbsim.New(&usbsim.Opts{Root: root})
	t.Cleanup(func() { assert.NoError(t, bus.Close()) })
	p := usbsim.CM4()
	p.Timing = usbsim.Timing{Disconnect: 5 * time.Millisecond, SecondStage: 20 * time.Millisecond, MassStorage: 20 * time.Millisecond}
	hw, err := sim.New(&sim.Opts{Absent: []int{4}, USB: &sim.USB{
		Bus:      bus,
		Topology: topology,
		Module:   p,
		Disk: func(slot int) usbsim.Disk {
			return usbsim.Disk{Path: filepath.Join(emmc, fmt.Sprintf("slot%d.img", slot)), Size: diskSize}
		},
	}})
	require.NoError(t, err)
	booter := &bmc.RPiBooter{
		Bus:      bus,
		Ports:    map[int]string{1: sim.Port(1), 2: sim.Port(2), 3: sim.Port(3)},
		Firmware: rpiboot.NewFirmware(fw),
		SysRoot:  filepath.Join(root, "sys"),
		DevRoot:  filepath.Join(root, "dev"),
	}
	board := newBoard(t, hw, t.TempDir(), append([]func(*bmc.Config){func(c *bmc.Config) {
		c.Flash = bmc.FlashConfig{Booter: booter, Parallel: parallel, Images: bmc.FlasherImages{}}
	}}, mod...)...)
	return &usbRig{hw: hw, board: board, emmc: emmc, booter: booter}
}

func (r *usbRig) disk(t *testing.T, slot int) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.emmc, fmt.Sprintf("slot%d.img", slot)))
	require.NoError(t, err)
	return b
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// halvesImage writes its data in two halves, opening the disk for each:
// a disk whose module has left the bus is gone from /dev, so writing to
// it fails as it does on hardware. It can pause between the halves.
type halvesImage struct {
	data    []byte
	half    chan struct{} // closed once the first half is written, if set
	release chan struct{} // the second half waits for it, if set
}

func (h *halvesImage) String() string { return "halves" }

func (h *halvesImage) WriteTo(ctx context.Context, disk string, _ func(bmc.FlashProgress)) error {
	mid := len(h.data) / 2
	if err := writeAt(disk, h.data[:mid], 0); err != nil {
		return err
	}
	if h.half != nil {
		close(h.half)
	}
	if h.release != nil {
		select {
		case <-h.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return writeAt(disk, h.data[mid:], int64(mid))
}

func writeAt(disk string, p []byte, off int64) error {
	f, err := os.OpenFile(disk, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(p, off); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// TestParallelFlashesShareTheHubUplink: on the v2.5 hub one uplink
// carries every slot's module; the job that finishes first must not
// switch it to the connector under the others still writing.
func TestParallelFlashesShareTheHubUplink(t *testing.T) {
	t.Parallel()
	r := newUSBRig(t, sim.USBHub, true)
	long := &halvesImage{data: randomBytes(1<<20, 1), half: make(chan struct{}), release: make(chan struct{})}
	short := &halvesImage{data: randomBytes(300<<10, 2)}
	j2, err := r.board.Flash(2, long, bmc.FlashOptions{})
	require.NoError(t, err)
	<-long.half
	j1, err := r.board.Flash(1, short, bmc.FlashOptions{})
	require.NoError(t, err)
	done1 := waitJob(t, r.board, j1.ID)
	require.Equal(t, bmc.JobSucceeded, done1.State, done1.Error)
	assert.NotNil(t, r.hw.USBModule(2), "slot 2's module is still on the bus after slot 1's job")

	close(long.release)
	done2 := waitJob(t, r.board, j2.ID)
	require.Equal(t, bmc.JobSucceeded, done2.State, done2.Error)
	assert.True(t, bytes.Equal(short.data, r.disk(t, 1)[:len(short.data)]))
	assert.True(t, bytes.Equal(long.data, r.disk(t, 2)[:len(long.data)]), "slot 2 is written byte for byte")
	// The last job out routes the uplink back to the connector.
	assert.Equal(t, "slot2 usb=device/connector", lastUSB(r.hw))
	assert.Nil(t, r.hw.USBModule(1))
	assert.Nil(t, r.hw.USBModule(2))
}

func lastUSB(hw *sim.Board) string {
	var last string
	for _, tr := range hw.Transitions() {
		if tr.Signal == "usb" {
			last = tr.String()
		}
	}
	return last
}

// TestFlashThroughSimulatedUSB runs the whole flow on both topologies:
// the strap is released once the module is a disk, and the module, which
// sampled it at power-up, stays a disk until written.
func TestFlashThroughSimulatedUSB(t *testing.T) {
	t.Parallel()
	for _, topology := range []sim.USBTopology{sim.USBMux, sim.USBHub} {
		t.Run(topology.String(), func(t *testing.T) {
			t.Parallel()
			r := newUSBRig(t, topology, false)
			img := &halvesImage{data: randomBytes(512<<10, 3)}
			job, err := r.board.Flash(3, img, bmc.FlashOptions{})
			require.NoError(t, err)
			done := waitJob(t, r.board, job.ID)
			require.Equal(t, bmc.JobSucceeded, done.State, done.Error)
			assert.True(t, bytes.Equal(img.data, r.disk(t, 3)[:len(img.data)]))
			assert.False(t, r.hw.USBBoot(3))
			assert.Nil(t, r.hw.USBModule(3))
		})
	}
}

// TestFlashFinalProgress: a succeeded job's last progress is the
// writer's last report, complete; an upload's first phase is "upload".
func TestFlashFinalProgress(t *testing.T) {
	t.Parallel()
	r := newUSBRig(t, sim.USBMux, false)
	sub := r.board.Subscribe(0)
	defer sub.Close()
	data := randomBytes(1<<20+123, 4)
	job, _, err := r.board.FlashUpload(1, bytes.NewReader(data), int64(len(data)), bmc.ImageSpec{Name: "test.img", Verify: true}, bmc.FlashOptions{})
	require.NoError(t, err)
	done := waitJob(t, r.board, job.ID)
	require.Equal(t, bmc.JobSucceeded, done.State, done.Error)
	n := int64(len(data))
	assert.Equal(t, bmc.FlashProgress{Phase: "done", BytesIn: n, BytesWritten: n, BytesVerified: n, Total: n}, done.Progress)

	var phases []string
	for e := range sub.C {
		if e.Type != bmc.EventJob || e.Job.ID != job.ID {
			continue
		}
		if p := e.Job.Progress.Phase; p != "" && (len(phases) == 0 || phases[len(phases)-1] != p) {
			phases = append(phases, p)
		}
		if e.Job.State.Final() {
			break
		}
	}
	assert.Equal(t, []string{"upload", "write", "sync", "verify", "done"}, phases)
}

// fullDisk returns the path of an eMMC file of 8 MiB on a file system
// of 1 MiB: writing fails with ENOSPC, as a disk whose space runs out.
func fullDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("mounting a small tmpfs needs root under CI=true")
		}
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() {
		out, err := exec.Command("umount", dir).CombinedOutput()
		assert.NoError(t, err, "%s", out)
	})
	disk := filepath.Join(dir, "emmc")
	require.NoError(t, os.WriteFile(disk, nil, 0o600))
	require.NoError(t, os.Truncate(disk, 8<<20))
	return disk
}

// fixedBooter hands out one disk.
type fixedBooter struct{ disk string }

func (b fixedBooter) BootToDisk(context.Context, int) (string, error) { return b.disk, nil }

// TestFlashErrorSaysEachThingOnce pins the job error of a flash that
// runs out of space: the image and the disk, the offset and the cause,
// each said once (the job's step says "write").
func TestFlashErrorSaysEachThingOnce(t *testing.T) {
	t.Parallel()
	disk := fullDisk(t)
	dir := t.TempDir()
	board := newBoard(t, newSim(t, dir, 4), dir, func(c *bmc.Config) {
		c.Flash = bmc.FlashConfig{Booter: fixedBooter{disk}, Images: bmc.FlasherImages{}}
	})
	data := randomBytes(4<<20, 5)
	job, _, err := board.FlashUpload(2, bytes.NewReader(data), int64(len(data)), bmc.ImageSpec{Name: "test.img"}, bmc.FlashOptions{})
	require.NoError(t, err)
	done := waitJob(t, board, job.ID)
	require.Equal(t, bmc.JobFailed, done.State)
	assert.Equal(t, "write", done.Step)
	assert.Regexp(t, `^flash test\.img to `+regexp.QuoteMeta(disk)+`: write at offset \d+: no space left on device$`, done.Error)
}

// TestSlotReportsInstalledModule: a slot shows the module the board
// reports installed unless a user named one.
func TestSlotReportsInstalledModule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newUSBRig(t, sim.USBMux, false)
	module := func(slot int) string {
		st, err := r.board.Slot(ctx, slot)
		require.NoError(t, err)
		return st.Module
	}
	assert.Equal(t, "CM4", module(1))
	assert.Empty(t, module(4), "an empty slot")
	rk1, none := "RK1", ""
	_, err := r.board.UpdateSlot(ctx, 1, bmc.SlotUpdate{Module: &rk1})
	require.NoError(t, err)
	assert.Equal(t, "RK1", module(1), "the user's word first")
	_, err = r.board.UpdateSlot(ctx, 1, bmc.SlotUpdate{Module: &none})
	require.NoError(t, err)
	assert.Equal(t, "CM4", module(1))
}
