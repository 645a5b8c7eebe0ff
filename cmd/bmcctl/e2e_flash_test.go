package main_test

// End-to-end flashing: the real bmcctl uploads to a real bmcd on the
// simulated board, whose module boots over the simulated USB bus through
// the real rpiboot host and is written through the real flasher.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// needTool returns the path of a command-line tool; in CI a missing tool
// fails the test, elsewhere it skips it.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (make deps installs it)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// testImage writes an image of n bytes (random data with runs of zeros,
// like a file system image) and returns its path and bytes.
func testImage(t testing.TB, dir string, n int, seed uint64) (string, []byte) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	img := make([]byte, n)
	for off := 0; off < n; off += 64 << 10 {
		if r.IntN(3) == 0 {
			continue // a hole
		}
		end := min(off+64<<10, n)
		for i := off; i < end; i++ {
			img[i] = byte(r.Uint32())
		}
	}
	p := filepath.Join(dir, fmt.Sprintf("image-%d.img", seed))
	require.NoError(t, os.WriteFile(p, img, 0o644))
	return p, img
}

// compress runs tool (xz, zstd, gzip, bzip2) on path, keeping it, and
// returns the compressed file's path.
func compress(t testing.TB, tool, path string) string {
	t.Helper()
	bin := needTool(t, tool)
	ext := map[string]string{"xz": ".xz", "zstd": ".zst", "gzip": ".gz", "bzip2": ".bz2"}[tool]
	out, err := exec.Command(bin, "-k", "-f", "-q", path).CombinedOutput()
	require.NoError(t, err, "%s: %s", tool, out)
	return path + ext
}

// flashDaemon starts bmcd on the simulated board with fast USB timing and
// small eMMCs (64 MiB unless extra sets emmc_mib), plus the sim settings
// in extra (YAML lines), and logs bmcctl in.
func flashDaemon(t testing.TB, extra ...string) (*daemon, string) {
	t.Helper()
	yaml := "sim:\n  usb_timing: fast\n"
	if !slices.ContainsFunc(extra, func(l string) bool { return strings.HasPrefix(l, "emmc_mib:") }) {
		yaml += "  emmc_mib: 64\n"
	}
	for _, line := range extra {
		yaml += "  " + line + "\n"
	}
	return daemonWithConfig(t, yaml)
}

// daemonWithConfig starts bmcd with the config file yaml, logged in.
func daemonWithConfig(t testing.TB, yaml string) (*daemon, string) {
	t.Helper()
	stateDir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "bmcd.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(yaml), 0o644))
	d := startBMCD(t, stateDir, "--config", cfg)
	home := t.TempDir()
	r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin")
	require.Equal(t, 0, r.code, r.stderr)
	return d, home
}

// emmc is the simulated eMMC of slot.
func emmc(t testing.TB, d *daemon, slot int) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.stateDir, fmt.Sprintf("sim-emmc-slot%d.img", slot)))
	if os.IsNotExist(err) {
		return nil // never flashed
	}
	require.NoError(t, err)
	return b
}

// simHardware is the simulated board's signals, as bmcd saved them.
type simSlot struct {
	Power   bool `json:"power"`
	USBBoot bool `json:"usb_boot"`
}

func TestEndToEndFlash(t *testing.T) {
	t.Parallel()
	d, home := flashDaemon(t)
	dir := t.TempDir()
	path, img := testImage(t, dir, 3<<20+12345, 1)

	for _, tool := range []string{"", "xz", "zstd", "gzip", "bzip2"} {
		name := tool
		if name == "" {
			name = "raw"
		}
		t.Run(name, func(t *testing.T) {
			p := path
			if tool != "" {
				p = compress(t, tool, path)
			}
			r := bmcctl(t, d, home, "", "flash", "--slot", "1", p)
			require.Equal(t, 0, r.code, "stderr: %s\nbmcd: %s", r.stderr, d.stderr)
			assert.Contains(t, r.stdout, "slot 1 flashed")
			disk := emmc(t, d, 1)
			require.Len(t, disk, 64<<20, "the eMMC keeps its size")
			assert.True(t, bytes.Equal(img, disk[:len(img)]), "the eMMC starts with exactly the image")
		})
	}

	t.Run("power on after", func(t *testing.T) {
		_, img2 := testImage(t, dir, 1<<20, 2)
		p := filepath.Join(dir, "image-2.img")
		sum := sha256.Sum256(img2)
		r := bmcctl(t, d, home, "", "flash", "--slot", "2", "--sha256", hex.EncodeToString(sum[:]), "--power-on", p)
		require.Equal(t, 0, r.code, r.stderr)
		assert.True(t, bytes.Equal(img2, emmc(t, d, 2)[:len(img2)]))
		st := bmcctl(t, d, home, "", "-o", "json", "power", "status", "2")
		require.Equal(t, 0, st.code, st.stderr)
		assert.Contains(t, st.stdout, `"on"`)
	})

	checkStrapsReleased(t, d)
}

// TestEndToEndFlashFailures: images that cannot be flashed fail the job
// with a clear error and leave the slot off, the eMMC untouched where
// nothing could fit, and the USB boot strap released.
func TestEndToEndFlashFailures(t *testing.T) {
	t.Parallel()
	d, home := flashDaemon(t)
	dir := t.TempDir()
	path, _ := testImage(t, dir, 3<<20+12345, 1)

	corrupt := func(t *testing.T, p string) string {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		b[len(b)/2] ^= 0xff
		out := p + ".corrupt"
		require.NoError(t, os.WriteFile(out, b, 0o644))
		return out
	}
	failures := []struct {
		name  string
		args  func(t *testing.T) []string
		error string
	}{
		{"corrupt xz", func(t *testing.T) []string { return []string{corrupt(t, compress(t, "xz", path))} }, "xz"},
		{"truncated zstd", func(t *testing.T) []string {
			p := compress(t, "zstd", path)
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p+".cut", b[:len(b)/2], 0o644))
			return []string{p + ".cut"}
		}, "zstd"},
		{"wrong sha256", func(t *testing.T) []string {
			return []string{"--sha256", strings.Repeat("ab", 32), path}
		}, "sha256"},
		{"larger than the eMMC", func(t *testing.T) []string {
			big := filepath.Join(dir, "big.img")
			require.NoError(t, os.WriteFile(big, nil, 0o644))
			require.NoError(t, os.Truncate(big, 65<<20))
			return []string{big}
		}, "larger"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			before := emmc(t, d, 3)
			args := append([]string{"flash", "--slot", "3"}, tc.args(t)...)
			r := bmcctl(t, d, home, "", args...)
			assert.Equal(t, 1, r.code, "a failed job exits non-zero: %s", r.stdout)
			assert.Contains(t, strings.ToLower(r.stderr), tc.error)
			st := bmcctl(t, d, home, "", "-o", "json", "power", "status", "3")
			require.Equal(t, 0, st.code, st.stderr)
			assert.Contains(t, st.stdout, `"off"`, "the slot is left off")
			jobs := bmcctl(t, d, home, "", "-o", "json", "jobs")
			require.Equal(t, 0, jobs.code, jobs.stderr)
			var list []struct {
				ID    int64  `json:"id"`
				Slot  int    `json:"slot"`
				State string `json:"state"`
				Step  string `json:"step"`
				Error string `json:"error"`
			}
			require.NoError(t, json.Unmarshal([]byte(jobs.stdout), &list), jobs.stdout)
			last := list[0]
			for _, j := range list {
				if j.ID > last.ID {
					last = j
				}
			}
			assert.Equal(t, 3, last.Slot)
			assert.Equal(t, "failed", last.State)
			assert.Equal(t, "write", last.Step)
			assert.NotEmpty(t, last.Error)
			if tc.name == "larger than the eMMC" {
				assert.True(t, bytes.Equal(before, emmc(t, d, 3)), "nothing is written when the image cannot fit")
			}
		})
	}

	checkStrapsReleased(t, d)
}

// checkStrapsReleased stops d and checks that the USB boot strap of every
// slot is released whatever happened: the simulated hardware file records
// the signals when bmcd stops.
func checkStrapsReleased(t *testing.T, d *daemon) {
	t.Helper()
	d.stop(t)
	raw, err := os.ReadFile(filepath.Join(d.stateDir, "sim-hardware.json"))
	require.NoError(t, err)
	var hw []simSlot
	require.NoError(t, json.Unmarshal(raw, &hw), string(raw))
	require.Len(t, hw, 4)
	for i, s := range hw {
		assert.False(t, s.USBBoot, "slot %d: USB boot strap released", i+1)
	}
}

// procStatus reads a field in kB from /proc/PID/status.
func procStatus(t testing.TB, pid int, field string) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			require.NoError(t, err)
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// openFiles counts the process' file descriptors.
func openFiles(t testing.TB, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	require.NoError(t, err)
	return len(fds)
}

// TestEndToEndTwentyFlashes flashes twenty times in a row through the
// daemon and checks that it holds no more memory, file descriptors or
// threads after the last flash than after the fifth. It is a soak, run by
// make bench-soak (-soak), not by make test: on a loaded machine its
// counts of the daemon's resources are not steady enough to gate on.
func TestEndToEndTwentyFlashes(t *testing.T) {
	if !*soak {
		t.Skip("a soak: make bench-soak runs it")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	d, home := flashDaemon(t)
	dir := t.TempDir()
	path, img := testImage(t, dir, 16<<20, 3)
	xzPath := compress(t, "xz", path)
	pid := d.cmd.Process.Pid

	var rss5, fds5, threads5 int64
	for i := 1; i <= 20; i++ {
		slot := 1 + i%4
		r := bmcctl(t, d, home, "", "flash", "--slot", strconv.Itoa(slot), xzPath)
		require.Equal(t, 0, r.code, "flash %d: %s", i, r.stderr)
		if i == 5 {
			rss5, fds5, threads5 = procStatus(t, pid, "VmRSS"), int64(openFiles(t, pid)), procStatus(t, pid, "Threads")
		}
	}
	assert.True(t, bytes.Equal(img, emmc(t, d, 1)[:len(img)]))
	rss20, fds20, threads20 := procStatus(t, pid, "VmRSS"), int64(openFiles(t, pid)), procStatus(t, pid, "Threads")
	t.Logf("bmcd after flash 5: RSS %d kB, %d fds, %d threads; after flash 20: RSS %d kB, %d fds, %d threads; peak RSS %d kB",
		rss5, fds5, threads5, rss20, fds20, threads20, procStatus(t, pid, "VmHWM"))
	assert.Equal(t, fds5, fds20, "no file descriptor leaks")
	// The Go runtime returns freed memory lazily; a leak of one flash's
	// buffers (16 MiB) per flash would add 240 MiB over fifteen flashes.
	assert.Less(t, rss20-rss5, int64(16<<10), "RSS grew by %d kB over fifteen flashes", rss20-rss5)
	assert.LessOrEqual(t, threads20, threads5+4, "threads")
}

// TestEndToEndParallelFlashesOnTheHub: on the simulated v2.5 USB hub two
// slots flash at once through the daemon, and both end byte-exact with
// the hub's uplink back on the connector.
func TestEndToEndParallelFlashesOnTheHub(t *testing.T) {
	t.Parallel()
	d, home := flashDaemon(t, "usb: hub")
	dir := t.TempDir()
	paths, imgs := make([]string, 2), make([][]byte, 2)
	paths[0], imgs[0] = testImage(t, dir, 3<<20, 4)
	paths[1], imgs[1] = testImage(t, dir, 9<<20, 5)
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			results[i] = bmcctl(t, d, home, "", "flash", "--slot", strconv.Itoa(i+1), paths[i])
		})
	}
	wg.Wait()
	for i, r := range results {
		require.Equal(t, 0, r.code, "slot %d: %s\nbmcd: %s", i+1, r.stderr, d.stderr)
		assert.True(t, bytes.Equal(imgs[i], emmc(t, d, i+1)[:len(imgs[i])]), "slot %d written byte for byte", i+1)
	}
}
