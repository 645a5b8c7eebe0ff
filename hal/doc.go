// Package hal describes what a Turing Pi board can do to its compute-module
// slots, behind narrow interfaces that the domain code in package bmc uses.
//
// # Concepts
//
// A board profile (hal/tp1, hal/tp2, hal/sim) implements [Board]: switch a
// slot's power and read it back from the hardware. Everything else a board
// may or may not have is an optional capability, discovered with a type
// assertion, in the manner of bmclib's capability interfaces:
//
//   - [Resetter]: a reset line per slot (the simulated board only: the
//     Turing Pi 2 v2.4 device tree names nodeN-rst lines, but they are not
//     connected on the board). Package bmc power cycles a slot of a board
//     without one.
//   - [USBBootStrapper]: the nRPIBOOT strap that makes a module boot from USB.
//   - [USBRouter]: which slot the board's USB goes to, and in which role.
//   - [PresenceSensor]: whether a module sits in the slot (Turing Pi 1).
//   - [PowerDefaultsSaver]: make the current power state the power-up default
//     (Turing Pi 1's EEPROM-backed DS4520 register).
//   - [Prober]: report lines, registers and supplies without changing
//     them, for the board check ([Finding], [DetectProfile]).
//
// A capability the hardware lacks returns [ErrNotSupported] rather than
// pretending; the API turns that into 501 Not Implemented.
//
// Slots are numbered from 1, as printed on the board.
package hal
