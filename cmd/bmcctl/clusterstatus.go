package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

func newClusterStatus(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the cluster's nodes, roles and readiness as the last cluster job left them",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.call(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				st, err := c.ClusterStatus(ctx)
				if err != nil {
					return err
				}
				if e.jsonOutput() {
					return printJSON(e.stdout, st)
				}
				if err := writeClusterNodes(e.stdout, st.Nodes); err != nil {
					return err
				}
				kc := "none kept"
				if st.Kubeconfig {
					kc = "kept (bmcctl cluster kubeconfig)"
				}
				_, err = fmt.Fprintf(e.stdout, "last job %d: %s; kubeconfig %s\n", st.LastJob, st.LastState, kc)
				return err
			})
		},
	}
}

func newClusterInventory(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "inventory",
		Short: "Print a k3s-ansible inventory.yml of the cluster's nodes",
		Long: "Print the cluster's nodes as an Ansible inventory in k3s-ansible's layout\n" +
			"(k3s_cluster with children server and agent), for those who prefer the\n" +
			"Ansible route. The token is not included: add yours to vars.",
		Example: "  bmcctl cluster inventory > inventory.yml && ansible-inventory -i inventory.yml --list",
		Args:    maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.call(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				st, err := c.ClusterStatus(ctx)
				if err != nil {
					return err
				}
				return writeInventory(e.stdout, st)
			})
		},
	}
}

// writeInventory writes k3s-ansible's inventory layout. Every scalar is
// a JSON string, which YAML reads as a double-quoted scalar.
func writeInventory(w io.Writer, st apitype.ClusterStatus) error {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	fmt.Fprintln(w, "---")
	fmt.Fprintln(w, "k3s_cluster:")
	fmt.Fprintln(w, "  children:")
	for _, role := range []string{"server", "agent"} {
		fmt.Fprintf(w, "    %s:\n", role)
		fmt.Fprintln(w, "      hosts:")
		n := 0
		for _, node := range st.Nodes {
			if node.Role != role {
				continue
			}
			n++
			host, port, err := net.SplitHostPort(node.Addr)
			if err != nil {
				host, port = node.Addr, "22"
			}
			p, _ := strconv.Atoi(port)
			fmt.Fprintf(w, "        %s:\n", q(node.Name))
			fmt.Fprintf(w, "          ansible_host: %s\n", q(host))
			fmt.Fprintf(w, "          ansible_port: %d\n", p)
			fmt.Fprintf(w, "          ansible_user: %s\n", q(node.User))
		}
		if n == 0 {
			// An empty hosts map, not null, so the group still exists.
			fmt.Fprintln(w, "        {}")
		}
	}
	fmt.Fprintln(w, "  vars:")
	if st.K3sVersion != "" {
		fmt.Fprintf(w, "    k3s_version: %s\n", q(st.K3sVersion))
	}
	_, err := fmt.Fprintln(w, "    api_endpoint: \"{{ hostvars[groups['server'][0]]['ansible_host'] | default(groups['server'][0]) }}\"")
	return err
}
