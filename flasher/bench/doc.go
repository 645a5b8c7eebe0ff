// Command bench is the flasher side of bench-flash.sh: it generates a
// realistic test image and flashes images with package flasher, printing
// the elapsed time, so that the script can compare it with dd, bmaptool
// and xz/zstd piped into dd.
//
// Usage:
//
//	bench gen -size MiB -o image        sparse image: zero, random and text runs
//	bench flash -src image -dst device [-bmap file] [-verify] [-xz auto|external|internal]
//
// flash prints "seconds bytes-in bytes-written" on one line, the time
// measured around OpenTarget, Flash and Close.
package main
