package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

func newClusterUp(e *env) *cobra.Command {
	var servers, agents string
	var nodes []string
	var version, airgap string
	cmd := &cobra.Command{
		Use:   "up [--servers 1[,2,3]] [--agents 2-4] [--nodes [USER@]ADDR=KEYLINE,...] [--k3s-version V | --airgap DIR]",
		Short: "Bootstrap k3s on the prepared slots and nodes given by address, and wait",
		Long: "Ask bmcd to bootstrap a k3s cluster and wait for it. bmcd checks every node\n" +
			"first (reachable with its recorded host key, clock synchronised, memory\n" +
			"cgroup, unique hostname, architecture, free disk), installs the first server,\n" +
			"joins the other servers and the agents in parallel, waits until every node\n" +
			"is Ready and keeps the kubeconfig ('bmcctl cluster kubeconfig'). Slots must\n" +
			"hold a node bmcd prepared at flash time. A node by address needs its host\n" +
			"key (ADDR=KEYLINE: bmcd does not trust a key on first use) and bmcd's key\n" +
			"('bmcctl cluster key') in its authorized keys; it joins as an agent.\n" +
			"Run again, it installs only what is missing.\n\n" +
			"With --airgap DIR the nodes need no internet: bmcctl uploads the files k3s's\n" +
			"air-gap install uses (install.sh; k3s, k3s-arm64, k3s-armhf; k3s-airgap-images-\n" +
			"<arch>.tar.zst) to bmcd, skipping those it already holds, and bmcd copies each\n" +
			"node the ones of its architecture over SSH.",
		Example: "  bmcctl cluster up --servers 1 --agents 2-4\n" +
			"  bmcctl cluster up --servers 1 --nodes 'pi@192.168.1.50=ssh-ed25519 AAAA...'\n" +
			"  bmcctl cluster up --servers 1 --agents 2-4 --airgap ./k3s-v1.33.1",
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := clusterRequest(servers, agents, nodes, version)
			if err != nil {
				return err
			}
			if airgap != "" {
				if err := e.airgapUp(cmd.Context(), &req, airgap); err != nil {
					return err
				}
			}
			// A bootstrap takes minutes: followed as a stream, without --timeout.
			return e.stream(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				return e.runClusterJob(ctx, c, func(ctx context.Context) (apitype.Job, error) { return c.ClusterUp(ctx, req) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&servers, "servers", "", "slots that run k3s servers: 1 or 1,2,3 (the first initialises the cluster)")
	f.StringVar(&agents, "agents", "", "slots that run k3s agents: 2-4 or 2,4")
	f.StringSliceVar(&nodes, "nodes", nil, "nodes by address that join as agents: [USER@]ADDR=KEYLINE (the node's SSH host key)")
	f.StringVar(&version, "k3s-version", "", "k3s release, e.g. v1.33.1+k3s1 (default: the stable channel)")
	f.StringVar(&airgap, "airgap", "", "install without internet from this directory's k3s air-gap files (uploaded to bmcd once)")
	return cmd
}

// clusterRequest turns the flags into a request; mistakes are usage errors.
func clusterRequest(servers, agents string, nodes []string, version string) (apitype.ClusterRequest, error) {
	var req apitype.ClusterRequest
	var err error
	if req.Servers, err = parseSlotSet("--servers", servers); err != nil {
		return req, err
	}
	if req.Agents, err = parseSlotSet("--agents", agents); err != nil {
		return req, err
	}
	for _, n := range nodes {
		node, err := parseAddrNode("--nodes", n)
		if err != nil {
			return req, err
		}
		req.Nodes = append(req.Nodes, node)
	}
	if len(req.Servers) == 0 {
		return req, usagef("cluster up: no server: give --servers SLOT")
	}
	req.K3sVersion = version
	return req, nil
}

// parseAddrNode reads a node by address: [USER@]ADDR=KEYLINE.
func parseAddrNode(what, n string) (apitype.ClusterAddrNode, error) {
	addr, key, ok := strings.Cut(n, "=")
	if !ok || strings.TrimSpace(key) == "" {
		return apitype.ClusterAddrNode{}, usagef("invalid %s %q: want [USER@]ADDR=KEYLINE with the node's SSH host key (bmcd does not trust a key on first use)", what, n)
	}
	user, host, hasUser := strings.Cut(addr, "@")
	if !hasUser {
		user, host = "", addr
	}
	if host == "" {
		return apitype.ClusterAddrNode{}, usagef("invalid %s %q: no address", what, n)
	}
	return apitype.ClusterAddrNode{Addr: host, HostKey: strings.TrimSpace(key), User: user}, nil
}

// parseSlotSet reads "1", "1,2,3", "2-4" or a mix ("1,3-4").
func parseSlotSet(flag, s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err != nil || a < 1 || b < a {
			return nil, usagef("invalid %s %q: want slots like 1,2,3 or 2-4", flag, s)
		}
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
	}
	return out, nil
}

// writeClusterNodes prints one line per node.
func writeClusterNodes(w io.Writer, nodes []apitype.ClusterNode) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "NODE\tSLOT\tADDRESS\tROLE\tREADY\tRESULT")
	for _, n := range nodes {
		slot := "-"
		if n.Slot != 0 {
			slot = strconv.Itoa(n.Slot)
		}
		ready := "no"
		if n.Ready {
			ready = "yes"
		}
		result := n.Action
		if n.Error != "" {
			result = strings.TrimSpace(result + " " + n.Error)
		}
		if result == "" && n.Doing != "" {
			result = n.Doing + " …" // a job still running
		}
		if result == "" {
			result = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, slot, n.Addr, n.Role, ready, result)
	}
	return tw.Flush()
}
