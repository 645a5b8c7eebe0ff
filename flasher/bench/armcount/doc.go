// Command armcount is make bench-arm: it counts the instructions the
// armv7 build of each flash stage executes per image byte, under
// qemu-arm, and derives the pipeline's per-core critical path and the
// throughput it implies on the Turing Pi 2's controller (two Cortex-A7
// cores at 1.2 GHz) at an assumed IPC.
//
// It builds flasher/bench/armstage for linux/arm (GOARM=7), builds the
// QEMU plugin in plugin/insncount.c with gcc, generates two images (the
// second twice the size of the first, the first its prefix) and their
// gzip, bzip2, xz, zstd and bmap versions with the Debian tools, and
// runs armstage under qemu-arm once per stage. The plugin counts the
// instructions of every guest thread between armstage's marker calls;
// the larger image's count minus the smaller one's, divided by the
// difference in size, is the cost per byte without the fixed costs
// (program start, decoder set-up). The counts do not depend on timing:
// armstage runs with GOMAXPROCS=1, so the same build counts the same
// numbers every time, up to the few instructions the runtime's
// timer-driven work (progress reports, the scheduler's sysmon) adds.
//
// Usage:
//
//	armcount [-ipc 0.75] [-mhz 1200] [-mib 4] [-dir DIR] [-stages sha256,flash-raw,...]
//
// Needs qemu-arm (qemu-user), gcc, xz, zstd, gzip, bzip2 and bmaptool,
// and the Go toolchain; run from the module's root (make bench-arm).
package main
