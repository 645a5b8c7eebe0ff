// Package flasher writes OS images onto compute modules' eMMC: it takes
// an image from a file, a stream (an HTTP upload) or a URL, decompresses
// it as it streams, writes it to a block device (or a regular file: the
// simulated board's eMMC), and reads it back to verify it, with live
// progress, cancellation and memory bounded by a few fixed buffers
// whatever the image size.
//
// # Pipeline
//
//	Source ─▶ count, SHA-256 ─▶ Detect ─▶ decoder ─▶ [4 MiB buffers] ─┬▶ writer (WriteAt, O_DIRECT)
//	                                                                   └▶ hasher (bmap ranges, block sums)
//	then Sync, then read back (O_DIRECT) and compare.
//
// A reader goroutine decompresses into one buffer while the writer
// writes another and the hasher hashes it; Options.Buffers buffers of
// Options.BufferSize bytes (default 4 × 4 MiB) are mapped outside the Go
// heap, page aligned, and unmapped when Flash returns. The stages run in
// an errgroup: the first to fail cancels the others, and its error is
// the one returned.
//
// With Options.Background (bmcd's default) every goroutine of the flash
// locks a thread of its own under the kernel's idle policy, SCHED_IDLE,
// as does any decoder process it starts: a daemon's requests and
// consoles take the CPU from a flash the moment they wake, and the flash
// runs on what they leave. The threads end with their goroutines, so
// the policy never reaches the rest of the program. Only the source's
// reads, at most 256 KiB each, run at the normal priority: they wait on
// the network against idle timeouts, which a thread starved of CPU must
// not trip.
//
// # Formats
//
// Detect recognises raw, gzip, xz, zstd and bzip2 by their magic bytes,
// never by file name. gzip (multistream, as gunzip) uses
// github.com/klauspost/compress/gzip (the standard library's API, a
// faster inflate), zstd github.com/klauspost/compress/zstd with its
// window bounded by Options.MaxDecoderMemory. xz is decompressed by an
// `xz -dc` process when xz is installed, which on a 256 MiB image is
// about twice as fast as the pure-Go github.com/ulikunitz/xz used
// otherwise (see XZDecoder); bzip2 likewise by a `bzip2 -dc` process,
// or the standard library's decoder without one (Options.Bzip2). A
// local file is the process' stdin, so its bytes never pass through
// bmcd. Corrupt input fails with ErrCorrupt,
// truncated input with ErrTruncated: never a silently short image.
//
// # Block maps
//
// With a bmap (package bmap), only the mapped ranges are written: holes
// in the decompressed stream are read past (or, for a raw local file,
// seeked over) and left untouched on the target. Each range's checksum
// is checked as it streams (ErrChecksum names the range); the read-back
// verification reads the mapped ranges back and compares them with what
// was written, like the rest.
//
// # Capacity
//
// Target.Size is the capacity: BLKGETSIZE64 for a block device, the
// file size for a file. An image known up front to be too large (raw
// size, bmap ImageSize, the index of a local xz file, the content size
// in a zstd frame header) fails with ErrTooLarge before anything is
// written; otherwise as soon as the stream passes the end, before
// writing past it.
//
// # Verification
//
// After writing, Flash syncs the target and reads back what it wrote,
// bypassing the page cache: with O_DIRECT on block devices and on file
// systems that support it (which are written with O_DIRECT too); elsewhere (tmpfs before Linux 6.6 refuses
// O_DIRECT) the cached pages are dropped with posix_fadvise(DONTNEED)
// after the fsync. On tmpfs the page cache is the file's medium, so the
// simulated eMMC is verified against what it holds in memory. The
// hasher sums what is written per 1 MiB block of the target with
// xxhash64, and the read-back compares each block's sum with it; a
// mismatch fails with ErrVerify naming the first block that differs.
// xxhash64 costs ≈ 6 instructions per byte on the controller's
// Cortex-A7 where SHA-256 costs ≈ 68 (make bench-arm): it catches a disk
// that returns other bytes than it was given, which is what the
// read-back is for, while SHA-256 stays where a digest is a contract
// with someone else: Options.SHA256 and bmap range checksums.
//
// Finding the disk that a compute module in USB mass-storage mode
// exports is hal/usb/usbfs's FindDisk, beside the rest of the sysfs code.
package flasher
