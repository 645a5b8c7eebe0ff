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
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
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
	tb.Helper()
	bin, err := binaries()
	require.NoError(tb, err)
	cmd := exec.Command(filepath.Join(bin, "bmcctl"), append([]string{"flash"}, args...)...)
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
	lat := make([]time.Duration, 0, n)
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
// the real bmcd binary, one client on slot 3, side by side: with the
// daemon idle, then while bmcctl uploads and flashes a raw image
// (-bench-image-mib) to slot 1 with verification. It also counts the
// state writer's fsyncs over 1,000 power requests (with strace, when
// installed). Run with -benchtime 1x (make bench-daemon).
func BenchmarkDaemonPowerRoundTrip(b *testing.B) {
	mib := *benchImageMiB
	d, home := flashDaemon(b, fmt.Sprintf("emmc_mib: %d", mib+64))
	img := filepath.Join(b.TempDir(), "image.img")
	writeRandomImage(b, img, mib)
	c := apiClient(b, d)
	const slot, requests = 3, 2000
	for b.Loop() {
		// Warm up the connection and the daemon.
		_, _ = powerLatencies(b, c, slot, 200, nil)
		idle, _ := powerLatencies(b, c, slot, requests, nil)

		done := startFlash(b, d, home, "--slot", "1", img)
		busy, err := powerLatencies(b, c, slot, 1<<30, done)
		require.NoError(b, err, "bmcd: %s", d.stderr)

		fsyncs, traced := countFsyncs(b, d.cmd.Process.Pid, func() {
			_, _ = powerLatencies(b, c, slot, 1000, nil)
		})

		slices.Sort(idle)
		slices.Sort(busy)
		require.NotEmpty(b, busy, "no power request completed during the flash; bmcd: %s", d.stderr)
		p99i, p99b := percentile(idle, 0.99), percentile(busy, 0.99)
		b.Logf("power round trip through bmcd, one client: idle p50 %v p99 %v (%d requests); "+
			"flashing %d MiB: p50 %v p99 %v (%d requests); p99 ratio %.2f (target <= 2)",
			percentile(idle, 0.5), p99i, len(idle), mib, percentile(busy, 0.5), p99b, len(busy),
			float64(p99b)/float64(p99i))
		b.ReportMetric(float64(p99i.Microseconds())/1000, "p99-idle-ms")
		b.ReportMetric(float64(p99b.Microseconds())/1000, "p99-flash-ms")
		b.ReportMetric(float64(p99b)/float64(p99i), "p99-ratio")
		if traced {
			b.Logf("state writer: %d fsyncs over 1000 power requests", fsyncs)
			b.ReportMetric(float64(fsyncs), "fsyncs/1000req")
		}
	}
}
