package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newVersion(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print bmcctl's version",
		Args:  maxArgs(0),
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(e.stdout, version)
			return err
		},
	}
}
