package main_test

// Benchmarks of the real bmcd binary on the simulated board: what a user
// sees of the daemon while it flashes (make bench-daemon). They print
// figures and assert nothing about time.

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
)

var benchImageMiB = flag.Int("bench-image-mib", 512, "size of the image the daemon benchmarks flash, in MiB")

// writeRandomImage writes a raw image of mib MiB to path without holding
// it in memory: random data with runs of zeros, like a file system.
func writeRandomImage(tb testing.TB, path string, mib int) {
	tb.Helper()
	f, err := os.Create(path)
	require.NoError(tb, err)
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(uint64(mib), 7))
	block := make([]byte, 64<<10)
	for range mib * 16 {
		clear(block)
		if r.IntN(3) != 0 {
			for i := 0; i < len(block); i += 8 {
				v := r.Uint64()
				for k := range 8 {
					block[i+k] = byte(v >> (8 * k))
				}
			}
		}
		_, err := w.Write(block)
		require.NoError(tb, err)
	}
	require.NoError(tb, w.Flush())
	require.NoError(tb, f.Close())
}

// apiClient logs in to d with the admin password.
func apiClient(tb testing.TB, d *daemon) *client.Client {
	tb.Helper()
	c := &client.Client{BaseURL: d.url, HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}
	_, err := c.Login(context.Background(), "admin", d.password)
	require.NoError(tb, err)
	return c
}

// startFlash runs bmcctl flash in the background; the channel gets its
// error, with bmcctl's stderr, when it ends.
func startFlash(tb testing.TB, d *daemon, home string, args ...string) <-chan error {
	return startFlashUnder(tb, d, home, nil, args...)
}

// startFlashUnder is startFlash with bmcctl run by the command prefix
// (chrt --idle 0, say).
func startFlashUnder(tb testing.TB, d *daemon, home string, prefix []string, args ...string) <-chan error {
	tb.Helper()
	bin, err := binaries()
	require.NoError(tb, err)
	argv := append(append(append([]string{}, prefix...), filepath.Join(bin, "bmcctl"), "flash"), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "BMC_HOST="+d.url, "BMC_PASSWORD=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(tb, cmd.Start())
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("bmcctl flash: %w: %s", err, stderr.String())
		}
		done <- err
	}()
	return done
}

// powerLatencies sends power on/off to slot, one request at a time,
// until n are done or stop is closed, and returns each round trip.
func powerLatencies(tb testing.TB, c *client.Client, slot, n int, stop <-chan error) ([]time.Duration, error) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, min(n, 1<<16)) // n is "until stop" for a flash
	for i := range n {
		select {
		case err := <-stop:
			return lat, err
		default:
		}
		action := "on"
		if i%2 == 1 {
			action = "off"
		}
		t0 := time.Now()
		if _, err := c.Power(ctx, slot, apitype.PowerRequest{Action: action}); err != nil {
			tb.Fatalf("power %s slot %d: %v", action, slot, err)
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, nil
}

// tail is the end of a daemon's log, for failure messages.
func tail(log string) string { return log[max(0, len(log)-2000):] }

// percentile returns the p-th quantile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[int(p*float64(len(sorted)-1))]
}

var straceCallsRE = regexp.MustCompile(`(?m)^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync)\s*$`)

// countFsyncs counts the fsync and fdatasync calls of pid and its threads
// while fn runs, with strace; ok is false when strace is not installed.
func countFsyncs(tb testing.TB, pid int, fn func()) (n int, ok bool) {
	tb.Helper()
	strace, err := exec.LookPath("strace")
	if err != nil {
		fn()
		return 0, false
	}
	out := filepath.Join(tb.TempDir(), "strace.txt")
	cmd := exec.Command(strace, "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", out, "-p", strconv.Itoa(pid))
	pr, err := cmd.StderrPipe()
	require.NoError(tb, err)
	require.NoError(tb, cmd.Start())
	// strace says "Process N attached" for each thread once it traces it.
	attached := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "attached") {
				once.Do(func() { close(attached) })
			}
		}
	}()
	select {
	case <-attached:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		tb.Fatal("strace did not attach within 10 s")
	}
	fn()
	require.NoError(tb, cmd.Process.Signal(os.Interrupt))
	_ = cmd.Wait()
	raw, err := os.ReadFile(out)
	require.NoError(tb, err)
	for _, m := range straceCallsRE.FindAllStringSubmatch(string(raw), -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n, true
}

// BenchmarkDaemonPowerRoundTrip measures the power round trip through
// the real bmcd binary, one client on slot 3, for each flash.priority
// (normal, then background), while a raw image (-bench-image-mib) is
// flashed to slot 1 with verification:
//   - at the USB 2.0 pace: bmcd downloads the image from a server that
//     sends it at usbPace, the rate the board's eMMC takes it, so the
//     flash runs as fast as it can on the board; and at three times
//     that, for the board's slower CPU;
//   - flat out, bmcctl uploading on the same cores, which the board
//     cannot do: the simulated eMMC is a file and takes writes at memory
//     speed, and the two CPUs are saturated;
//   - flat out with bmcctl under the idle policy (chrt --idle 0), a
//     sender elsewhere.
//
// Before each flash it measures an idle window; the idle p99 is over all
// of them, so drift over the run falls on both sides. Each window logs
// the share of the CPUs that was busy and that the hypervisor stole. For
// background, two controls with no flash: idle-policy CPU burners, in
// user mode and in the kernel. It also counts the state writer's fsyncs
// over 1,000 power requests (with strace, when installed). Run with
// -benchtime 1x (make bench-daemon).
func BenchmarkDaemonPowerRoundTrip(b *testing.B) {
	mib := *benchImageMiB
	img := filepath.Join(b.TempDir(), "image.img")
	writeRandomImage(b, img, mib)
	chrt := needTool(b, "chrt")
	const slot, requests = 3, 2000
	paced, paced3 := pacedServer(b, img, usbPace), pacedServer(b, img, 3*usbPace)
	for b.Loop() {
		for _, priority := range []string{"normal", "background"} {
			d, home := daemonWithConfig(b, fmt.Sprintf("sim:\n  usb_timing: fast\n  emmc_mib: %d\nflash:\n  priority: %s\n", mib+64, priority))
			c := apiClient(b, d)
			// Warm up the connection and the daemon.
			_, _ = powerLatencies(b, c, slot, 200, nil)

			// An idle window before each flash, pooled: the idle p99 is
			// taken over the same stretch of time as the flashes.
			var idle []time.Duration
			var idleWindows, busy []window
			for _, run := range []struct {
				name, metric string
				prefix       []string
				args         []string
			}{
				{fmt.Sprintf("bmcd downloading at %d MB/s (USB 2.0 pace)", usbPace/1_000_000), "-usbpace", nil, []string{"--url", paced.URL + "/image.img"}},
				{fmt.Sprintf("bmcd downloading at %d MB/s (3 × the USB 2.0 pace)", 3*usbPace/1_000_000), "-usbpace3", nil, []string{"--url", paced3.URL + "/image.img"}},
				{"bmcctl uploading flat out on the same cores", "-flatout", nil, []string{img}},
				{"bmcctl uploading flat out under chrt --idle 0", "-flatout-remote", []string{chrt, "--idle", "0"}, []string{img}},
			} {
				w := measure(b, d, "idle", func() ([]time.Duration, error) { return powerLatencies(b, c, slot, requests, nil) })
				idle = append(idle, w.lat...)
				idleWindows = append(idleWindows, w)
				w = measure(b, d, run.name, func() ([]time.Duration, error) {
					done := startFlashUnder(b, d, home, run.prefix, append([]string{"--slot", "1"}, run.args...)...)
					return powerLatencies(b, c, slot, 1<<30, done)
				})
				require.NotEmpty(b, w.lat, "no power request completed during the flash; bmcd: %s", d.stderr)
				w.metric = run.metric
				b.ReportMetric(float64(mib)/w.took.Seconds(), priority+"-flash"+run.metric+"-MiB/s")
				busy = append(busy, w)
			}
			if priority == "background" {
				// Controls, no flash: what two idle-policy processes that
				// only burn CPU, in user mode and in the kernel, do to the
				// tail on this machine's kernel.
				for _, control := range []struct{ name, metric, script string }{
					{"control, no flash: 2 × a shell loop under chrt --idle 0 (user mode)", "-control-user", "while :; do :; done"},
					{"control, no flash: 2 × dd if=/dev/zero of=/dev/null bs=2M under chrt --idle 0 (kernel mode)", "-control-kernel", "exec dd if=/dev/zero of=/dev/null bs=2M"},
				} {
					w := measure(b, d, control.name, func() ([]time.Duration, error) {
						return powerLatencies(b, c, slot, 1<<30, burn(b, chrt, control.script, 2, 4*time.Second))
					})
					w.metric = control.metric
					busy = append(busy, w)
				}
			}

			slices.Sort(idle)
			p99i := percentile(idle, 0.99)
			var idleBusy, idleBMCD float64
			for _, w := range idleWindows {
				idleBusy += w.cpu.busy / float64(len(idleWindows))
				idleBMCD += w.bmcdShare / float64(len(idleWindows))
			}
			b.Logf("flash.priority %s: power round trip through bmcd, one client, idle (%d windows pooled, CPUs %.0f %% busy, bmcd %.0f %%): p50 %v p99 %v (%d requests)",
				priority, len(idleWindows), idleBusy*100, idleBMCD*100, percentile(idle, 0.5), p99i, len(idle))
			b.ReportMetric(float64(p99i.Microseconds())/1000, priority+"-p99-idle-ms")
			for _, w := range busy {
				slices.Sort(w.lat)
				p99b := percentile(w.lat, 0.99)
				b.Logf("flash.priority %s: %s, %.1f s, CPUs %.0f %% busy (bmcd %.0f %%), %.1f %% stolen: p50 %v p99 %v (%d requests); p99 ratio %.2f (target <= 2)",
					priority, w.name, w.took.Seconds(), w.cpu.busy*100, w.bmcdShare*100, w.cpu.steal*100, percentile(w.lat, 0.5), p99b, len(w.lat), float64(p99b)/float64(p99i))
				b.ReportMetric(float64(p99b)/float64(p99i), priority+"-p99-ratio"+w.metric)
			}
			if priority != "background" {
				continue
			}
			fsyncs, traced := countFsyncs(b, d.cmd.Process.Pid, func() {
				_, _ = powerLatencies(b, c, slot, 1000, nil)
			})
			if traced {
				b.Logf("state writer: %d fsyncs over 1000 power requests", fsyncs)
				b.ReportMetric(float64(fsyncs), "fsyncs/1000req")
			}
		}
	}
}

// window is the round trips measured while one thing ran, with the
// machine's CPU use over that time.
type window struct {
	name, metric string
	lat          []time.Duration
	took         time.Duration
	cpu          cpuShare
	bmcdShare    float64 // of all CPUs' time, bmcd's own
}

// measure runs fn, which returns round trips, and times it, the CPUs and
// d's share of them.
func measure(tb testing.TB, d *daemon, name string, fn func() ([]time.Duration, error)) window {
	tb.Helper()
	before, bmcdBefore := readCPUTimes(tb), processTicks(tb, d.cmd.Process.Pid)
	start := time.Now()
	lat, err := fn()
	require.NoError(tb, err, name)
	w := window{name: name, lat: lat, took: time.Since(start), cpu: readCPUTimes(tb).since(before)}
	ticks := float64(processTicks(tb, d.cmd.Process.Pid) - bmcdBefore)
	w.bmcdShare = ticks / userHZ / w.took.Seconds() / float64(runtime.NumCPU())
	return w
}

// userHZ is the unit of /proc's CPU times (USER_HZ): 100 on every
// architecture Linux builds bmcd for.
const userHZ = 100

// processTicks is the user and system time of pid's threads, and of its
// children that ended (xz, bzip2), from /proc/pid/stat, in USER_HZ ticks.
func processTicks(tb testing.TB, pid int) uint64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(tb, err)
	// The fields after the command name, which may hold spaces: state is
	// the first, utime the 12th, stime, cutime, cstime the next three.
	_, rest, ok := strings.Cut(string(b), ") ")
	require.True(tb, ok, "/proc/%d/stat: %q", pid, b)
	f := strings.Fields(rest)
	require.GreaterOrEqual(tb, len(f), 15)
	var sum uint64
	for _, field := range f[11:15] {
		v, err := strconv.ParseUint(field, 10, 64)
		require.NoError(tb, err)
		sum += v
	}
	return sum
}

// cpuTimes is the first line of /proc/stat: jiffies of all CPUs.
type cpuTimes struct{ busy, steal, total uint64 }

// cpuShare is the fraction of all CPUs' time that was busy, and stolen
// by the hypervisor, between two readings.
type cpuShare struct{ busy, steal float64 }

func readCPUTimes(tb testing.TB) cpuTimes {
	tb.Helper()
	b, err := os.ReadFile("/proc/stat")
	require.NoError(tb, err)
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	require.GreaterOrEqual(tb, len(f), 9, "/proc/stat: %q", line)
	var v [8]uint64
	for i := range v {
		v[i], err = strconv.ParseUint(f[i+1], 10, 64)
		require.NoError(tb, err)
	}
	t := cpuTimes{steal: v[7]}
	for i, x := range v {
		t.total += x
		if i != 3 && i != 4 { // idle, iowait
			t.busy += x
		}
	}
	return t
}

func (t cpuTimes) since(before cpuTimes) cpuShare {
	total := float64(t.total - before.total)
	if total == 0 {
		return cpuShare{}
	}
	return cpuShare{busy: float64(t.busy-before.busy) / total, steal: float64(t.steal-before.steal) / total}
}

// burn runs n copies of the shell script under the idle policy for d;
// the channel is closed when they have been killed.
func burn(tb testing.TB, chrt, script string, n int, d time.Duration) <-chan error {
	tb.Helper()
	var cmds []*exec.Cmd
	for range n {
		cmd := exec.Command(chrt, "--idle", "0", "sh", "-c", script)
		require.NoError(tb, cmd.Start())
		cmds = append(cmds, cmd)
	}
	done := make(chan error)
	time.AfterFunc(d, func() {
		for _, cmd := range cmds {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		close(done)
	})
	return done
}

var (
	benchBigMiB  = flag.Int("bench-big-mib", 2048, "size of the image BenchmarkDaemonMemory streams in with API clients polling, in MiB")
	benchSoakMiB = flag.Int("bench-soak-mib", 16, "size of the images BenchmarkDaemonMemory flashes in a row, in MiB")
	benchRounds  = flag.Int("bench-rounds", 20, "flashes of each format in BenchmarkDaemonMemory")
)

// resetPeak resets the kernel's peak RSS (VmHWM) of pid.
func resetPeak(tb testing.TB, pid int) {
	tb.Helper()
	require.NoError(tb, os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0))
}

// pollers runs n API clients that each list the slots and the jobs in a
// loop, as phones and bmcctl watchers do, until the returned stop is
// called.
func pollers(tb testing.TB, d *daemon, n int) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		c := apiClient(tb, d)
		wg.Go(func() {
			for ctx.Err() == nil {
				_, _ = c.Slots(ctx)
				_, _ = c.Jobs(ctx)
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// rssSplit says how much of pid's RSS is anonymous memory and how much
// file-backed pages (the binary's code).
func rssSplit(tb testing.TB, pid int) string {
	tb.Helper()
	return fmt.Sprintf("anonymous %.1f MiB, file-backed %.1f MiB",
		float64(procStatus(tb, pid, "RssAnon"))/1024, float64(procStatus(tb, pid, "RssFile"))/1024)
}

// medianRSS samples pid's RSS every 50 ms for d and returns the median
// and the largest sample, in kB.
func medianRSS(tb testing.TB, pid int, d time.Duration) (median, largest int64) {
	tb.Helper()
	var samples []int64
	for start := time.Now(); time.Since(start) < d; {
		samples = append(samples, procStatus(tb, pid, "VmRSS"))
		time.Sleep(50 * time.Millisecond) // sampling a process' RSS: nothing to wait on
	}
	slices.Sort(samples)
	return samples[len(samples)/2], samples[len(samples)-1]
}

// steadyRSS returns pid's RSS once it is steady: the median over 2 s,
// when it is within 128 KiB of the previous 2 s's (in kB). A daemon's
// heap under a steady load of API clients takes some seconds to reach
// the size its collections keep it at; a sample from before that is not
// its idle.
func steadyRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	prev, _ := medianRSS(tb, pid, 2*time.Second)
	for range 15 {
		m, _ := medianRSS(tb, pid, 2*time.Second)
		if abs(m-prev) <= 128 {
			return m
		}
		prev = m
	}
	tb.Fatalf("bmcd's RSS did not steady within 32 s (last %d kB)", prev)
	return 0
}

func abs(n int64) int64 { return max(n, -n) }

// settle waits until pid's RSS is at most limit kB and returns how long
// that took, or -1 if it did not within 30 s.
func settle(tb testing.TB, pid int, limit int64) time.Duration {
	start := time.Now()
	for time.Since(start) < 30*time.Second {
		if procStatus(tb, pid, "VmRSS") <= limit {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond) // sampling a process' RSS: nothing to wait on
	}
	return -1
}

// BenchmarkDaemonMemory measures the real bmcd's memory on the simulated
// board with 16 API clients polling: the peak RSS (VmHWM) while a
// -bench-big-mib raw image streams in over HTTP and is flashed and
// verified; then, for every format and for prepared flashes,
// -bench-rounds flashes in a row of a -bench-soak-mib image: the peak
// RSS and the time each flash's end takes to bring RSS back to idle +
// 4 MiB, idle being the steady RSS of the daemon and its 16 clients
// before any flash. It also reports the idle after one flash of each
// format. It prints the figures (make bench-mem) and asserts none.
func BenchmarkDaemonMemory(b *testing.B) {
	big, small := *benchBigMiB, *benchSoakMiB
	d, home := flashDaemon(b, fmt.Sprintf("emmc_mib: %d", max(big, small)+64))
	pid := d.cmd.Process.Pid
	dir := b.TempDir()
	bigImg := filepath.Join(dir, "big.img")
	writeRandomImage(b, bigImg, big)
	smallImg := filepath.Join(dir, "small.img")
	writeRandomImage(b, smallImg, small)
	images := map[string]string{"raw": smallImg}
	for _, tool := range []string{"gzip", "xz", "zstd", "bzip2"} {
		images[tool] = compress(b, tool, smallImg)
	}
	keygen := needTool(b, "ssh-keygen")
	key := filepath.Join(dir, "id_ed25519")
	out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput()
	require.NoError(b, err, "%s", out)
	prepared := compress(b, "xz", fbt.Build(b, fbt.Layout{DiskMiB: 12, StartMiB: 1, SizeMiB: 8, FATBits: 16, Cluster: 2, Label: "bootfs", Files: map[string]string{
		"config.txt": "arm_64bit=1\n", "cmdline.txt": "console=serial0,115200 root=PARTUUID=1-02 rootwait\n", "issue.txt": "Raspberry Pi reference 2025-05-13\n"}}))

	for b.Loop() {
		stop := pollers(b, d, 16)
		// Warm: every handler the clients use has run.
		for range 10 {
			_, _ = apiClient(b, d).Slots(context.Background())
		}
		idle := steadyRSS(b, pid)
		coldSplit := rssSplit(b, pid)
		resetPeak(b, pid)
		require.NoError(b, <-startFlash(b, d, home, "--slot", "1", bigImg), "bmcd: %s", tail(d.stderr.String()))
		bigPeak := procStatus(b, pid, "VmHWM")
		bigSettle := settle(b, pid, idle+4<<10)
		b.Logf("idle RSS %.1f MiB with 16 API clients polling, before any flash, steady median over 2 s (%s)", float64(idle)/1024, coldSplit)
		b.Logf("%d MiB raw image uploaded and flashed: peak RSS %.1f MiB (target <= 40), back to idle + 4 MiB in %v",
			big, float64(bigPeak)/1024, bigSettle)
		b.ReportMetric(float64(bigPeak)/1024, "peak-big-MiB")

		formats := []string{"raw", "gzip", "xz", "zstd", "bzip2", "prepared"}
		flashArgs := func(format string, slot int) []string {
			if format == "prepared" {
				return []string{"--slot", strconv.Itoa(slot), prepared, "--hostname", fmt.Sprintf("node%d", slot), "--ssh-key", key + ".pub"}
			}
			return []string{"--slot", strconv.Itoa(slot), images[format]}
		}
		// What the daemon keeps once every format's path has run: code
		// pages faulted in (file-backed, clean) and its heap's size under
		// the pollers; reported, the rounds settle against the cold idle.
		for _, format := range formats {
			require.NoError(b, <-startFlash(b, d, home, flashArgs(format, 1)...), "bmcd: %s", tail(d.stderr.String()))
		}
		warm, _ := medianRSS(b, pid, 2*time.Second)
		b.Logf("idle RSS after one flash of each format, median over 2 s: %.1f MiB (%s)", float64(warm)/1024, rssSplit(b, pid))

		worstPeak, worstSettle := int64(0), time.Duration(0)
		for _, format := range formats {
			resetPeak(b, pid)
			var peak int64
			var slowest time.Duration
			for i := range *benchRounds {
				require.NoError(b, <-startFlash(b, d, home, flashArgs(format, 1+i%4)...), "bmcd: %s", tail(d.stderr.String()))
				s := settle(b, pid, idle+4<<10)
				if s < 0 || slowest >= 0 && s > slowest {
					slowest = s
				}
			}
			peak = procStatus(b, pid, "VmHWM")
			worstPeak = max(worstPeak, peak)
			if slowest < 0 || worstSettle >= 0 && slowest > worstSettle {
				worstSettle = slowest
			}
			after, largest := medianRSS(b, pid, 2*time.Second)
			b.Logf("%-8s %d flashes of %d MiB: peak RSS %.1f MiB, slowest return to idle + 4 MiB %v, RSS over the next 2 s %.1f MiB (median), %.1f MiB (largest)",
				format, *benchRounds, small, float64(peak)/1024, slowest, float64(after)/1024, float64(largest)/1024)
		}
		stop()
		b.ReportMetric(float64(worstPeak)/1024, "peak-soak-MiB")
		b.ReportMetric(worstSettle.Seconds(), "settle-s")
		b.ReportMetric(float64(idle)/1024, "idle-MiB")
		b.ReportMetric(float64(warm)/1024, "warm-idle-MiB")
	}
}

// usbPace is the rate a CM4's eMMC takes writes over USB 2.0 at best
// (design.md: ≈ 35 MB/s): a flash on the board runs no faster, and TCP
// back-pressure slows the sender to it.
const usbPace = 35_000_000

// pacedServer serves the file at path at bytesPerSec, as a sender held
// back by a USB 2.0 eMMC.
func pacedServer(tb testing.TB, path string, bytesPerSec int) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
		buf := make([]byte, 256<<10)
		start := time.Now()
		var sent int64
		for {
			n, err := f.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				sent += int64(n)
				due := start.Add(time.Duration(float64(sent) / float64(bytesPerSec) * float64(time.Second)))
				time.Sleep(time.Until(due))
			}
			if err != nil {
				return
			}
		}
	}))
	tb.Cleanup(srv.Close)
	return srv
}
