package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

func newEvents(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "events",
		Short: "Follow board events (power, slot settings, flash jobs) until interrupted",
		Long: "Follow board events as they happen, one line each (one JSON object per line\n" +
			"with -o json), until interrupted with Ctrl-C.",
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.stream(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				return c.Events(ctx, func(ev apitype.Event) error {
					if e.jsonOutput() {
						return printJSONLine(e.stdout, ev)
					}
					return writeEvent(e.stdout, ev, e.loc)
				})
			})
		},
	}
}
