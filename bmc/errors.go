package bmc

import "errors"

// Sentinel errors. Callers test them with errors.Is; package api maps
// each to an HTTP status. Their words reach users after the operation's
// own ("reset slot 3: the slot is off"), so they are plain.
var (
	// ErrBusy: another operation holds the slot for longer than the caller waited.
	ErrBusy = errors.New("the slot is busy")
	// ErrSelfSlot: the action would switch off the slot bmcd runs on.
	ErrSelfSlot = errors.New("the slot runs bmcd itself; use force to switch it off")
	// ErrSlotOff: the action needs a slot that is on (reset).
	ErrSlotOff = errors.New("the slot is off")
	// ErrInvalid: a value (action, policy, name, image URL or digest) is
	// not acceptable. bmc checks the values a user sends; package api
	// parses only the wire format (numbers, booleans) and maps this to 400.
	ErrInvalid = errors.New("invalid value")
	// ErrNotFlashable: the board cannot flash this slot.
	ErrNotFlashable = errors.New("the board cannot flash this slot")
	// ErrNoJob: no job has this ID.
	ErrNoJob = errors.New("no such job")
)
