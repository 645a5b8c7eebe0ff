package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

// errCheckFailed is the error of a check that found failures: exit 1.
var errCheckFailed = errors.New("board check: something failed (see the report)")

func newBoardCheck(e *env) *cobra.Command {
	var active int
	cmd := &cobra.Command{
		Use:   "check [--active SLOT]",
		Short: "Check the board: profile, lines, supplies, chips, USB, consoles, firmware, space",
		Long: "Check what bmcd finds on the board, without switching anything: the board\n" +
			"profile and why, each GPIO line and supply with its level, the I2C chip, the\n" +
			"USB bus, each console's device, the rpiboot firmware files and their sizes,\n" +
			"and the free space in the state directory. Run it first on a new board.\n" +
			"With --active SLOT, a slot that is off (an empty one is best) is also\n" +
			"switched on and off and booted from USB until its boot ROM enumerates, then\n" +
			"put back. The exit status is 1 if anything failed. On the controller's shell\n" +
			"without a running bmcd, 'bmcd check' prints the same report.",
		Example: "  bmcctl board check\n  bmcctl board check --active 4\n  bmcctl -o json board check",
		Args:    maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("active") && active < 1 {
				return usagef("board check: invalid --active %d: want a slot number", active)
			}
			return e.call(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				r, err := c.Check(ctx, active)
				if err != nil {
					return err
				}
				return e.writeCheck(r)
			})
		},
	}
	cmd.Flags().IntVar(&active, "active", 0, "also switch this slot (it must be off): power on/off and USB boot to the ROM")
	_ = cmd.RegisterFlagCompletionFunc("active", e.completeSlotFlag)
	return cmd
}

// writeCheck prints a report and fails if the check did.
func (e *env) writeCheck(r apitype.CheckReport) error {
	var err error
	if e.jsonOutput() {
		err = printJSON(e.stdout, r)
	} else {
		err = r.WriteText(e.stdout)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if r.Failed {
		return errCheckFailed
	}
	return nil
}
