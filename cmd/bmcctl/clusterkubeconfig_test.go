package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc/cluster/kubeconfig"
)

// servedKubeconfig is a kubeconfig as bmcd serves it: one cluster,
// context and user named turingpi, with a CA that marks the install.
func servedKubeconfig(ca string) []byte {
	return []byte(`apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ` + ca + `
    server: https://10.0.0.11:6443
  name: turingpi
contexts:
- context:
    cluster: turingpi
    user: turingpi
  name: turingpi
current-context: turingpi
users:
- name: turingpi
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
`)
}

const workKubeconfig = `apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://work.example:443
  name: work
contexts:
- context:
    cluster: work
    user: work
    namespace: dev
  name: work
current-context: work
users:
- name: work
  user:
    token: d29yaw
`

func TestDefaultKubeconfigPath(t *testing.T) {
	t.Parallel()
	home := func() (string, error) { return "/home/pi", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	for _, tc := range []struct {
		name, env string
		home      func() (string, error)
		want, err string
	}{
		{name: "no KUBECONFIG", home: home, want: "/home/pi/.kube/config"},
		{name: "one file", env: "/tmp/kc", home: home, want: "/tmp/kc"},
		{name: "first of a list", env: "/a/kc:/b/kc", home: home, want: "/a/kc"},
		{name: "empty entries skipped", env: "::/b/kc", home: home, want: "/b/kc"},
		{name: "no home either", home: noHome, err: "no home directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := defaultKubeconfigPath(func(k string) string {
				if k == "KUBECONFIG" {
					return tc.env
				}
				return ""
			}, tc.home)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestMergeKubeconfigFile: merged into a missing file (its directory
// made), into another cluster's file (kept), and again after a
// reinstall: the new CA replaces the old, nothing is duplicated.
func TestMergeKubeconfigFile(t *testing.T) {
	t.Parallel()
	t.Run("no file yet", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "home", ".kube", "config")
		name, err := mergeKubeconfigFile(path, servedKubeconfig("T0xE"))
		require.NoError(t, err)
		assert.Equal(t, "turingpi", name)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		kc := readKubeconfig(t, path)
		assert.Equal(t, "turingpi", kc.CurrentContext)
		assert.Len(t, kc.Clusters, 1)
	})
	t.Run("beside another cluster, then a reinstall", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "config")
		require.NoError(t, os.WriteFile(path, []byte(workKubeconfig), 0o644))
		_, err := mergeKubeconfigFile(path, servedKubeconfig("T0xE"))
		require.NoError(t, err)
		_, err = mergeKubeconfigFile(path, servedKubeconfig("TkVX"))
		require.NoError(t, err)
		kc := readKubeconfig(t, path)
		assert.Equal(t, "work", kc.CurrentContext, "the user's current context is kept")
		names := func(es []kubeconfig.NamedEntry) (out []string) {
			for _, e := range es {
				out = append(out, e.Name)
			}
			return out
		}
		assert.Equal(t, []string{"work", "turingpi"}, names(kc.Clusters))
		assert.Equal(t, []string{"work", "turingpi"}, names(kc.Contexts))
		assert.Equal(t, []string{"work", "turingpi"}, names(kc.Users))
		assert.Equal(t, "TkVX", kc.Clusters[1].Body["certificate-authority-data"], "the reinstall's CA wins")
		assert.Equal(t, "dev", kc.Contexts[0].Body["namespace"], "the other context is kept whole")
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "credentials inside: written 0600")
	})
	t.Run("unreadable existing file left alone", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "config")
		bad := "clusters: {\n"
		require.NoError(t, os.WriteFile(path, []byte(bad), 0o600))
		_, err := mergeKubeconfigFile(path, servedKubeconfig("T0xE"))
		require.ErrorIs(t, err, kubeconfig.ErrInvalid)
		assert.Contains(t, err.Error(), path)
		got, rerr := os.ReadFile(path)
		require.NoError(t, rerr)
		assert.Equal(t, bad, string(got))
	})
	t.Run("served config without a name", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "config")
		served := strings.Replace(string(servedKubeconfig("T0xE")), "current-context: turingpi\n", "", 1)
		_, err := mergeKubeconfigFile(path, []byte(served))
		require.ErrorIs(t, err, kubeconfig.ErrInvalid)
		assert.NoFileExists(t, path)
	})
}

func readKubeconfig(t *testing.T, path string) *kubeconfig.Config {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	kc, err := kubeconfig.Parse(data)
	require.NoError(t, err)
	return kc
}
