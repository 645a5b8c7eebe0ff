// Command armstage runs one stage of a flash, as package flasher does it,
// between two marker functions that armcount's instruction counter
// watches: it is the guest side of make bench-arm, built for linux/arm
// (GOARM=7) and run under qemu-arm.
//
// Usage:
//
//	armstage -stage NAME [flags] IMAGE...
//
// For each IMAGE (a file, compressed or not, read into memory first) it
// runs the stage once inside a counted region, so that armcount can
// subtract a small image's count from a larger one's and cancel the
// fixed costs. The stages:
//
//	sha256, xxhash, equal, memmove   the primitive over the image's bytes
//	flash                            flasher.Flash of the image to an in-memory target:
//	                                 two regions, the write phase and the read-back,
//	                                 split where Flash syncs the target
//
// flash copies the source into the pipeline and the pipeline into the
// target with counting paused: on the controller the kernel does those
// copies (read from a socket or the page cache, a write to the USB mass
// storage device), and qemu-arm's user-mode emulation counts no kernel
// work either.
package main
