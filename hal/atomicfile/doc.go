// Package atomicfile replaces files so that a reader, or the next start
// after a crash or a power cut, sees either the old content or the new one,
// never a mix: write a temporary file in the same directory, fsync it,
// rename it over the old one, fsync the directory.
//
// bmcd keeps its state (slot names, power policy, job history) and the
// simulated board keeps its hardware state this way.
//
// It lives in hal, although it is a file utility, because hal is the
// bottom layer that every package may import (hal/sim needs it, and hal
// imports no other project package), the top-level layout is fixed with
// no internal/, and it imports only the standard library.
package atomicfile
