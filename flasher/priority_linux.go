package flasher

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// errMainThread: the goroutine is on the process' main thread, which
// Go never ends (a locked goroutine's exit parks it for good), so the
// idle policy would stay on it. A program keeps flashes off that thread
// by locking its main goroutine there (runtime.LockOSThread in main).
var errMainThread = errors.New("on the main thread, which would keep the idle policy: lock the main goroutine to it")

// idleThread locks the calling goroutine to its thread and gives the
// thread the kernel's idle policy (SCHED_IDLE): it runs only on a CPU
// nothing else wants, and any other thread that wakes takes the CPU from
// it at once. The lock is never released, so the thread ends with the
// goroutine and the policy goes with it. Processes the thread starts
// inherit the policy.
func idleThread() error {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		runtime.UnlockOSThread()
		return errMainThread
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		return fmt.Errorf("set the idle scheduling policy: %w", err)
	}
	return nil
}

// threadIsIdle says whether the calling thread runs under SCHED_IDLE.
func threadIsIdle() (bool, error) {
	attr, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return false, err
	}
	return attr.Policy == unix.SCHED_IDLE, nil
}

// atNormalPriority runs fn with the calling thread, if it is an idle
// one, under the normal policy, and then puts the idle policy back. A
// background flash reads its source so: a read that waits for the
// network runs against an idle deadline (the API's body timeout, a
// download's stall timeout), and a thread left without CPU by other work
// must not turn that wait into a stall the sender did not cause. Leaving
// the idle policy takes CAP_SYS_NICE (bmcd has it as root); without it
// fn runs idle.
func atNormalPriority(fn func()) {
	if idle, err := threadIsIdle(); err != nil || !idle {
		fn()
		return
	}
	normal := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL}
	if err := unix.SchedSetAttr(0, &normal, 0); err != nil {
		fn()
		return
	}
	defer func() {
		idle := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}
		_ = unix.SchedSetAttr(0, &idle, 0) // lowering needs no privilege
	}()
	fn()
}
