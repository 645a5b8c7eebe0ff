package bmc

import "github.com/turingpi-oss/bmcd/hal"

// The hal names that bmc's callers meet in its results, so that package
// api (cmd → api → bmc → hal) imports no hal package.

// hal's sentinels, so that errors from any layer match them.
var (
	// ErrNoSlot: the board has no slot of that number.
	ErrNoSlot = hal.ErrNoSlot
	// ErrNotSupported: the board lacks the hardware for the operation.
	ErrNotSupported = hal.ErrNotSupported
)

// PowerState is a slot's measured power.
type PowerState = hal.PowerState

// Measured power states.
const (
	PowerUnknown = hal.PowerUnknown
	PowerOff     = hal.PowerOff
	PowerOn      = hal.PowerOn
)

// Finding is one thing a board check looked at.
type Finding = hal.Finding

// CheckStatus is a finding's verdict.
type CheckStatus = hal.CheckStatus

// Finding statuses.
const (
	CheckOK   = hal.CheckOK
	CheckWarn = hal.CheckWarn
	CheckFail = hal.CheckFail
	CheckSkip = hal.CheckSkip
)

// Failed reports whether any finding failed.
func Failed(fs []Finding) bool { return hal.Failed(fs) }
