package bmc

import "errors"

// Sentinel errors. Callers test them with errors.Is; package api maps
// each to an HTTP status.
var (
	// ErrBusy: another operation holds the slot for longer than the caller waited.
	ErrBusy = errors.New("bmc: slot busy")
	// ErrSelfSlot: the action would switch off the slot bmcd runs on.
	ErrSelfSlot = errors.New("bmc: slot runs bmcd itself; use force to switch it off")
	// ErrSlotOff: the action needs a slot that is on (reset).
	ErrSlotOff = errors.New("bmc: slot is off")
	// ErrInvalid: a value (action, policy, name) is not acceptable.
	ErrInvalid = errors.New("bmc: invalid value")
	// ErrNotFlashable: the board cannot flash this slot.
	ErrNotFlashable = errors.New("bmc: slot cannot be flashed on this board")
	// ErrNoJob: no job has this ID.
	ErrNoJob = errors.New("bmc: no such job")
)
