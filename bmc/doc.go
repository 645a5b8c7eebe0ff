// Package bmc is the domain core of bmcd: the board's slots, their power
// and power-restore policy, the events that report every change, and the
// state that survives a restart.
//
// # Power
//
// [Board.Power] runs one action on one slot. Operations on the same slot
// are serialized by a per-slot lock; different slots proceed in parallel.
// [Board.PowerAll] switches every slot, staggering power-on to limit inrush
// current. Reset uses the board's reset line where it has one and is a
// power cycle otherwise.
//
// The power state bmcd reports is always measured on the hardware; the
// state a user asked for is stored separately ("requested") and only feeds
// the last-state restore policy.
//
// # Restore policy
//
// At start, [Board.RestorePower] applies each slot's [Policy] to the slots
// measured off, and only to them: restarting the daemon never switches a
// running node off or on again.
//
// # State
//
// Slot names, module types, policies and requested power live in a JSON
// file under the state directory, replaced atomically on every change. A
// missing file means defaults; a corrupt one is moved aside, reported in
// the log and in [Board.Warnings], and replaced by defaults.
//
// # Consoles
//
// [OpenConsoles] starts capturing every wired slot's UART (package
// console); the board hands a slot's console out with [Board.Console],
// which tells a slot the board does not have ([ErrNoSlot]) from one whose
// UART does not reach bmcd ([ErrNotSupported]). The hal names bmc's
// callers meet (power states, check findings, these sentinels) are
// re-exported here, so package api needs no hal package.
package bmc
