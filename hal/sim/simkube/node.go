package simkube

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Node is what the API tells of one node that joined the cluster.
type Node struct {
	Name       string // its hostname
	InternalIP string
	// Server marks a k3s server: labelled control-plane and master, and
	// etcd when Etcd (embedded etcd, an HA cluster).
	Server bool
	Etcd   bool
	// Ready is whether its kubelet posts status: false once it lost power.
	Ready          bool
	KubeletVersion string // the k3s version, "v1.33.1+k3s1"
	Arch           string // GOARCH, "arm64"; "" means arm64
	OSImage        string // PRETTY_NAME of os-release; "" means Debian 12
	KernelVersion  string // uname -r; "" means a Raspberry Pi kernel
	Created        time.Time
}

// NodeLister lists the nodes that joined the cluster, in join order.
// It is called for every request, from any goroutine.
type NodeLister interface {
	ListNodes() []Node
}

// NodeListerFunc is a function that is a NodeLister.
type NodeListerFunc func() []Node

// ListNodes calls f.
func (f NodeListerFunc) ListNodes() []Node { return f() }

var _ NodeLister = NodeListerFunc(nil)

// Defaults for what a Node leaves empty: a Raspberry Pi OS node.
const (
	defaultArch      = "arm64"
	defaultOSImage   = "Debian GNU/Linux 12 (bookworm)"
	defaultKernel    = "6.12.25+rpt-rpi-v8"
	containerRuntime = "containerd://2.0.5-k3s1"
)

func (n Node) arch() string { return orDefault(n.Arch, defaultArch) }

// orDefault is s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// labels are the node's labels as k3s sets them.
func (n Node) labels() map[string]string {
	l := map[string]string{
		"beta.kubernetes.io/arch":          n.arch(),
		"beta.kubernetes.io/instance-type": "k3s",
		"beta.kubernetes.io/os":            "linux",
		"kubernetes.io/arch":               n.arch(),
		"kubernetes.io/hostname":           n.Name,
		"kubernetes.io/os":                 "linux",
		"node.kubernetes.io/instance-type": "k3s",
	}
	if n.Server {
		l["node-role.kubernetes.io/control-plane"] = "true"
		l["node-role.kubernetes.io/master"] = "true"
		if n.Etcd {
			l["node-role.kubernetes.io/etcd"] = "true"
		}
	}
	return l
}

// roles is the Roles column: the node-role labels' suffixes, sorted, or
// <none>.
func roles(labels map[string]string) string {
	var rs []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if r, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok && r != "" {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return "<none>"
	}
	return strings.Join(rs, ",")
}

// uid is a stable UUID-shaped id for the node's object.
func (n Node) uid() string {
	s := sha256.Sum256(fmt.Appendf(nil, "%s/%d", n.Name, n.Created.UnixNano()))
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// meta is an object's metadata, as much of ObjectMeta as nodes use.
type meta struct {
	Name              string            `json:"name"`
	UID               string            `json:"uid"`
	ResourceVersion   string            `json:"resourceVersion"`
	CreationTimestamp string            `json:"creationTimestamp"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

type condition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	LastHeartbeatTime  string `json:"lastHeartbeatTime"`
	LastTransitionTime string `json:"lastTransitionTime"`
	Reason             string `json:"reason"`
	Message            string `json:"message"`
}

type address struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

// nodeObject is a v1 Node, with the fields kubectl and people look at.
type nodeObject struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Metadata   meta   `json:"metadata"`
	Spec       struct {
		PodCIDR    string   `json:"podCIDR"`
		PodCIDRs   []string `json:"podCIDRs"`
		ProviderID string   `json:"providerID"`
	} `json:"spec"`
	Status struct {
		Addresses   []address         `json:"addresses"`
		Allocatable map[string]string `json:"allocatable"`
		Capacity    map[string]string `json:"capacity"`
		Conditions  []condition       `json:"conditions"`
		NodeInfo    struct {
			Architecture            string `json:"architecture"`
			BootID                  string `json:"bootID"`
			ContainerRuntimeVersion string `json:"containerRuntimeVersion"`
			KernelVersion           string `json:"kernelVersion"`
			KubeProxyVersion        string `json:"kubeProxyVersion"`
			KubeletVersion          string `json:"kubeletVersion"`
			MachineID               string `json:"machineID"`
			OperatingSystem         string `json:"operatingSystem"`
			OSImage                 string `json:"osImage"`
			SystemUUID              string `json:"systemUUID"`
		} `json:"nodeInfo"`
	} `json:"status"`
}

// object is the node's v1 Node; index is its place in join order (its
// pod CIDR), rv the list's resource version.
func (n Node) object(index int, rv string) nodeObject {
	var o nodeObject
	o.APIVersion, o.Kind = "v1", "Node"
	created := n.Created.UTC().Format(time.RFC3339)
	o.Metadata = meta{
		Name: n.Name, UID: n.uid(), ResourceVersion: rv, CreationTimestamp: created, Labels: n.labels(),
		Annotations: map[string]string{
			"k3s.io/hostname":              n.Name,
			"k3s.io/internal-ip":           n.InternalIP,
			"node.alpha.kubernetes.io/ttl": "0",
		},
	}
	cidr := fmt.Sprintf("10.42.%d.0/24", index)
	o.Spec.PodCIDR, o.Spec.PodCIDRs, o.Spec.ProviderID = cidr, []string{cidr}, "k3s://"+n.Name
	o.Status.Addresses = []address{{"InternalIP", n.InternalIP}, {"Hostname", n.Name}}
	res := map[string]string{"cpu": "4", "ephemeral-storage": "30476364Ki", "memory": "8054700Ki", "pods": "110"}
	o.Status.Allocatable, o.Status.Capacity = res, res
	o.Status.Conditions = conditions(n.Ready, created)
	ni := &o.Status.NodeInfo
	ni.Architecture, ni.OperatingSystem = n.arch(), "linux"
	ni.BootID, ni.MachineID, ni.SystemUUID = n.uid(), strings.ReplaceAll(n.uid(), "-", ""), n.uid()
	ni.ContainerRuntimeVersion = containerRuntime
	ni.KernelVersion = orDefault(n.KernelVersion, defaultKernel)
	ni.KubeProxyVersion, ni.KubeletVersion = n.KubeletVersion, n.KubeletVersion
	ni.OSImage = orDefault(n.OSImage, defaultOSImage)
	return o
}

// conditions are a kubelet's node conditions; a node that stopped
// posting has them Unknown, as the node lifecycle controller marks them.
func conditions(ready bool, since string) []condition {
	type c struct{ typ, reason, message string }
	pressures := []c{
		{"MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
		{"DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
		{"PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
	}
	var out []condition
	for _, p := range pressures {
		st, reason, msg := "False", p.reason, p.message
		if !ready {
			st, reason, msg = "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."
		}
		out = append(out, condition{Type: p.typ, Status: st, LastHeartbeatTime: since, LastTransitionTime: since, Reason: reason, Message: msg})
	}
	r := condition{Type: "Ready", Status: "True", LastHeartbeatTime: since, LastTransitionTime: since, Reason: "KubeletReady", Message: "kubelet is posting ready status"}
	if !ready {
		r.Status, r.Reason, r.Message = "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."
	}
	return append(out, r)
}
