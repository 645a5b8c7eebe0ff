package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// checkClock requires a synchronised clock: certificates made with a wrong
// clock fail later as "not yet valid". It asks timedatectl, then chrony,
// then systemd-timesyncd's marker file, taking the first that answers.
func checkClock(ctx context.Context, r Runner) (bool, string) {
	v, err := firstLine(ctx, r, CmdClockTimedatectl)
	switch {
	case err == nil && v == "yes":
		return true, "NTPSynchronized=yes (timedatectl)"
	case err == nil:
		return false, fmt.Sprintf("NTPSynchronized=%s (timedatectl); enable NTP (timedatectl set-ntp true) and wait for it to sync", v)
	case !isExit(err):
		return false, err.Error()
	}
	res, err := r.Run(ctx, CmdClockChrony, nil)
	switch {
	case err == nil:
		leap := field(string(res.Stdout), "Leap status")
		if leap == "Normal" {
			return true, "leap status Normal (chronyc)"
		}
		return false, fmt.Sprintf("chrony not synchronised (leap status %q); check its NTP sources", leap)
	case !isExit(err):
		return false, err.Error()
	}
	_, err = r.Run(ctx, CmdClockTimesyncd, nil)
	switch {
	case err == nil:
		return true, "synchronised (systemd-timesyncd)"
	case !isExit(err):
		return false, err.Error()
	}
	return false, "no time service reports the clock synchronised (timedatectl, chronyc, systemd-timesyncd); the node has no RTC, so enable NTP"
}

// field returns the value of a "Key : value" line.
func field(out, key string) string {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

const cgroupHint = "add cgroup_enable=memory to the kernel command line (cmdline.txt on a Pi) and reboot"

// checkMemoryCgroup requires the memory controller k3s's kubelet needs:
// cgroup v2 lists it in cgroup.controllers; on v1 /proc/cgroups marks it
// enabled.
func checkMemoryCgroup(ctx context.Context, r Runner) (bool, string) {
	res, err := r.Run(ctx, CmdCgroupV2, nil)
	switch {
	case err == nil:
		for _, c := range strings.Fields(string(res.Stdout)) {
			if c == "memory" {
				return true, "memory controller enabled (cgroup v2)"
			}
		}
		return false, "memory controller missing from /sys/fs/cgroup/cgroup.controllers; " + cgroupHint
	case !isExit(err):
		return false, err.Error()
	}
	res, err = r.Run(ctx, CmdCgroupV1, nil)
	if err != nil {
		return false, err.Error()
	}
	sc := bufio.NewScanner(strings.NewReader(string(res.Stdout)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "memory" {
			if f[3] == "1" {
				return true, "memory cgroup enabled (cgroup v1)"
			}
			return false, "memory cgroup disabled in /proc/cgroups; " + cgroupHint
		}
	}
	return false, "no memory cgroup in /proc/cgroups; " + cgroupHint
}

// k3sArch maps uname -m to the architectures k3s ships: arm64, arm (armhf,
// ARMv7 and up) and amd64.
var k3sArch = map[string]string{
	"aarch64": "arm64", "arm64": "arm64",
	"armv7l": "arm", "armv8l": "arm",
	"x86_64": "amd64", "amd64": "amd64",
}

func checkArch(ctx context.Context, r Runner) (string, bool, string) {
	m, err := firstLine(ctx, r, CmdArch)
	if err != nil {
		return "", false, err.Error()
	}
	if a, ok := k3sArch[m]; ok {
		return a, true, fmt.Sprintf("%s (k3s %s)", m, a)
	}
	return "", false, fmt.Sprintf("machine %q is not one k3s supports (arm64, armv7 or amd64)", m)
}

// checkDisk reads the "Available" column (KiB) of df -P.
func checkDisk(ctx context.Context, r Runner, min int64) (int64, bool, string) {
	res, err := r.Run(ctx, CmdDiskFree, nil)
	if err != nil {
		return 0, false, err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(res.Stdout)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(lines) < 2 || len(f) < 6 {
		return 0, false, fmt.Sprintf("cannot read %q output %q", CmdDiskFree, res.Stdout)
	}
	kib, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil || kib < 0 {
		return 0, false, fmt.Sprintf("cannot read available space %q from %q", f[3], CmdDiskFree)
	}
	free := kib << 10
	if free < min {
		return free, false, fmt.Sprintf("%s free under /var/lib (on %s), need %s", size(free), f[5], size(min))
	}
	return free, true, fmt.Sprintf("%s free under /var/lib (on %s)", size(free), f[5])
}

func size(b int64) string {
	return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
}

// isExit tells a command that ran and failed from one that could not run.
func isExit(err error) bool {
	var ee *ExitError
	return errors.As(err, &ee)
}
