// Package sim is a simulated Turing Pi board: 4 slots like a Turing Pi 2 or
// 7 like a Turing Pi 1, with every capability of package hal. `bmcd --board
// sim` runs on it, and the tests of package bmc use it.
//
// Its state is real state: a slot switched on stays on until switched off,
// and, when Opts.StatePath is set, it outlives the daemon the way a real
// board's power outlives a restart of bmcd. Every hardware transition is
// recorded with its time so a test can assert exactly what happened and in
// which order ([Board.Transitions]); [Board.InjectFault] makes the next
// operation on a slot fail, to exercise the failure paths.
package sim
