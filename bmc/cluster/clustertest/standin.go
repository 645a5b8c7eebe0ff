package clustertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var standin struct {
	once sync.Once
	path string
	err  error
}

// standinPackage is the stand-in's import path, built with the go tool.
const standinPackage = "github.com/turingpi-oss/bmcd/bmc/cluster/clustertest/k3sstandin"

// StandinBinary returns the path of the k3s stand-in (package
// k3sstandin), built once per test binary into a directory under the
// system temp dir that [RemoveStandin] removes (call it from TestMain).
// It is the release binary the nodes' curl serves, and the nodes' curl
// and systemctl.
func StandinBinary(t testing.TB) string {
	t.Helper()
	standin.once.Do(func() {
		dir, err := os.MkdirTemp("", "k3sstandin-")
		if err != nil {
			standin.err = err
			return
		}
		// World-readable: sshd sessions run as root here, but the
		// binary must stay reachable through the nodes' own mounts.
		_ = os.Chmod(dir, 0o755)
		p := filepath.Join(dir, "k3s")
		out, err := exec.Command("go", "build", "-ldflags=-s -w", "-o", p, standinPackage).CombinedOutput()
		if err != nil {
			standin.err = fmt.Errorf("go build %s: %w\n%s", standinPackage, err, out)
			return
		}
		standin.path = p
	})
	if standin.err != nil {
		t.Fatal(standin.err)
	}
	return standin.path
}

// StandinInstallScript is the stand-in's install script, what the nodes'
// curl serves as https://get.k3s.io: for an install that brings its own
// script and binary (INSTALL_K3S_SKIP_DOWNLOAD=true with the binary from
// [StandinBinary] at /usr/local/bin/k3s).
func StandinInstallScript(t testing.TB) []byte {
	t.Helper()
	out, err := exec.Command(StandinBinary(t), "standin-script").Output()
	if err != nil {
		t.Fatalf("k3s standin-script: %v", err)
	}
	return out
}

// RemoveStandin removes the stand-in built by [StandinBinary], if any.
func RemoveStandin() {
	if standin.path != "" {
		_ = os.RemoveAll(filepath.Dir(standin.path))
	}
}

// RunMain runs a package's tests and removes the stand-in afterwards:
// call it from TestMain.
func RunMain(m *testing.M) int {
	defer RemoveStandin()
	return m.Run()
}
