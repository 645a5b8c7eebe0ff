package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

func newClusterAdd(e *env) *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:   "add SLOT|[USER@]ADDR=KEYLINE [--role server|agent]",
		Short: "Join one more node to the cluster, and wait",
		Long: "Join a slot bmcd prepared, or a node by address with its SSH host key, to the\n" +
			"cluster bmcd bootstrapped. bmcd checks every node again (the hostname must\n" +
			"stay unique), installs k3s on the new node only, and waits until every node\n" +
			"is Ready.",
		Example: "  bmcctl cluster add 4\n  bmcctl cluster add 3 --role server\n" +
			"  bmcctl cluster add 'pi@192.168.1.51=ssh-ed25519 AAAA...'",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := clusterAddRequest(args[0], role)
			if err != nil {
				return err
			}
			return e.stream(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				return e.runClusterJob(ctx, c, func(ctx context.Context) (apitype.Job, error) { return c.ClusterAdd(ctx, req) })
			})
		},
	}
	cmd.Flags().StringVar(&role, "role", "agent", "what the node runs: server or agent")
	return cmd
}

// clusterAddRequest reads add's argument: a slot number or a node by
// address.
func clusterAddRequest(arg, role string) (apitype.ClusterAddRequest, error) {
	if role != "server" && role != "agent" {
		return apitype.ClusterAddRequest{}, usagef("invalid --role %q: want server or agent", role)
	}
	if slot, err := strconv.Atoi(arg); err == nil {
		if slot < 1 {
			return apitype.ClusterAddRequest{}, usagef("invalid slot %q", arg)
		}
		return apitype.ClusterAddRequest{Slot: slot, Role: role}, nil
	}
	n, err := parseAddrNode("node", arg)
	if err != nil {
		return apitype.ClusterAddRequest{}, err
	}
	n.Role = role
	return apitype.ClusterAddRequest{Node: &n}, nil
}

func newClusterRemove(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "remove SLOT|ADDR|NAME",
		Short: "Drain a node, delete it from the cluster and uninstall k3s from it, and wait",
		Long: "Take one node out of the cluster: drained (DaemonSet pods stay, emptyDir data\n" +
			"goes) and deleted on a server that stays, then k3s uninstalled from it. The\n" +
			"last server cannot be removed while agents remain: remove them first, or\n" +
			"use 'cluster down'. Name the node by slot, address or name as 'cluster\n" +
			"status' lists it.",
		Example: "  bmcctl cluster remove 4\n  bmcctl cluster remove 192.168.1.51",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := strings.TrimSpace(args[0])
			if target == "" {
				return usagef("cluster remove: name the node")
			}
			return e.stream(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				return e.runClusterJob(ctx, c, func(ctx context.Context) (apitype.Job, error) { return c.ClusterRemove(ctx, target) })
			})
		},
	}
}

func newClusterDown(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Uninstall k3s from every node of the cluster, and wait",
		Long: "Uninstall k3s from every node: the agents first, then the servers. Once all\n" +
			"are done bmcd forgets the cluster: its nodes, its kubeconfig and its token\n" +
			"(the next 'cluster up' makes a new token, so a node that missed the down\n" +
			"cannot join the new cluster with the old one). If a node fails, bmcd keeps\n" +
			"all three and 'cluster down' again finishes the job; when an agent fails,\n" +
			"the servers are left running.",
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.stream(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				return e.runClusterJob(ctx, c, c.ClusterDown)
			})
		},
	}
}

// exactArgs wants exactly n positional arguments.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s: want %d argument(s), have %d (see --help)", subPath(cmd), n, len(args))
		}
		return nil
	}
}
