package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newJobs(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List flash jobs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.newClient()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), e.timeout)
			defer cancel()
			jobs, err := c.Jobs(ctx)
			if err != nil {
				return authError(c, err)
			}
			if e.output == "json" {
				return printJSON(e.stdout, jobs)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSLOT\tSTATE\tSTEP\tIMAGE\tERROR")
			for _, j := range jobs {
				fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", j.ID, j.Slot, j.State, dash(j.Step), j.Image, j.Error)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a queued or running flash job",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usagef("invalid job id %q: want a number", args[0])
			}
			c, err := e.newClient()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), e.timeout)
			defer cancel()
			j, err := c.CancelJob(ctx, id)
			if err != nil {
				return authError(c, err)
			}
			if e.output == "json" {
				return printJSON(e.stdout, j)
			}
			fmt.Fprintf(e.stdout, "job %d: cancel requested (was %s)\n", j.ID, j.State)
			return nil
		},
	})
	return cmd
}
