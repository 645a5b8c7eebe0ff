package simkube

import (
	"strings"
	"time"
)

// A meta.k8s.io Table, what kubectl get prints: the server decides the
// columns (server-side printing).
type (
	table struct {
		Kind              string            `json:"kind"`
		APIVersion        string            `json:"apiVersion"`
		Metadata          map[string]string `json:"metadata"`
		ColumnDefinitions []column          `json:"columnDefinitions"`
		Rows              []row             `json:"rows"`
	}
	column struct {
		Name        string `json:"name"`
		Type        string `json:"type"`
		Format      string `json:"format"`
		Description string `json:"description"`
		Priority    int    `json:"priority"`
	}
	row struct {
		Cells  []any `json:"cells"`
		Object any   `json:"object,omitempty"`
	}
)

// nodeColumns are the node printer's columns; priority 1 shows with -o
// wide only.
var nodeColumns = []column{
	{Name: "Name", Type: "string", Format: "name", Description: "Name must be unique within a namespace."},
	{Name: "Status", Type: "string", Description: "The status of the node"},
	{Name: "Roles", Type: "string", Description: "The roles of the node"},
	{Name: "Age", Type: "string", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."},
	{Name: "Version", Type: "string", Description: "Kubelet Version reported by the node."},
	{Name: "Internal-IP", Type: "string", Description: "List of internal IPs in the node.", Priority: 1},
	{Name: "External-IP", Type: "string", Description: "List of external IPs in the node.", Priority: 1},
	{Name: "OS-Image", Type: "string", Description: "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", Priority: 1},
	{Name: "Kernel-Version", Type: "string", Description: "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", Priority: 1},
	{Name: "Container-Runtime", Type: "string", Description: "Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).", Priority: 1},
}

// nodeTable prints nodes as a Table of apiVersion; includeObject is the
// request's (None, Object, or Metadata, the default).
func nodeTable(nodes []nodeObject, apiVersion, rv, includeObject string, now time.Time) table {
	t := table{Kind: "Table", APIVersion: apiVersion, Metadata: map[string]string{"resourceVersion": rv}, ColumnDefinitions: nodeColumns, Rows: []row{}}
	for _, n := range nodes {
		st := "NotReady"
		for _, c := range n.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				st = "Ready"
			}
		}
		var internal []string
		for _, a := range n.Status.Addresses {
			if a.Type == "InternalIP" {
				internal = append(internal, a.Address)
			}
		}
		created, _ := time.Parse(time.RFC3339, n.Metadata.CreationTimestamp)
		ni := n.Status.NodeInfo
		r := row{Cells: []any{n.Metadata.Name, st, roles(n.Metadata.Labels), age(now, created), ni.KubeletVersion,
			none(strings.Join(internal, ",")), "<none>", ni.OSImage, ni.KernelVersion, ni.ContainerRuntimeVersion}}
		switch includeObject {
		case "None":
		case "Object":
			n.APIVersion, n.Kind = "v1", "Node"
			r.Object = n
		default:
			r.Object = struct {
				Kind       string `json:"kind"`
				APIVersion string `json:"apiVersion"`
				Metadata   meta   `json:"metadata"`
			}{"PartialObjectMetadata", "meta.k8s.io/v1", n.Metadata}
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

func none(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
