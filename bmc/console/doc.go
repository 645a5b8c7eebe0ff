// Package console captures the serial consoles of the compute-module slots
// and shares them with any number of readers.
//
// One [Console] owns one UART (one slot). An always-on reader goroutine
// reads the port whether or not anyone is attached, and appends what it
// reads to an in-memory ring buffer (256 KiB by default) and to a
// size-capped, rotating log file. Clients ([Console.Attach]) read from the
// ring at their own pace, so the web console and `bmcctl console` can show
// what the node printed before they connected.
//
// # Fan-out
//
// The ring counts every byte it has ever stored: each byte has an absolute
// offset. A [Client] is nothing more than a cursor (an offset). The reader
// appends under a mutex and wakes every waiting client by closing a channel
// (a broadcast); it never waits for a client. A client that falls so far
// behind that its next byte has been overwritten is told how many bytes it
// missed ([Chunk.Missed]) and continues with the oldest byte still
// buffered. Memory therefore stays O(ring size) whatever the number of
// clients, and no client can slow the reader or the other clients.
//
// # Writes
//
// [Console.Write] sends keystrokes (or any bytes) to the node. Writes are
// serialized: one Write at a time reaches the port and a Write is never
// interleaved with another.
//
// # Lost ports
//
// A port that fails (a read error, end of file, the device node removed, or
// an open that fails) is closed and reopened with exponential backoff
// (100 ms doubling up to 5 s by default; reset after a successful open).
// The gap is marked in the ring and in the log file with one-line markers:
//
//	[bmcd: /dev/ttyS1 lost at 2026-11-25T10:00:00Z: read: input/output error]
//	[bmcd: /dev/ttyS1 reopened after 1.2s]
//
// A line-settings change made with [Console.SetMode] is marked the same
// way ("[bmcd: mode 1500000 8N1]") and is applied again on every reopen.
package console
