package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

func newNode(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "The nodes bmcd prepared at flash time"}
	cmd.AddCommand(newKnownHosts(e))
	return cmd
}

func newKnownHosts(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "known-hosts [SLOT...]",
		Short: "Print ~/.ssh/known_hosts lines for the nodes bmcd prepared",
		Long: "Print one ~/.ssh/known_hosts line per prepared node (all, or the slots given):\n" +
			"the node's addresses and names, then the host key bmcd generated when it\n" +
			"flashed the node, so the first SSH connection is already pinned.",
		Example:           "  bmcctl node known-hosts >> ~/.ssh/known_hosts\n  bmcctl node known-hosts 2",
		ValidArgsFunction: e.completeSlots(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			want := make([]int, 0, len(args))
			for _, a := range args {
				n, err := strconv.Atoi(a)
				if err != nil {
					return usagef("invalid slot %q: want a number", a)
				}
				want = append(want, n)
			}
			return e.call(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				slots, err := c.Slots(ctx)
				if err != nil {
					return err
				}
				lines, err := knownHosts(slots, want)
				if err != nil {
					return err
				}
				for _, l := range lines {
					if _, err := fmt.Fprintln(e.stdout, l); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
}

// knownHosts builds the known_hosts lines of the prepared nodes in the
// slots wanted (none: every prepared node).
func knownHosts(slots []apitype.Slot, want []int) ([]string, error) {
	var lines []string
	for _, n := range want {
		i := slices.IndexFunc(slots, func(s apitype.Slot) bool { return s.Slot == n })
		switch {
		case i < 0:
			return nil, fmt.Errorf("slot %d: no such slot (the board has slots 1-%d)", n, len(slots))
		case slots[i].Node == nil:
			return nil, fmt.Errorf("slot %d: no node prepared by bmcd (flash it with --hostname and --ssh-key)", n)
		}
	}
	for _, s := range slots {
		if s.Node == nil || (len(want) > 0 && !slices.Contains(want, s.Slot)) {
			continue
		}
		lines = append(lines, strings.Join(knownHostNames(s.Node), ",")+" "+s.Node.HostKey)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("no slot holds a node bmcd prepared (flash one with --hostname and --ssh-key)")
	}
	return lines, nil
}

// knownHostNames are the names a node is reached by, in known_hosts form:
// its reported addresses, the address bmcd would use, its hostname and
// mDNS name; "[name]:port" when the node's SSH port is not 22. A node
// listens on one port (its marker names the same port on every address),
// so names given without one, such as the hostname, get that port too.
func knownHostNames(n *apitype.Node) []string {
	port := ""
	for _, a := range append(slices.Clone(n.Addresses), n.Address) {
		if _, p, err := net.SplitHostPort(a); err == nil {
			port = p
			break
		}
	}
	var names []string
	add := func(a string) {
		if a = knownHostName(a, port); a != "" && !slices.Contains(names, a) {
			names = append(names, a)
		}
	}
	for _, a := range n.Addresses {
		add(a)
	}
	add(n.Address)
	add(n.Hostname)
	add(n.Hostname + ".local")
	return names
}

// knownHostName is addr (host or host:port) as known_hosts names it; a
// host without a port is taken to listen on port.
func knownHostName(addr, port string) string {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		host, p = addr, port
	}
	if host == "" || host == ".local" {
		return ""
	}
	if p == "" || p == "22" {
		return host
	}
	return "[" + host + "]:" + p
}
