package firstboottest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireTool returns the path of a command. When it is missing the test
// fails under CI=true (.ci/deps.sh installs it there) and is skipped
// elsewhere, naming the Debian package that provides it.
func RequireTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p := dir + "/" + name; isExec(p) {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (Debian package %s) is required under CI=true", name, pkg)
	}
	t.Skipf("%s not installed (Debian package %s)", name, pkg)
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

// Run runs a command with optional stdin and fails the test, showing its
// output, when it exits non-zero.
func Run(t testing.TB, stdin string, name string, args ...string) string {
	t.Helper()
	out, err := RunErr(stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// RunErr runs a command and returns its combined output and exit error.
func RunErr(stdin string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1", "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// RequireLoop skips (or fails under CI=true) unless the test runs as root
// with loop devices available.
func RequireLoop(t testing.TB) string {
	t.Helper()
	_, err := os.Stat("/dev/loop-control")
	switch {
	case os.Geteuid() == 0 && err == nil:
		return RequireTool(t, "losetup", "mount")
	case os.Getenv("CI") == "true":
		t.Fatalf("loop devices need root and /dev/loop-control under CI=true (uid %d, %v)", os.Geteuid(), err)
	}
	t.Skipf("loop devices need root and /dev/loop-control (uid %d, %v)", os.Geteuid(), err)
	return ""
}

// Loop attaches an image to a free loop device, detached at cleanup.
func Loop(t testing.TB, img string) string {
	t.Helper()
	losetup := RequireLoop(t)
	dev := strings.TrimSpace(Run(t, "", losetup, "--find", "--show", img))
	t.Cleanup(func() { _, _ = RunErr("", losetup, "--detach", dev) })
	return dev
}
