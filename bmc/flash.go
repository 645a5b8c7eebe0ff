package bmc

import (
	"context"
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

// flashRoute counts the flash jobs (and active checks) that have their
// slot's USB routed to the controller. On the Turing Pi 2 v2.5 one hub
// uplink carries every slot, so it goes back to the connector only when
// the last of them is done.
type flashRoute struct {
	mu    sync.Mutex // serializes the routing
	users int
}

// Flash queues a flash job for slot and returns it. The job owns img
// from now on. Anything the board cannot do is refused here, before the
// hardware is touched.
func (b *Board) Flash(slot int, img Image, opts FlashOptions) (Job, error) {
	job, _, err := b.flash(slot, img, opts)
	return job, err
}

// flash is Flash that also returns the job's done channel.
func (b *Board) flash(slot int, img Image, opts FlashOptions) (Job, <-chan struct{}, error) {
	if err := b.checkSlot(slot); err != nil {
		return Job{}, nil, err
	}
	cfg := b.cfg.Flash
	if cfg.Booter == nil {
		return Job{}, nil, fmt.Errorf("flash slot %d: %w", slot, hal.ErrNotSupported)
	}
	if _, ok := b.hw.(hal.USBBootStrapper); !ok {
		return Job{}, nil, fmt.Errorf("flash slot %d: board has no USB boot strap: %w", slot, hal.ErrNotSupported)
	}
	if cfg.Slots != nil && !slices.Contains(cfg.Slots, slot) {
		return Job{}, nil, fmt.Errorf("flash slot %d: %w (flashable: %v)", slot, ErrNotFlashable, cfg.Slots)
	}
	if slot == b.cfg.SelfSlot {
		return Job{}, nil, fmt.Errorf("flash slot %d: %w", slot, ErrSelfSlot)
	}
	job := Job{Slot: slot, Image: img.String(), Options: opts, Progress: FlashProgress{Total: -1}}
	return b.jobs.submit(job, func(ctx context.Context, r *jobRun) (error, error) {
		return b.runFlash(ctx, r, slot, img, opts)
	})
}

// Jobs is the board's job queue and history.
func (b *Board) Jobs() *JobQueue { return b.jobs }

// runFlash is a flash job's work: it holds the slot, flashes it and puts
// it back.
func (b *Board) runFlash(ctx context.Context, r *jobRun, slot int, img Image, opts FlashOptions) (err, cleanupErr error) {
	release, err := b.reserve(ctx, slot, fmt.Sprintf("being flashed by job %d", r.ID()))
	if err != nil {
		return fmt.Errorf("reserve slot: %w", err), nil
	}
	defer release()
	r.start()

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
		r.progress(p)
	}
	var routed bool
	err = b.flashSlot(ctx, slot, img, r.step, progress, &routed)
	return err, b.putBack(slot, err == nil && opts.PowerOn, routed)
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
			err := b.route.toBMC(ctx, b.hw, slot)
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
	disk, err := b.cfg.Flash.Booter.BootToDisk(ctx, slot)
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

// toBMC routes slot's USB to the controller and counts the caller among
// the route's users.
func (f *flashRoute) toBMC(ctx context.Context, hw hal.Board, slot int) error {
	r, ok := hw.(hal.USBRouter)
	if !ok {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := r.SetUSB(ctx, hal.USBConfig{Slot: slot, Role: hal.USBDevice, Route: hal.RouteBMC}); err != nil {
		return err
	}
	f.users++
	return nil
}

// restore ends a caller's use of the USB route (held: it counted among
// the users) and routes slot's USB back to the connector, as a device as
// the vendor firmware does, unless another job still uses the route: on
// the v2.5 hub that would cut off every module still being written.
func (f *flashRoute) restore(ctx context.Context, hw hal.Board, slot int, held bool) error {
	r, ok := hw.(hal.USBRouter)
	if !ok {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if held {
		f.users--
	}
	if f.users > 0 {
		return nil
	}
	return r.SetUSB(ctx, hal.USBConfig{Slot: slot, Role: hal.USBDevice, Route: hal.RouteConnector})
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
		errs = append(errs, err) // names the slot and power off
	}
	if s, ok := b.hw.(hal.USBBootStrapper); ok {
		if err := s.SetUSBBoot(ctx, slot, false); err != nil {
			errs = append(errs, fmt.Errorf("release usb boot strap: %w", err))
		}
	}
	if err := b.route.restore(ctx, b.hw, slot, routed); err != nil {
		errs = append(errs, fmt.Errorf("restore usb routing: %w", err))
	}
	if powerOn && len(errs) == 0 {
		if err := b.hw.SetPower(ctx, slot, true); err != nil {
			errs = append(errs, err)
		}
	}
	b.measure(ctx, slot)
	return joinErrors(errs...)
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
