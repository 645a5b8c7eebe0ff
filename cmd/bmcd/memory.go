package main

import (
	"context"
	"log/slog"
	"runtime/debug"

	"github.com/turingpi-oss/bmcd/bmc"
)

// defaultMemoryLimitMiB is the Go runtime's soft memory limit: the heap
// and the runtime's own memory, not the flasher's I/O buffers (mapped
// outside the heap, 16 MiB) nor a decoder process. With it the heap of
// an idle bmcd plus a flash and 16 API clients stays near 10 MiB where
// GOGC=100 alone let it double; it is soft, so a larger live heap slows
// bmcd (more collections) rather than killing it.
const defaultMemoryLimitMiB = 24

// defaultFlashBufferKiB is the size of each of a flash's four I/O
// buffers in bmcd: 2 MiB, half the flasher's default. The buffers are the
// largest part of a flash's RSS (mapped at its start, returned at its
// end): 4 × 2 MiB keeps a flash of any format with 16 API clients under
// 40 MiB (make bench-mem), and 2 MiB writes still keep a USB 2.0 eMMC
// (35 MB/s, 57 ms a buffer) busy.
const defaultFlashBufferKiB = 2048

// memoryConfig is the config's memory section.
type memoryConfig struct {
	// LimitMiB is the soft memory limit of the Go runtime
	// (debug.SetMemoryLimit) in MiB; 0 is the default, negative none.
	LimitMiB int64 `yaml:"limit_mib"`
	// FlashBufferKiB is the size of each of a flash's four I/O buffers
	// in KiB; 0 is the default.
	FlashBufferKiB int `yaml:"flash_buffer_kib"`
}

// images returns the image factory with the flash buffers configured;
// background flashes lend Ps from procs.
func (m memoryConfig) images(log *slog.Logger, background *bmc.Procs) bmc.FlasherImages {
	kib := m.FlashBufferKiB
	if kib <= 0 {
		kib = defaultFlashBufferKiB
	}
	return bmc.FlasherImages{Logger: log, BufferSize: kib << 10, Background: background}
}

// apply sets the soft memory limit and returns it in bytes (-1: none).
func (m memoryConfig) apply() int64 {
	mib := m.LimitMiB
	if mib == 0 {
		mib = defaultMemoryLimitMiB
	}
	if mib < 0 {
		return -1
	}
	debug.SetMemoryLimit(mib << 20)
	return mib << 20
}

// releaseAfterJobs gives the memory a job used back to the kernel when
// the job ends (debug.FreeOSMemory: a collection, then every free page
// returned), instead of letting the runtime's scavenger return it over
// minutes. A job's garbage is what an API client's poll leaves, times
// the minutes a flash takes. It returns when ctx is done.
func releaseAfterJobs(ctx context.Context, board *bmc.Board, log *slog.Logger) {
	for ctx.Err() == nil {
		sub := board.Subscribe(0)
		watchJobEnds(ctx, sub, func() {
			debug.FreeOSMemory()
			log.Debug("bmcd: job ended; memory returned to the kernel")
		})
		sub.Close()
	}
}

// watchJobEnds calls done for each job event with a final state on sub,
// until ctx is done or the bus drops sub (it lagged behind).
func watchJobEnds(ctx context.Context, sub *bmc.Subscription, done func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if ev.Type == bmc.EventJob && ev.Job != nil && ev.Job.State.Final() {
				done()
			}
		}
	}
}
