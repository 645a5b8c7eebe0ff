package simssh

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// withKubectlLifecycle extends the table's k3s command (withK3s) with the
// kubectl subcommands that take a node out of the cluster, as bmcd's
// removal runs them on a server:
//
//	k3s kubectl drain [--ignore-daemonsets] [--delete-emptydir-data] [--timeout D] NODE
//	k3s kubectl delete node NODE
//
// The simulated cluster runs no pods, so a drain has nothing to evict: it
// succeeds for a member and fails NotFound for any other name, as kubectl
// does. A delete takes the node off the cluster's member list; the
// node's own k3s keeps its install until its uninstall script runs.
func withKubectlLifecycle(table map[string]Command, n *K3sNode) map[string]Command {
	base := table["k3s"]
	t := make(map[string]Command, len(table))
	for k, v := range table {
		t[k] = v
	}
	t["k3s"] = func(node Node, args []string, out, errw io.Writer) uint32 {
		if len(args) >= 2 && args[0] == "kubectl" && (args[1] == "drain" || args[1] == "delete") {
			return n.kubectlRemove(args[1:], out, errw)
		}
		return base(node, args, out, errw)
	}
	return t
}

// kubectlRemove answers drain and delete node on this node.
func (n *K3sNode) kubectlRemove(args []string, out, errw io.Writer) uint32 {
	n.w.mu.Lock()
	defer n.w.mu.Unlock()
	if n.role == "" {
		fmt.Fprintln(errw, "sh: 1: k3s: not found")
		return 127
	}
	if n.role != "server" || n.cluster == nil {
		fmt.Fprintln(errw, "The connection to the server localhost:8080 was refused - did you specify the right host or port?")
		return 1
	}
	var name string
	switch args[0] {
	case "drain":
		var ok bool
		if name, ok = drainTarget(args[1:], errw); !ok {
			return 1
		}
	case "delete":
		if len(args) != 3 || args[1] != "node" {
			fmt.Fprintln(errw, "k3s: simulated node: only kubectl delete node NAME")
			return 1
		}
		name = args[2]
	}
	var member *K3sNode
	for _, m := range n.cluster.members {
		if m.hostname == name {
			member = m
		}
	}
	if member == nil {
		fmt.Fprintf(errw, "Error from server (NotFound): nodes %q not found\n", name)
		return 1
	}
	if args[0] == "drain" {
		fmt.Fprintf(out, "node/%s cordoned\nnode/%s drained\n", name, name)
		return 0
	}
	c := n.cluster
	for i, m := range c.members {
		if m == member {
			c.members = append(c.members[:i], c.members[i+1:]...)
			break
		}
	}
	fmt.Fprintf(out, "node %q deleted\n", name)
	return 0
}

// drainTarget reads drain's flags (the ones bmcd passes) and its one node.
func drainTarget(args []string, errw io.Writer) (string, bool) {
	var name string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--ignore-daemonsets" || a == "--delete-emptydir-data" || a == "--force":
		case a == "--timeout" && i+1 < len(args):
			i++
			if _, err := time.ParseDuration(args[i]); err != nil {
				fmt.Fprintf(errw, "error: invalid argument %q for \"--timeout\" flag: %v\n", args[i], err)
				return "", false
			}
		case strings.HasPrefix(a, "--timeout="):
			if _, err := time.ParseDuration(strings.TrimPrefix(a, "--timeout=")); err != nil {
				fmt.Fprintf(errw, "error: invalid argument %q for \"--timeout\" flag: %v\n", a, err)
				return "", false
			}
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(errw, "error: unknown flag: %s\n", a)
			return "", false
		case name != "":
			fmt.Fprintln(errw, "k3s: simulated node: drain one node at a time")
			return "", false
		default:
			name = a
		}
	}
	if name == "" {
		fmt.Fprintln(errw, "error: USAGE: drain NODE [flags]")
		return "", false
	}
	return name, true
}
