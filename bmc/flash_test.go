package bmc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
)

// fakeBooter stands in for rpiboot: it checks the hardware is in the
// state USB boot needs, then hands out a disk file per slot.
type fakeBooter struct {
	t   *testing.T
	hw  *sim.Board
	dir string
	err error
}

func (f *fakeBooter) BootToDisk(ctx context.Context, slot int) (string, error) {
	if f.err != nil {
		return "", f.err
	}
	p, err := f.hw.PowerState(ctx, slot)
	if err != nil || p != hal.PowerOn || !f.hw.USBBoot(slot) {
		return "", fmt.Errorf("module not in USB boot mode (power %v, strap %v)", p, f.hw.USBBoot(slot))
	}
	return filepath.Join(f.dir, fmt.Sprintf("emmc%d", slot)), nil
}

// fakeImage writes its bytes, or blocks until cancelled, or fails.
type fakeImage struct {
	data    []byte
	err     error
	block   chan struct{} // closed when WriteTo starts, if set
	release chan struct{} // WriteTo waits for it (or ctx), if set
}

func (i *fakeImage) String() string { return "test image" }

func (i *fakeImage) WriteTo(ctx context.Context, disk string, progress func(bmc.FlashProgress)) error {
	if i.block != nil {
		close(i.block)
	}
	if i.release != nil {
		select {
		case <-i.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if i.err != nil {
		return i.err
	}
	progress(bmc.FlashProgress{Phase: "write", BytesWritten: int64(len(i.data)), Total: int64(len(i.data))})
	return os.WriteFile(disk, i.data, 0o600)
}

type flashFixture struct {
	hw     *sim.Board
	board  *bmc.Board
	booter *fakeBooter
	dir    string
}

func newFlashFixture(t *testing.T, mod ...func(*bmc.Config)) *flashFixture {
	t.Helper()
	dir := t.TempDir()
	hw := newSim(t, dir, 4)
	booter := &fakeBooter{t: t, hw: hw, dir: dir}
	board := newBoard(t, hw, dir, append([]func(*bmc.Config){func(c *bmc.Config) { c.Flash = bmc.FlashConfig{Booter: booter} }}, mod...)...)
	return &flashFixture{hw: hw, board: board, booter: booter, dir: dir}
}

func waitJob(t *testing.T, b *bmc.Board, id int64) bmc.Job {
	t.Helper()
	var j bmc.Job
	require.Eventually(t, func() bool {
		var err error
		j, err = b.Jobs().Get(id)
		require.NoError(t, err)
		return j.State.Final()
	}, 10*time.Second, time.Millisecond)
	return j
}

// assertKnownState checks the slot ended as documented: off (or on when
// asked), strap released, USB back on the connector.
func assertKnownState(t *testing.T, f *flashFixture, slot int, wantOn bool) {
	t.Helper()
	p, err := f.hw.PowerState(context.Background(), slot)
	require.NoError(t, err)
	assert.Equal(t, wantOn, p == hal.PowerOn, "power")
	assert.False(t, f.hw.USBBoot(slot), "USB boot strap must be released")
	trs := f.hw.Transitions()
	var lastUSB string
	for _, tr := range trs {
		if tr.Slot == slot && tr.Signal == "usb" {
			lastUSB = tr.Value
		}
	}
	assert.Equal(t, "device/connector", lastUSB, "USB routing restored")
}

func TestFlashSucceeds(t *testing.T) {
	for _, powerOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("power_on=%v", powerOn), func(t *testing.T) {
			f := newFlashFixture(t)
			img := &fakeImage{data: []byte("an OS image")}
			job, err := f.board.Flash(2, img, bmc.FlashOptions{PowerOn: powerOn})
			require.NoError(t, err)
			assert.Equal(t, bmc.JobQueued, job.State)

			done := waitJob(t, f.board, job.ID)
			assert.Equal(t, bmc.JobSucceeded, done.State, done.Error)
			assert.Empty(t, done.Error)
			assert.False(t, done.Finished.Before(done.Started))
			got, err := os.ReadFile(filepath.Join(f.dir, "emmc2"))
			require.NoError(t, err)
			assert.Equal(t, "an OS image", string(got))

			want := []string{
				"slot2 usb=device/bmc",
				"slot2 usb-boot=asserted",
				"slot2 power=on",
				// Released once the module is past its boot ROM.
				"slot2 usb-boot=released",
				"slot2 power=off",
				"slot2 usb=device/connector",
			}
			if powerOn {
				want = append(want, "slot2 power=on")
			}
			assert.Equal(t, want, transitions(f.hw))
			assertKnownState(t, f, 2, powerOn)
		})
	}
}

func TestFlashFailuresLeaveKnownState(t *testing.T) {
	boom := errors.New("xz: data is truncated or corrupt")
	tests := []struct {
		name      string
		setup     func(f *flashFixture, img *fakeImage)
		wantStep  string
		wantError string
		exact     bool // the job's error is wantError, not just contains it
	}{
		{name: "rpiboot fails", setup: func(f *flashFixture, _ *fakeImage) {
			f.booter.err = errors.New("rpiboot: port 1-1.2: never re-enumerated")
		}, wantStep: "rpiboot", wantError: "rpiboot: port 1-1.2: never re-enumerated", exact: true},
		{name: "corrupt image", setup: func(_ *flashFixture, img *fakeImage) { img.err = boom }, wantStep: "write", wantError: "xz: data is truncated or corrupt"},
		{name: "first hardware step fails", setup: func(f *flashFixture, _ *fakeImage) {
			// The fault fires on the next operation on slot 2: power off.
			f.hw.InjectFault(2, errors.New("gpio: line busy"))
		}, wantStep: "power-off", wantError: "sim: power off slot 2: gpio: line busy", exact: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlashFixture(t)
			img := &fakeImage{data: []byte("x")}
			tt.setup(f, img)
			job, err := f.board.Flash(2, img, bmc.FlashOptions{PowerOn: true})
			require.NoError(t, err)
			done := waitJob(t, f.board, job.ID)
			assert.Equal(t, bmc.JobFailed, done.State)
			assert.Equal(t, tt.wantStep, done.Step)
			assert.Contains(t, done.Error, tt.wantError)
			if tt.exact {
				assert.Equal(t, tt.wantError, done.Error)
			}
			assert.Empty(t, done.CleanupError)
			assertKnownState(t, f, 2, false) // power_on only after success
		})
	}
}

func TestFlashCancel(t *testing.T) {
	f := newFlashFixture(t)
	img := &fakeImage{block: make(chan struct{}), release: make(chan struct{})}
	job, err := f.board.Flash(1, img, bmc.FlashOptions{})
	require.NoError(t, err)
	<-img.block // writing now

	_, err = f.board.Power(context.Background(), 1, bmc.Off, bmc.PowerOpts{})
	require.ErrorIs(t, err, bmc.ErrBusy)
	assert.Equal(t, "power off slot 1: the slot is busy: being flashed by job 1", err.Error(), "the slot is named once")
	st, err := f.board.Slot(context.Background(), 1)
	require.NoError(t, err)
	assert.True(t, st.Busy)

	_, err = f.board.Jobs().Cancel(job.ID)
	require.NoError(t, err)
	done := waitJob(t, f.board, job.ID)
	assert.Equal(t, bmc.JobCancelled, done.State)
	assert.Equal(t, "write", done.Step)
	assertKnownState(t, f, 1, false)

	_, err = f.board.Jobs().Cancel(999)
	assert.ErrorIs(t, err, bmc.ErrNoJob)
}

func TestFlashRefusedBeforeTouchingHardware(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*bmc.Config)
		slot    int
		wantErr error
	}{
		{name: "no such slot", slot: 5, wantErr: hal.ErrNoSlot},
		{name: "slot not flashable", slot: 3, mod: func(c *bmc.Config) { c.Flash.Slots = []int{1} }, wantErr: bmc.ErrNotFlashable},
		{name: "board cannot flash", slot: 1, mod: func(c *bmc.Config) { c.Flash.Booter = nil }, wantErr: hal.ErrNotSupported},
		{name: "self slot", slot: 1, mod: func(c *bmc.Config) { c.SelfSlot = 1 }, wantErr: bmc.ErrSelfSlot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mods []func(*bmc.Config)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			f := newFlashFixture(t, mods...)
			_, err := f.board.Flash(tt.slot, &fakeImage{}, bmc.FlashOptions{})
			require.ErrorIs(t, err, tt.wantErr)
			assert.Empty(t, f.hw.Transitions())
			assert.Empty(t, f.board.Jobs().List())
		})
	}
}

func TestFlashQueueOneAtATimeOrParallel(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprintf("parallel=%v", parallel), func(t *testing.T) {
			f := newFlashFixture(t, func(c *bmc.Config) { c.Flash.Parallel = parallel })
			var mu sync.Mutex
			running, maxRunning := 0, 0
			imgs := make([]*overlapImage, 3)
			var ids []int64
			for i := range imgs {
				imgs[i] = &overlapImage{mu: &mu, running: &running, max: &maxRunning}
				job, err := f.board.Flash(i+1, imgs[i], bmc.FlashOptions{})
				require.NoError(t, err)
				ids = append(ids, job.ID)
			}
			for _, id := range ids {
				assert.Equal(t, bmc.JobSucceeded, waitJob(t, f.board, id).State)
			}
			if parallel {
				assert.Greater(t, maxRunning, 1)
			} else {
				assert.Equal(t, 1, maxRunning)
			}
			jobs := f.board.Jobs().List()
			require.Len(t, jobs, 3)
			assert.Equal(t, ids[2], jobs[0].ID, "newest first")
		})
	}
}

type overlapImage struct {
	mu           *sync.Mutex
	running, max *int
}

func (o *overlapImage) String() string { return "overlap" }
func (o *overlapImage) WriteTo(ctx context.Context, disk string, _ func(bmc.FlashProgress)) error {
	o.mu.Lock()
	*o.running++
	*o.max = max(*o.max, *o.running)
	o.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	o.mu.Lock()
	*o.running--
	o.mu.Unlock()
	return nil
}

func TestInterruptedJobIsReportedAndSlotPutBack(t *testing.T) {
	ctx := context.Background()
	f := newFlashFixture(t)
	img := &fakeImage{block: make(chan struct{}), release: make(chan struct{})}
	job, err := f.board.Flash(3, img, bmc.FlashOptions{})
	require.NoError(t, err)
	<-img.block
	// bmcd crashes now: copy its state as a crash would leave it. The
	// job history says running; the hardware is mid-flash.
	crashDir := t.TempDir()
	for _, name := range []string{"jobs.json", "state.json"} {
		data, err := os.ReadFile(filepath.Join(f.dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(crashDir, name), data, 0o600))
	}
	hw := newSim(t, crashDir, 4)
	require.NoError(t, hw.SetPower(ctx, 3, true))
	require.NoError(t, hw.SetUSBBoot(ctx, 3, true))
	require.NoError(t, hw.SetUSB(ctx, hal.USBConfig{Slot: 3, Role: hal.USBDevice, Route: hal.RouteBMC}))

	restarted := newBoard(t, hw, crashDir)
	j, err := restarted.Jobs().Get(job.ID)
	require.NoError(t, err)
	assert.Equal(t, bmc.JobInterrupted, j.State)
	assert.Contains(t, j.Error, "bmcd stopped while the job was running")
	p, err := hw.PowerState(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, hal.PowerOff, p)
	assert.False(t, hw.USBBoot(3))

	// The history survives another restart as it is.
	require.NoError(t, restarted.Close())
	again := newBoard(t, hw, crashDir)
	j2, err := again.Jobs().Get(job.ID)
	require.NoError(t, err)
	assert.Equal(t, j, j2)
	close(img.release)
}

func TestFlashEventsAndProgress(t *testing.T) {
	f := newFlashFixture(t)
	sub := f.board.Subscribe(0)
	defer sub.Close()
	job, err := f.board.Flash(4, &fakeImage{data: []byte("0123456789")}, bmc.FlashOptions{})
	require.NoError(t, err)
	waitJob(t, f.board, job.ID)
	var states []bmc.JobState
	var sawProgress bool
	timeout := time.After(5 * time.Second)
	for len(states) == 0 || !states[len(states)-1].Final() {
		select {
		case e := <-sub.C:
			if e.Type != bmc.EventJob {
				continue
			}
			if len(states) == 0 || states[len(states)-1] != e.Job.State {
				states = append(states, e.Job.State)
			}
			sawProgress = sawProgress || e.Job.Progress.BytesWritten == 10
		case <-timeout:
			t.Fatalf("no final job event; states %v", states)
		}
	}
	assert.Equal(t, []bmc.JobState{bmc.JobQueued, bmc.JobRunning, bmc.JobSucceeded}, states)
	assert.True(t, sawProgress)
}

// TestCloseInterruptsJobs: bmcd stopping (SIGTERM closes the Board)
// records its jobs as interrupted with the reason, as it does a job it
// finds live after a crash, not as cancelled by a user.
func TestCloseInterruptsJobs(t *testing.T) {
	t.Parallel()
	f := newFlashFixture(t)
	running := &fakeImage{block: make(chan struct{}), release: make(chan struct{})}
	j1, err := f.board.Flash(1, running, bmc.FlashOptions{})
	require.NoError(t, err)
	<-running.block
	j2, err := f.board.Flash(2, &fakeImage{}, bmc.FlashOptions{}) // one at a time: queued
	require.NoError(t, err)
	require.NoError(t, f.board.Close())

	for id, was := range map[int64]string{j1.ID: "running", j2.ID: "queued"} {
		j, err := f.board.Jobs().Get(id)
		require.NoError(t, err)
		assert.Equal(t, bmc.JobInterrupted, j.State, "job %d", id)
		assert.Equal(t, "bmcd stopped while the job was "+was, j.Error)
	}
	assertKnownState(t, f, 1, false)

	// The next start reads the same history.
	again := newBoard(t, f.hw, f.dir)
	j, err := again.Jobs().Get(j1.ID)
	require.NoError(t, err)
	assert.Equal(t, bmc.JobInterrupted, j.State)
	assert.Equal(t, "bmcd stopped while the job was running", j.Error)
}
