package simkube_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal/sim/simkube"
)

// kubectlPath finds the real kubectl: under CI=true its absence fails
// the test (.ci/deps.sh installs it); elsewhere the test skips.
func kubectlPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kubectl not found (CI=true): %v", err)
		}
		t.Skipf("kubectl not found: %v", err)
	}
	return p
}

// kubectl runs the real kubectl with kubeconfig kc and a cache of its
// own, and returns stdout, stderr and the exit code.
func kubectl(t *testing.T, kc string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cache := t.TempDir()
	cmd := exec.CommandContext(ctx, kubectlPath(t), append([]string{"--kubeconfig", kc, "--cache-dir", cache, "--request-timeout", "20s"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+cache, "KUBECONFIG=")
	var out, errw bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errw
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("kubectl %v: %v", args, err)
	}
	return out.String(), errw.String(), code
}

func writeKubeconfig(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kc")
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func TestKubectlGetNodes(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	kc := writeKubeconfig(t, c.creds.Kubeconfig(c.srv.URL()))

	out, errw, code := kubectl(t, kc, "get", "nodes", "-v=8")
	require.Equal(t, 0, code, errw)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	assert.Regexp(t, `^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$`, lines[0])
	assert.Regexp(t, `^node1\s+Ready\s+control-plane,etcd,master\s+5m\s+v1\.33\.1\+k3s1$`, lines[1])
	assert.Regexp(t, `^node2\s+NotReady\s+<none>\s+4m\s+v1\.33\.1\+k3s1$`, lines[2])
	// kubectl took aggregated discovery (1.30 on) or the legacy one
	// (Debian's older kubectl), and the server's Table.
	assert.True(t, strings.Contains(errw, "Content-Type: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList") ||
		strings.Contains(errw, "/api/v1?timeout="), "discovery: %s", errw)
	assert.Contains(t, errw, "Content-Type: application/json;as=Table;v=v1;g=meta.k8s.io")

	out, errw, code = kubectl(t, kc, "get", "nodes", "-o", "wide")
	require.Equal(t, 0, code, errw)
	assert.Regexp(t, `(?m)^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME$`, out)
	assert.Regexp(t, `(?m)^node2\s+NotReady\s+<none>\s+4m\s+v1\.33\.1\+k3s1\s+127\.0\.1\.2\s+<none>\s+Debian GNU/Linux 12 \(bookworm\)\s+\S+\s+containerd://`, out)

	out, errw, code = kubectl(t, kc, "get", "node", "node1", "--show-labels", "--no-headers")
	require.Equal(t, 0, code, errw)
	assert.Regexp(t, `^node1\s+Ready\s+control-plane,etcd,master\s+5m\s+v1\.33\.1\+k3s1\s+\S*kubernetes.io/hostname=node1`, out)

	_, errw, code = kubectl(t, kc, "get", "node", "node9")
	assert.Equal(t, 1, code)
	assert.Contains(t, errw, `Error from server (NotFound): nodes "node9" not found`)

}

func TestKubectlGetNodesJSON(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	kc := writeKubeconfig(t, c.creds.Kubeconfig(c.srv.URL()))
	out, errw, code := kubectl(t, kc, "get", "nodes", "-o", "json")
	require.Equal(t, 0, code, errw)
	var list struct {
		Kind  string
		Items []struct {
			Kind     string
			Metadata struct {
				Name   string
				Labels map[string]string
			}
			Status struct {
				Addresses  []struct{ Type, Address string }
				Conditions []struct{ Type, Status string }
				NodeInfo   struct{ KubeletVersion, Architecture string }
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	assert.Equal(t, "List", list.Kind)
	require.Len(t, list.Items, 2)
	n1, n2 := list.Items[0], list.Items[1]
	assert.Equal(t, "Node", n1.Kind)
	assert.Equal(t, "node1", n1.Metadata.Name)
	assert.Equal(t, "true", n1.Metadata.Labels["node-role.kubernetes.io/control-plane"])
	assert.Equal(t, "true", n1.Metadata.Labels["node-role.kubernetes.io/etcd"])
	assert.NotContains(t, n2.Metadata.Labels, "node-role.kubernetes.io/control-plane")
	assert.Equal(t, "v1.33.1+k3s1", n1.Status.NodeInfo.KubeletVersion)
	assert.Equal(t, "arm64", n1.Status.NodeInfo.Architecture)
	assert.Contains(t, n1.Status.Addresses, struct{ Type, Address string }{"InternalIP", "127.0.1.1"})
	assert.Contains(t, n1.Status.Addresses, struct{ Type, Address string }{"Hostname", "node1"})
	assert.Contains(t, n1.Status.Conditions, struct{ Type, Status string }{"Ready", "True"})
	assert.Contains(t, n2.Status.Conditions, struct{ Type, Status string }{"Ready", "Unknown"})

}

func TestKubectlVersionAndHealth(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	kc := writeKubeconfig(t, c.creds.Kubeconfig(c.srv.URL()))
	out, errw, code := kubectl(t, kc, "version", "-o", "json")
	require.Equal(t, 0, code, errw)
	var v struct {
		ServerVersion struct{ Major, Minor, GitVersion, Platform string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	assert.Equal(t, "1", v.ServerVersion.Major)
	assert.Equal(t, "33", v.ServerVersion.Minor)
	assert.Equal(t, "v1.33.1+k3s1", v.ServerVersion.GitVersion)

	out, errw, code = kubectl(t, kc, "get", "--raw", "/readyz?verbose")
	require.Equal(t, 0, code, errw)
	assert.Contains(t, out, "[+]etcd ok")
	assert.Contains(t, out, "readyz check passed")
}

// A client certificate of another cluster is refused (kubectl trusting
// this server's CA), and a user outside system:masters may not read
// nodes. (A server of another cluster is refused by kubectl's TLS, as
// TestKubectlGetNodesJSONMatchesKubectl checks with Go's.)
func TestKubectlForeignCredentials(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	other, err := simkube.NewCredentials(t0)
	require.NoError(t, err)

	mixed := &simkube.Credentials{ServerCA: c.creds.ServerCA, ClientCA: other.ClientCA, AdminCertPEM: other.AdminCertPEM, AdminKeyPEM: other.AdminKeyPEM}
	_, errw, code := kubectl(t, writeKubeconfig(t, mixed.Kubeconfig(c.srv.URL())), "get", "nodes")
	assert.Equal(t, 1, code)
	assert.Contains(t, errw, "You must be logged in to the server")

	// A user of this cluster outside system:masters may not read nodes.
	cert, key, err := c.creds.ClientCA.IssueClient("viewer", []string{"viewers"}, t0)
	require.NoError(t, err)
	viewer := &simkube.Credentials{ServerCA: c.creds.ServerCA, ClientCA: c.creds.ClientCA, AdminCertPEM: cert, AdminKeyPEM: key}
	_, errw, code = kubectl(t, writeKubeconfig(t, viewer.Kubeconfig(c.srv.URL())), "get", "nodes")
	assert.Equal(t, 1, code)
	assert.Contains(t, errw, `Error from server (Forbidden): nodes is forbidden: User "viewer" cannot list resource "nodes"`)
}

// What a node's `k3s kubectl get nodes -o json` prints is what the real
// kubectl prints for the same API.
func TestKubectlGetNodesJSONMatchesKubectl(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	kc := writeKubeconfig(t, c.creds.Kubeconfig(c.srv.URL()))
	want, errw, code := kubectl(t, kc, "get", "nodes", "-o", "json")
	require.Equal(t, 0, code, errw)
	got, err := simkube.KubectlGetNodesJSON(context.Background(), c.srv.URL(), c.creds)
	require.NoError(t, err)
	assert.JSONEq(t, want, string(got))
	assert.Equal(t, want, string(got), "the same bytes: key order and indent")

	other, err := simkube.NewCredentials(t0)
	require.NoError(t, err)
	_, err = simkube.KubectlGetNodesJSON(context.Background(), c.srv.URL(), other)
	assert.ErrorContains(t, err, "certificate signed by unknown authority")
}
