package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/client"
)

func newJobs(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List flash jobs, newest first",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.call(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				jobs, err := c.Jobs(ctx)
				if err != nil {
					return err
				}
				if e.jsonOutput() {
					return printJSON(e.stdout, jobs)
				}
				tw := newTable(e.stdout)
				fmt.Fprintln(tw, "ID\tSLOT\tSTATE\tSTEP\tIMAGE\tERROR")
				for _, j := range jobs {
					fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", j.ID, j.Slot, j.State, dash(j.Step), j.Image, j.Error)
				}
				return tw.Flush()
			})
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a queued or running flash job",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("jobs cancel: want one job ID, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usagef("invalid job id %q: want a number", args[0])
			}
			return e.call(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				j, err := c.CancelJob(ctx, id)
				if err != nil {
					return err
				}
				if e.jsonOutput() {
					return printJSON(e.stdout, j)
				}
				_, err = fmt.Fprintf(e.stdout, "job %d: cancel requested (was %s)\n", j.ID, j.State)
				return err
			})
		},
	})
	return cmd
}
