package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/client"
)

func newBoard(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "board",
		Short: "Show the board: model, slots, capabilities, warnings",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.call(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				b, err := c.Board(ctx)
				if err != nil {
					return err
				}
				if e.jsonOutput() {
					return printJSON(e.stdout, b)
				}
				return writeBoard(e.stdout, b)
			})
		},
	}
	cmd.AddCommand(newBoardCheck(e))
	return cmd
}
