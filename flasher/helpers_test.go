package flasher

import (
	"bytes"
	"compress/gzip"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// debianPackage maps the tools the tests run to their Debian packages.
var debianPackage = map[string]string{
	"xz":       "xz-utils",
	"zstd":     "zstd",
	"bzip2":    "bzip2",
	"gzip":     "gzip",
	"bmaptool": "bmap-tools",
	"losetup":  "mount",
}

var aptMu sync.Mutex

// requireTool returns the path of a Debian tool the test needs. When it
// is missing and the test runs as root it installs it; if it is still
// missing the test fails under CI=true and is skipped elsewhere.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	pkg := debianPackage[name]
	if os.Geteuid() == 0 && pkg != "" {
		aptMu.Lock()
		if _, err := exec.LookPath(name); err != nil {
			t.Logf("installing %s for %s", pkg, name)
			apt := func(args ...string) error {
				cmd := exec.Command("apt-get", args...)
				cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Logf("apt-get %v: %v\n%s", args, err, out)
				}
				return err
			}
			install := []string{"install", "-y", "-qq", "--no-install-recommends", pkg}
			if apt(install...) != nil && apt("update", "-qq") == nil {
				_ = apt(install...) // with fresh package lists
			}
		}
		aptMu.Unlock()
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (Debian package %s) is required under CI=true", name, pkg)
	}
	t.Skipf("%s not installed (Debian package %s)", name, pkg)
	return ""
}

// requireRoot skips (or fails under CI=true) unless the test runs as root
// with loop devices available.
func requireLoop(t testing.TB) {
	t.Helper()
	_, err := os.Stat("/dev/loop-control")
	switch {
	case os.Geteuid() == 0 && err == nil:
		requireTool(t, "losetup")
		return
	case os.Getenv("CI") == "true":
		t.Fatalf("loop devices need root and /dev/loop-control under CI=true (uid %d, %v)", os.Geteuid(), err)
	}
	t.Skipf("loop devices need root and /dev/loop-control (uid %d, %v)", os.Geteuid(), err)
}

// makeImage returns a realistic image: runs of zeros, random bytes and
// text, some of them not block aligned.
func makeImage(size int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	img := make([]byte, size)
	text := []byte("Lorem ipsum dolor sit amet, turing pi compute module eMMC. ")
	for pos := 0; pos < size; {
		n := min(4096*(1+r.IntN(64))+r.IntN(3)*511, size-pos)
		switch r.IntN(3) {
		case 0: // zeros
		case 1:
			for i := range n {
				img[pos+i] = byte(r.Uint32())
			}
		case 2:
			for i := range n {
				img[pos+i] = text[(pos+i)%len(text)]
			}
		}
		pos += n
	}
	return img
}

// compress encodes img with the stdlib (gzip) or the Debian tool of the
// format.
func compress(t testing.TB, f Format, img []byte) []byte {
	t.Helper()
	switch f {
	case Raw:
		return img
	case Gzip:
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		_, err := zw.Write(img)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		return b.Bytes()
	}
	tool := map[Format][]string{XZ: {"xz", "-c", "-1"}, Zstd: {"zstd", "-q", "-c"}, Bzip2: {"bzip2", "-c", "-1"}}[f]
	path := requireTool(t, tool[0])
	cmd := exec.Command(path, tool[1:]...)
	cmd.Stdin = bytes.NewReader(img)
	out, err := cmd.Output()
	require.NoError(t, err)
	return out
}

// newTargetFile makes a file of size bytes filled with fill and returns
// its path.
func newTargetFile(t testing.TB, size int, fill byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "emmc.img")
	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte{fill}, size), 0o644))
	return path
}

// writeFile writes data to a new file in a temporary directory.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

// flashTo opens path as a target and flashes src onto it.
func flashTo(t testing.TB, ctx context.Context, src Source, path string, opts Options) (Result, error) {
	t.Helper()
	dst, err := OpenTarget(path)
	require.NoError(t, err)
	defer func() { require.NoError(t, dst.Close()) }()
	return Flash(ctx, src, dst, opts)
}
