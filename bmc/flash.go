package bmc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/turingpi-oss/bmcd/hal"
)

// Image is what a flash job writes. Package api builds one from an
// upload, a file or a URL on top of package flasher.
type Image interface {
	// String describes the source for the job history.
	String() string
	// WriteTo writes the image to the disk at path, verifying it as asked,
	// and reports progress. It must return promptly when ctx is done.
	WriteTo(ctx context.Context, disk string, progress func(FlashProgress)) error
}

// USBBooter brings the compute module in a slot, powered on with its USB
// boot strap asserted and its USB routed to the controller, into USB
// mass-storage mode, and returns the path of its disk.
type USBBooter interface {
	BootToDisk(ctx context.Context, slot int) (disk string, err error)
}

// FlashConfig says how this board flashes.
type FlashConfig struct {
	// Booter is nil on boards bmcd cannot flash.
	Booter USBBooter
	// Slots lists the slots whose USB the controller reaches; nil: all.
	Slots []int
	// Parallel: several slots may flash at once (Turing Pi 2 v2.5's USB
	// hub). Otherwise jobs run one at a time, in order.
	Parallel bool
	// Images builds images from uploads and URLs.
	Images ImageFactory
}

// flashJobs runs flash jobs and keeps their history.
type flashJobs struct {
	cfg FlashConfig
	// run admits jobs: capacity 1 when jobs run one at a time.
	run chan struct{}
	wg  sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	jobs    []Job      // oldest first
	cancels map[int64]context.CancelCauseFunc
	nextID  int64

	// routeMu serializes the flash jobs' USB routing; routeUsers counts
	// the jobs that have their slot's USB routed to the controller. On
	// the Turing Pi 2 v2.5 one hub uplink carries every slot, so it goes
	// back to the connector only when the last of them is done.
	routeMu    sync.Mutex
	routeUsers int
}

// errStopped is the cause of the jobs cancelled by Board.Close.
var errStopped = errors.New("bmcd stopped")

// Flash queues a flash job for slot and returns it. The job owns img
// from now on. Anything the board cannot do is refused here, before the
// hardware is touched.
func (b *Board) Flash(slot int, img Image, opts FlashOptions) (Job, error) {
	if err := b.checkSlot(slot); err != nil {
		return Job{}, err
	}
	f := b.flash
	if f.cfg.Booter == nil {
		return Job{}, fmt.Errorf("flash slot %d: %w", slot, hal.ErrNotSupported)
	}
	if _, ok := b.hw.(hal.USBBootStrapper); !ok {
		return Job{}, fmt.Errorf("flash slot %d: board has no USB boot strap: %w", slot, hal.ErrNotSupported)
	}
	if f.cfg.Slots != nil && !slices.Contains(f.cfg.Slots, slot) {
		return Job{}, fmt.Errorf("flash slot %d: %w (flashable: %v)", slot, ErrNotFlashable, f.cfg.Slots)
	}
	if slot == b.cfg.SelfSlot {
		return Job{}, fmt.Errorf("flash slot %d: %w", slot, ErrSelfSlot)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	f.mu.Lock()
	job := Job{ID: f.nextID, Slot: slot, Image: img.String(), Options: opts, State: JobQueued, Created: b.clock.Now().UTC(), Progress: FlashProgress{Total: -1}}
	f.nextID++
	f.jobs = append(f.jobs, job)
	f.cancels[job.ID] = cancel
	err := f.saveLocked(b.cfg.StateDir)
	if err != nil {
		f.jobs = f.jobs[:len(f.jobs)-1]
		delete(f.cancels, job.ID)
	}
	f.mu.Unlock()
	if err != nil {
		cancel(nil)
		return Job{}, err
	}
	b.publishJob(job)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer cancel(nil)
		b.runJob(ctx, job.ID, slot, img, opts)
	}()
	return job, nil
}

// Jobs returns the job history, newest first.
func (b *Board) Jobs() []Job {
	f := b.flash
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.jobs)
	slices.Reverse(out)
	return out
}

// Job returns one job.
func (b *Board) Job(id int64) (Job, error) {
	f := b.flash
	f.mu.Lock()
	defer f.mu.Unlock()
	if j := f.findLocked(id); j != nil {
		return *j, nil
	}
	return Job{}, fmt.Errorf("job %d: %w", id, ErrNoJob)
}

// CancelJob cancels a queued or running job. The job ends cancelled once
// its slot is back in its known state; cancelling a finished job is not
// an error and changes nothing.
func (b *Board) CancelJob(id int64) (Job, error) {
	f := b.flash
	f.mu.Lock()
	j := f.findLocked(id)
	if j == nil {
		f.mu.Unlock()
		return Job{}, fmt.Errorf("job %d: %w", id, ErrNoJob)
	}
	if cancel := f.cancels[id]; cancel != nil {
		cancel(nil)
	}
	job := *j
	f.mu.Unlock()
	return job, nil
}

func (f *flashJobs) findLocked(id int64) *Job {
	for i := range f.jobs {
		if f.jobs[i].ID == id {
			return &f.jobs[i]
		}
	}
	return nil
}

func (f *flashJobs) saveLocked(dir string) error { return saveJobs(dir, f.jobs, f.nextID) }

// update changes a job, persists it if persist is set (state changes, not
// progress), and publishes it.
func (b *Board) updateJob(id int64, persist bool, change func(*Job)) {
	f := b.flash
	f.mu.Lock()
	j := f.findLocked(id)
	if j == nil {
		f.mu.Unlock()
		return
	}
	change(j)
	job := *j
	var err error
	if persist {
		err = f.saveLocked(b.cfg.StateDir)
	}
	f.mu.Unlock()
	if err != nil {
		b.log.Error("bmc: save job history", "job", id, "err", err)
	}
	b.publishJob(job)
}

func (b *Board) publishJob(j Job) {
	b.events.publish(Event{Time: b.clock.Now(), Type: EventJob, Job: &j})
}

// progressInterval limits progress events per job.
const progressInterval = 200 * time.Millisecond

// runJob waits for its turn, runs the flash and records the outcome.
func (b *Board) runJob(ctx context.Context, id int64, slot int, img Image, opts FlashOptions) {
	f := b.flash
	select {
	case f.run <- struct{}{}:
		defer func() { <-f.run }()
	case <-ctx.Done():
		b.finishJob(id, stopped(ctx, JobQueued, ctx.Err()), nil)
		return
	}
	release, err := b.reserve(ctx, slot, fmt.Sprintf("slot %d is being flashed (job %d)", slot, id))
	if err != nil {
		b.finishJob(id, stopped(ctx, JobQueued, fmt.Errorf("reserve slot: %w", err)), nil)
		return
	}
	defer release()
	b.updateJob(id, true, func(j *Job) { j.State, j.Started = JobRunning, b.clock.Now().UTC() })

	var lastProgress time.Time
	var lastPhase string
	progress := func(p FlashProgress) {
		// A new phase is always recorded, so the job's last progress is
		// the writer's last report: done, with everything counted.
		now := b.clock.Now()
		if p.Phase == lastPhase && now.Sub(lastProgress) < progressInterval {
			return
		}
		lastProgress, lastPhase = now, p.Phase
		b.updateJob(id, false, func(j *Job) { j.Progress = p })
	}
	step := func(name string) { b.updateJob(id, false, func(j *Job) { j.Step = name }) }
	var routed bool
	err = b.flashSlot(ctx, slot, img, step, progress, &routed)
	cleanupErr := b.putBack(slot, err == nil && opts.PowerOn, routed)
	b.finishJob(id, stopped(ctx, JobRunning, err), cleanupErr)
}

// stopped turns the error of a job that Board.Close cancelled into one
// that says so, as loadJobs says it of a job bmcd did not get to stop.
func stopped(ctx context.Context, state JobState, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errStopped) {
		return fmt.Errorf("%w while the job was %s", errStopped, state)
	}
	return err
}

// flashSlot is the flash flow up to a written disk; the job's step says
// where an error comes from, so the error does not. Whatever happens,
// the caller then puts the slot back with putBack, telling it whether
// the job holds the USB route to the controller (*routed).
func (b *Board) flashSlot(ctx context.Context, slot int, img Image, step func(string), progress func(FlashProgress), routed *bool) error {
	strap := b.hw.(hal.USBBootStrapper) // checked by Flash
	steps := []struct {
		name string
		do   func() error
	}{
		{"power-off", func() error { return b.hw.SetPower(ctx, slot, false) }},
		{"usb-route", func() error {
			err := b.routeToBMC(ctx, slot)
			*routed = err == nil
			return err
		}},
		{"usb-boot-strap", func() error { return strap.SetUSBBoot(ctx, slot, true) }},
		{"power-on", func() error {
			err := b.hw.SetPower(ctx, slot, true)
			b.measure(ctx, slot)
			return err
		}},
	}
	for _, s := range steps {
		step(s.name)
		if err := s.do(); err != nil {
			return err
		}
	}
	step("rpiboot")
	disk, err := b.flash.cfg.Booter.BootToDisk(ctx, slot)
	if err != nil {
		return err // the booter names USB boot and the slot; the job's step says rpiboot
	}
	// The module sampled the strap at power-up and is past its boot ROM
	// now: release the strap, as the vendor does after power-on, so the
	// module boots from its eMMC whenever it next powers up.
	step("usb-boot-release")
	if err := strap.SetUSBBoot(ctx, slot, false); err != nil {
		return err
	}
	step("write")
	if err := img.WriteTo(ctx, disk, progress); err != nil {
		return err
	}
	return nil
}

// routeToBMC routes slot's USB to the controller and counts the job
// among the route's users.
func (b *Board) routeToBMC(ctx context.Context, slot int) error {
	r, ok := b.hw.(hal.USBRouter)
	if !ok {
		return nil
	}
	f := b.flash
	f.routeMu.Lock()
	defer f.routeMu.Unlock()
	if err := r.SetUSB(ctx, hal.USBConfig{Slot: slot, Role: hal.USBDevice, Route: hal.RouteBMC}); err != nil {
		return err
	}
	f.routeUsers++
	return nil
}

// restoreRoute ends a job's use of the USB route (held: it counted
// among the users) and routes slot's USB back to the connector unless
// another job still uses the route: on the v2.5 hub that would cut off
// every module still being written.
func (b *Board) restoreRoute(ctx context.Context, slot int, held bool) error {
	r, ok := b.hw.(hal.USBRouter)
	if !ok {
		return nil
	}
	f := b.flash
	f.routeMu.Lock()
	defer f.routeMu.Unlock()
	if held {
		f.routeUsers--
	}
	if f.routeUsers > 0 {
		return nil
	}
	return r.SetUSB(ctx, b.usbDefault(slot))
}

// putBack leaves a slot in the known state after flashing, whatever
// happened: powered off, USB boot strap released, USB routed back to the
// board's connector once no other job uses the route (routed: this job
// did); then on if asked. It runs on its own context so a cancelled job
// still cleans up.
func (b *Board) putBack(slot int, powerOn, routed bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	if err := b.hw.SetPower(ctx, slot, false); err != nil {
		errs = append(errs, fmt.Errorf("power off: %w", err))
	}
	if s, ok := b.hw.(hal.USBBootStrapper); ok {
		if err := s.SetUSBBoot(ctx, slot, false); err != nil {
			errs = append(errs, fmt.Errorf("release usb boot strap: %w", err))
		}
	}
	if err := b.restoreRoute(ctx, slot, routed); err != nil {
		errs = append(errs, fmt.Errorf("restore usb routing: %w", err))
	}
	if powerOn && len(errs) == 0 {
		if err := b.hw.SetPower(ctx, slot, true); err != nil {
			errs = append(errs, fmt.Errorf("power on: %w", err))
		}
	}
	b.measure(ctx, slot)
	return errors.Join(errs...)
}

// usbDefault is the USB routing bmcd restores after flashing: the slot
// as a device on the board's connector, as the vendor firmware does.
func (b *Board) usbDefault(slot int) hal.USBConfig {
	return hal.USBConfig{Slot: slot, Role: hal.USBDevice, Route: hal.RouteConnector}
}

func (b *Board) finishJob(id int64, err, cleanupErr error) {
	var state JobState
	var step string
	b.updateJob(id, true, func(j *Job) {
		j.Finished = b.clock.Now().UTC()
		switch {
		case err == nil && cleanupErr == nil:
			j.State, j.Step = JobSucceeded, ""
		case errors.Is(err, errStopped):
			j.State, j.Error = JobInterrupted, err.Error()
		case errors.Is(err, context.Canceled):
			j.State, j.Error = JobCancelled, "cancelled"
		default:
			j.State = JobFailed
			if err != nil {
				j.Error = err.Error()
			}
		}
		if cleanupErr != nil {
			j.CleanupError = cleanupErr.Error()
		}
		state, step = j.State, j.Step
	})
	b.flash.mu.Lock()
	delete(b.flash.cancels, id)
	b.flash.mu.Unlock()
	if err != nil {
		b.log.Warn("bmc: flash job "+string(state), "job", id, "step", step, "err", err, "cleanup_err", cleanupErr)
	} else {
		b.log.Info("bmc: flash job done", "job", id, "cleanup_err", cleanupErr)
	}
}

// recoverInterrupted puts slots that were being flashed when bmcd stopped
// back in their known state.
func (b *Board) recoverInterrupted(slots []int) {
	for _, slot := range slots {
		if err := b.checkSlot(slot); err != nil {
			continue
		}
		b.log.Warn("bmc: a flash job was interrupted; putting the slot back (off, strap released, USB restored)", "slot", slot)
		if err := b.putBack(slot, false, false); err != nil {
			b.log.Error("bmc: put back interrupted slot", "slot", slot, "err", err)
			b.warnings = append(b.warnings, fmt.Sprintf("slot %d: could not restore after an interrupted flash: %v", slot, err))
		}
	}
}
