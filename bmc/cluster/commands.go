package cluster

// The exact commands preflight runs on a node, in one place so a simulated
// node can answer them. Each runs through the node's login shell.
const (
	// CmdHostname prints the node's hostname.
	CmdHostname = "hostname"
	// CmdArch prints the machine architecture (aarch64, armv7l, x86_64, …).
	CmdArch = "uname -m"
	// CmdClockTimedatectl prints "yes" or "no" on systemd systems.
	CmdClockTimedatectl = "timedatectl show -p NTPSynchronized --value"
	// CmdClockChrony is the fallback where timedatectl is missing: its
	// "Leap status" line reads "Normal" once chrony is synchronised.
	CmdClockChrony = "chronyc -n tracking"
	// CmdClockTimesyncd is the last fallback: systemd-timesyncd creates
	// this file once it has synchronised (exit 0), absent otherwise.
	CmdClockTimesyncd = "test -e /run/systemd/timesync/synchronized"
	// CmdCgroupV2 lists the cgroup v2 controllers; it fails on cgroup v1.
	CmdCgroupV2 = "cat /sys/fs/cgroup/cgroup.controllers"
	// CmdCgroupV1 lists cgroup v1 subsystems with an "enabled" column.
	CmdCgroupV1 = "cat /proc/cgroups"
	// CmdDiskFree prints free space, in KiB, of the file system holding
	// k3s's data (POSIX df format).
	CmdDiskFree = "df -Pk /var/lib"
)

// PreflightCommands lists every command preflight may run, for a simulated
// node to answer.
var PreflightCommands = []string{
	CmdHostname, CmdArch,
	CmdClockTimedatectl, CmdClockChrony, CmdClockTimesyncd,
	CmdCgroupV2, CmdCgroupV1,
	CmdDiskFree,
}
