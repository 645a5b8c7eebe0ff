package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ansibleInventory parses an inventory with Debian's ansible-inventory
// and returns its --list output: groups with their hosts and children,
// and every host's variables.
type ansibleInventory struct {
	groups   map[string][]string // group → hosts
	children map[string][]string // group → child groups
	hostvars map[string]map[string]any
}

func parseWithAnsible(t *testing.T, inventory []byte) ansibleInventory {
	t.Helper()
	bin, err := exec.LookPath("ansible-inventory")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ansible-inventory not installed (Debian package ansible-core); required under CI=true")
		}
		t.Skip("ansible-inventory not installed (Debian package ansible-core)")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "inventory.yml")
	require.NoError(t, os.WriteFile(p, inventory, 0o600))
	cmd := exec.Command(bin, "-i", p, "--list")
	// Ansible's own state goes to the test's directory; a file it
	// cannot parse is an error, not a warning with an empty inventory.
	cmd.Env = append(os.Environ(), "HOME="+dir, "ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "tmp"),
		"ANSIBLE_INVENTORY_UNPARSED_FAILED=true", "ANSIBLE_INVENTORY_ENABLED=yaml")
	out, err := cmd.Output()
	var stderr []byte
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "ansible-inventory: %s", stderr)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out, &raw), "%s", out)
	inv := ansibleInventory{groups: map[string][]string{}, children: map[string][]string{}}
	for name, body := range raw {
		if name == "_meta" {
			var meta struct {
				Hostvars map[string]map[string]any `json:"hostvars"`
			}
			require.NoError(t, json.Unmarshal(body, &meta))
			inv.hostvars = meta.Hostvars
			continue
		}
		var g struct {
			Hosts    []string `json:"hosts"`
			Children []string `json:"children"`
		}
		require.NoError(t, json.Unmarshal(body, &g), name)
		sort.Strings(g.Hosts)
		sort.Strings(g.Children)
		inv.groups[name], inv.children[name] = g.Hosts, g.Children
	}
	return inv
}

// TestInventoryParsesWithAnsible: the inventory bmcctl prints (its
// golden file) reads in Ansible as k3s-ansible expects: k3s_cluster with
// children server and agent, each node with its address, port and user,
// and the cluster's variables on every host.
func TestInventoryParsesWithAnsible(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "cluster-inventory.golden"))
	require.NoError(t, err)
	inv := parseWithAnsible(t, b)
	assert.Equal(t, []string{"agent", "server"}, inv.children["k3s_cluster"])
	assert.Equal(t, []string{"node1"}, inv.groups["server"])
	assert.Equal(t, []string{"192.168.1.50", "node2"}, inv.groups["agent"])
	assert.Equal(t, map[string]any{"ansible_host": "127.0.0.2", "ansible_port": float64(2222), "ansible_user": "admin",
		"k3s_version": "v1.33.1+k3s1", "api_endpoint": "{{ hostvars[groups['server'][0]]['ansible_host'] | default(groups['server'][0]) }}"},
		inv.hostvars["node2"])
	assert.Equal(t, "10.0.0.11", inv.hostvars["node1"]["ansible_host"])
}
