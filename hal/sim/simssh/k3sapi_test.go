package simssh_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

// kubectl runs the real kubectl with kubeconfig kc; CI=true fails
// without it, elsewhere the test skips.
func kubectl(t *testing.T, kc string, args ...string) (string, string, int) {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kubectl not found (CI=true): %v", err)
		}
		t.Skipf("kubectl not found: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cache := t.TempDir()
	cmd := exec.CommandContext(ctx, p, append([]string{"--kubeconfig", kc, "--cache-dir", cache, "--request-timeout", "20s"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+cache, "KUBECONFIG=")
	var out, errw bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errw
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errw.String(), ee.ExitCode()
	}
	require.NoError(t, err)
	return out.String(), errw.String(), 0
}

// workstationKubeconfig reads the server node's k3s.yaml and points it at
// the node's address, as bmcd does for the workstation.
func workstationKubeconfig(t *testing.T, srv *k3sNode, host string) (path, port string) {
	t.Helper()
	kc, errw, st := srv.run(t, "cat /etc/rancher/k3s/k3s.yaml")
	require.Equal(t, 0, st, errw)
	m := regexp.MustCompile(`server: https://127\.0\.0\.1:(\d+)\n`).FindStringSubmatch(kc)
	require.NotNil(t, m, kc)
	path = filepath.Join(t.TempDir(), "kc")
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(kc, "https://127.0.0.1:", "https://"+host+":", 1)), 0o600))
	return path, m[1]
}

// The server's API lists the nodes that joined it: Ready while powered,
// NotReady once off, absent when the join failed; it stops with the
// server's power and its uninstall.
func TestK3sAPIListsJoinedNodes(t *testing.T) {
	t.Parallel()
	w := simssh.NewK3s()
	t.Cleanup(w.Close)
	srv := startK3s(t, w, "127.0.8.1", "server1")
	agent := startK3s(t, w, "127.0.8.2", "agent1")
	twin := startK3s(t, w, "127.0.8.3", "agent1") // same hostname: refused
	_, errw, st := srv.run(t, installLine("INSTALL_K3S_VERSION='v1.33.1+k3s1' K3S_TOKEN='"+token+"'", "server --cluster-init"))
	require.Equal(t, 0, st, errw)
	kc, port := workstationKubeconfig(t, srv, "127.0.8.1")
	join := installLine("K3S_URL='https://127.0.8.1:6443' K3S_TOKEN='"+token+"'", "agent")
	_, errw, st = agent.run(t, join)
	require.Equal(t, 0, st, errw)
	_, _, st = twin.run(t, join)
	require.NotEqual(t, 0, st, "a twin hostname joined")

	out, errw, code := kubectl(t, kc, "get", "nodes", "-o", "wide")
	require.Equal(t, 0, code, errw)
	assert.Regexp(t, `(?m)^server1\s+Ready\s+control-plane,etcd,master\s+\S+\s+v1\.33\.1\+k3s1\s+127\.0\.8\.1\s`, out)
	assert.Regexp(t, `(?m)^agent1\s+Ready\s+<none>\s+\S+\s+v1\.33\.1\+k3s1\s+127\.0\.8\.2\s`, out)
	assert.NotContains(t, out, "127.0.8.3", "the refused twin is not listed")
	assert.Equal(t, 3, strings.Count(out, "\n"), out)

	// The agent powered off: NotReady, still listed.
	agent.client.Close()
	require.NoError(t, agent.srv.Close())
	got := readyNodes(t, srv)
	assert.Equal(t, map[string]string{"server1": "True", "agent1": "Unknown"}, got)

	// The server powered off: its API is gone with it; on again, back
	// on the same address.
	srv.client.Close()
	require.NoError(t, srv.srv.Close())
	_, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.8.1", port), 5*time.Second)
	assert.Error(t, err, "API still listening on a powered-off server")
	srv.boot(t, "127.0.8.1")
	out, errw, code = kubectl(t, kc, "get", "nodes", "--no-headers")
	require.Equal(t, 0, code, errw)
	assert.Regexp(t, `(?m)^server1\s+Ready\s`, out)
	assert.Regexp(t, `(?m)^agent1\s+NotReady\s`, out)

	// Uninstalled: no API.
	_, errw, st = srv.run(t, "k3s-uninstall.sh")
	require.Equal(t, 0, st, errw)
	_, err = net.DialTimeout("tcp", net.JoinHostPort("127.0.8.1", port), 5*time.Second)
	assert.Error(t, err, "API still listening after the uninstall")
}

// A re-flashed server (its install wiped) stops serving; a node whose
// port 6443 is taken serves on another, which k3s.yaml names, and agents
// still join it.
func TestK3sAPIWipeAndTakenPort(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.9.1:6443")
	require.NoError(t, err)
	defer taken.Close()
	w := simssh.NewK3s()
	t.Cleanup(w.Close)
	srv := startK3s(t, w, "127.0.9.1", "server1")
	agent := startK3s(t, w, "127.0.9.2", "agent1")
	_, errw, st := srv.run(t, installLine("K3S_TOKEN='"+token+"'", "server"))
	require.Equal(t, 0, st, errw)
	_, port := workstationKubeconfig(t, srv, "127.0.9.1")
	assert.NotEqual(t, "6443", port)
	_, errw, st = agent.run(t, installLine("K3S_URL='https://127.0.9.1:6443' K3S_TOKEN='"+token+"'", "agent"))
	require.Equal(t, 0, st, errw)
	assert.Equal(t, map[string]string{"server1": "True", "agent1": "True"}, readyNodes(t, srv))

	w.Node("127.0.9.1").Wipe()
	_, err = net.DialTimeout("tcp", net.JoinHostPort("127.0.9.1", port), 5*time.Second)
	assert.Error(t, err, "API still listening after the re-flash")
	_, _, st = srv.run(t, "k3s kubectl get nodes -o json")
	assert.Equal(t, 127, st, "k3s still there after the re-flash")
}
