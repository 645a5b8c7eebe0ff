package clustertest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

var (
	// subnetNext spreads this process's claims over the subnets.
	subnetNext atomic.Int64
	// netnsAddMu serialises ip netns add (see Network.link).
	netnsAddMu sync.Mutex
)

// ownerAlias marks a test bridge with the process that made it.
const ownerAlias = "bmcd-test-pid="

// claimBridge creates the bridge of a free test subnet. The bridge's
// name holds the subnet number, so creating it claims the subnet across
// test processes: creating a name that exists fails. A bridge whose
// owner (its alias) has died, a test binary killed before its cleanup,
// is removed with its namespaces and claimed again.
func claimBridge() (int, string, error) {
	start := int(subnetNext.Add(1)) + os.Getpid()
	for k := range 250 {
		s := (start+k)%250 + 1
		name := fmt.Sprintf("bmct%d", s)
		out, err := exec.Command("ip", "link", "add", "name", name, "type", "bridge").CombinedOutput()
		if err != nil && bytes.Contains(out, []byte("exists")) && reclaim(name) {
			out, err = exec.Command("ip", "link", "add", "name", name, "type", "bridge").CombinedOutput()
		}
		if err == nil {
			if err := run("ip", "link", "set", name, "alias", ownerAlias+strconv.Itoa(os.Getpid())); err != nil {
				_ = run("ip", "link", "del", name)
				return 0, "", err
			}
			return s, name, nil
		}
		if !bytes.Contains(out, []byte("exists")) {
			return 0, "", fmt.Errorf("ip link add %s type bridge: %w: %s", name, err, out)
		}
	}
	return 0, "", errors.New("no free test subnet in " + netBase + ".1-250.0/24")
}

// reclaim removes a test bridge whose owner process is gone, with its
// nodes' namespaces and their processes, and reports whether it did. A
// bridge without the alias yet is being claimed: it is left alone.
func reclaim(bridge string) bool {
	b, err := os.ReadFile("/sys/class/net/" + bridge + "/ifalias")
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(string(b)), ownerAlias))
	if err != nil || !strings.HasPrefix(string(b), ownerAlias) || syscall.Kill(pid, 0) != syscall.ESRCH {
		return false
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		ns, _, _ := strings.Cut(line, " ")
		if strings.HasPrefix(ns, bridge+"-") {
			for _, p := range nsPids(ns) {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	}
	return exec.Command("ip", "link", "del", bridge).Run() == nil
}
