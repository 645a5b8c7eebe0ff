// Package simconsole gives the compute modules of the simulated board
// (package sim) serial consoles on real pseudo-terminals, so that the
// console code of bmcd takes the same path on a laptop as on hardware: it
// opens [Consoles.Device] with go.bug.st/serial as it opens /dev/ttyS1 on a
// Turing Pi 2.
//
// Each slot has one pseudo-terminal. The daemon side is the slave
// (/dev/pts/N); the simulated node drives the master. [Consoles] keeps a
// slave descriptor of its own open, in raw mode, for the life of the
// pseudo-terminal, so the daemon can close and reopen the slave as often as
// it likes without the node seeing a hang-up, and bytes pass through
// unchanged: the line discipline neither echoes nor translates them.
//
// # The simulated node
//
// A powered-off node writes nothing and discards what it receives: a module
// without power does not echo. Powering it on ([Consoles.SetPower]) or
// pulsing its reset line while on ([Consoles.Reset]) starts the boot log of
// a Raspberry Pi Compute Module 4 running Debian 12 from its first line,
// with kernel timestamps measured from power-on and paced by
// [Opts.LineDelay], and ends with a getty's login prompt. The node then
// behaves like a serial getty and a shell: it echoes what it receives,
// accepts any non-empty user name with any password (the password is not
// echoed), and understands uname, hostname, echo, whoami, exit and logout.
// Powering off stops the output at once and forgets the login.
//
// With [Opts.Boot] the node's operating system starts at each power-on and
// reset: it names the node (the boot log's hostname and the login prompt)
// and may print a line once sshd is up, a prepared image's first-boot
// marker. [Opts.Halt] stops it at power-off, reset and Close (package sim
// runs the node's SSH server this way).
//
// Input received while the boot log is being written is discarded, as
// nothing reads the UART until the getty starts.
//
// # Lost output
//
// Writes to the master never wait. When nobody reads the slave and the
// pseudo-terminal's buffer (some tens of KiB) is full, the bytes that do not
// fit are dropped, as a real UART loses what nobody listens to. So a node
// never blocks on its console, and SetPower, Reset and Close always return
// promptly.
package simconsole
