package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/client"
)

func newCluster(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "The k3s cluster bmcd bootstraps on the nodes it prepared"}
	cmd.AddCommand(newClusterUp(e), newClusterAdd(e), newClusterRemove(e), newClusterDown(e), newClusterStatus(e),
		newClusterKubeconfig(e), newClusterInventory(e), newClusterKey(e))
	return cmd
}

func newClusterKey(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "key",
		Short: "Print bmcd's SSH public key, for nodes bmcd did not prepare",
		Long: "Print the public line of bmcd's own SSH client key. Every node bmcd prepares\n" +
			"at flash time already trusts it; add it to ~/.ssh/authorized_keys of the\n" +
			"account on a node joined by address (another board's slot, a loose Pi).",
		Example: "  bmcctl cluster key | ssh pi@192.168.1.50 'cat >> ~/.ssh/authorized_keys'",
		Args:    maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.call(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				k, err := c.ClusterKey(ctx)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(e.stdout, k)
				return err
			})
		},
	}
}
