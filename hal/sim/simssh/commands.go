package simssh

import (
	"fmt"
	"io"
	"strings"
)

// Node is what a command sees of the node it runs on.
type Node struct {
	Hostname string
	User     string
	// Machine is what uname -m reports: aarch64 (the default, a CM4 or
	// RK1 on Raspberry Pi OS 64-bit), armv7l (a Pi 3B on 32-bit Pi OS)
	// or x86_64. It decides which k3s binaries the node can run.
	Machine string
}

// machine is the node's uname -m.
func (n Node) machine() string {
	if n.Machine == "" {
		return defaultMachine
	}
	return n.Machine
}

// Command runs with its arguments (without its name), writes to stdout and
// stderr, and returns its exit status.
type Command func(n Node, args []string, stdout, stderr io.Writer) uint32

// The simulated module, as its commands report it (the console's boot log
// shows the same system).
const (
	defaultMachine = "aarch64"
	kernelRelease  = "6.6.31-v8+"
	osRelease      = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`
	// cgroupControllers is cgroup v2 on Raspberry Pi OS booted with
	// cgroup_enable=memory (the prepared image's cmdline.txt).
	cgroupControllers = "cpuset cpu io memory pids\n"
	// rootKiB and usedKiB size the root file system of a 32 GB eMMC.
	rootKiB = 30358348
	usedKiB = 2318040
)

// timesyncFile exists once systemd-timesyncd has synchronised the clock;
// the simulated node's clock is the host's, always synchronised.
const timesyncFile = "/run/systemd/timesync/synchronized"

// Commands is the default command table; a Config may extend it.
func Commands() map[string]Command {
	return map[string]Command{
		"true":     func(Node, []string, io.Writer, io.Writer) uint32 { return 0 },
		"false":    func(Node, []string, io.Writer, io.Writer) uint32 { return 1 },
		"hostname": hostname,
		"uname":    uname,
		"id":       id,
		"whoami":   func(n Node, _ []string, out, _ io.Writer) uint32 { fmt.Fprintln(out, n.User); return 0 },
		"cat":      cat,
		// What bmcd's preflight asks (bmc/cluster's Cmd* table).
		"timedatectl": timedatectl,
		"test":        test,
		"df":          df,
		"echo": func(_ Node, args []string, out, _ io.Writer) uint32 {
			fmt.Fprintln(out, strings.Join(args, " "))
			return 0
		},
	}
}

func hostname(n Node, args []string, out, errw io.Writer) uint32 {
	if len(args) > 0 {
		fmt.Fprintln(errw, "hostname: you must be root to change the host name")
		return 1
	}
	fmt.Fprintln(out, n.Hostname)
	return 0
}

func uname(n Node, args []string, out, errw io.Writer) uint32 {
	if len(args) == 0 {
		fmt.Fprintln(out, "Linux")
		return 0
	}
	if len(args) > 1 {
		fmt.Fprintf(errw, "uname: extra operand '%s'\n", args[1])
		return 1
	}
	switch args[0] {
	case "-s":
		fmt.Fprintln(out, "Linux")
	case "-n":
		fmt.Fprintln(out, n.Hostname)
	case "-r":
		fmt.Fprintln(out, kernelRelease)
	case "-m":
		fmt.Fprintln(out, n.machine())
	case "-a":
		fmt.Fprintf(out, "Linux %s %s #1762 SMP PREEMPT Mon May 20 11:00:00 BST 2024 %s GNU/Linux\n", n.Hostname, kernelRelease, n.machine())
	default:
		fmt.Fprintf(errw, "uname: invalid option -- '%s'\n", strings.TrimLeft(args[0], "-"))
		return 1
	}
	return 0
}

func id(n Node, args []string, out, errw io.Writer) uint32 {
	switch strings.Join(args, " ") {
	case "-un", "-u -n", "-nu":
		fmt.Fprintln(out, n.User)
	case "-u":
		fmt.Fprintln(out, uid(n.User))
	default:
		fmt.Fprintf(errw, "id: simulated node: only -un and -u\n")
		return 1
	}
	return 0
}

// uid is the user's id as Raspberry Pi OS gives it: 0 for root, 1000 for
// the first account.
func uid(user string) int {
	if user == "root" {
		return 0
	}
	return 1000
}

func cat(_ Node, args []string, out, errw io.Writer) uint32 {
	var status uint32
	for _, a := range args {
		switch a {
		case "/etc/os-release", "/usr/lib/os-release":
			io.WriteString(out, osRelease)
		case "/sys/fs/cgroup/cgroup.controllers":
			io.WriteString(out, cgroupControllers)
		default:
			fmt.Fprintf(errw, "cat: %s: No such file or directory\n", a)
			status = 1
		}
	}
	return status
}

// timedatectl answers `timedatectl show -p NTPSynchronized --value`, the
// one property bmcd asks.
func timedatectl(_ Node, args []string, out, errw io.Writer) uint32 {
	if strings.Join(args, " ") != "show -p NTPSynchronized --value" {
		fmt.Fprintln(errw, "timedatectl: simulated node: only show -p NTPSynchronized --value")
		return 1
	}
	fmt.Fprintln(out, "yes")
	return 0
}

// test answers `test -e PATH` for the files the simulated node has.
func test(_ Node, args []string, _, errw io.Writer) uint32 {
	if len(args) != 2 || args[0] != "-e" {
		fmt.Fprintln(errw, "test: simulated node: only -e PATH")
		return 2
	}
	switch args[1] {
	case timesyncFile, "/etc/os-release", "/sys/fs/cgroup/cgroup.controllers":
		return 0
	}
	return 1
}

// df answers `df -Pk [PATH]` (POSIX format, KiB) for the root file
// system, which holds every path on the simulated node.
func df(_ Node, args []string, out, errw io.Writer) uint32 {
	if len(args) == 0 || args[0] != "-Pk" || len(args) > 2 {
		fmt.Fprintln(errw, "df: simulated node: only -Pk [PATH]")
		return 1
	}
	fmt.Fprintln(out, "Filesystem     1024-blocks    Used Available Capacity Mounted on")
	fmt.Fprintf(out, "/dev/mmcblk0p2 %11d %7d %9d %7d%% /\n", rootKiB, usedKiB, rootKiB-usedKiB, (usedKiB*100+rootKiB-1)/rootKiB)
	return 0
}
