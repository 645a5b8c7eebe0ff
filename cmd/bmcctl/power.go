package main

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

// powerActions are the actions of POST .../power, in the order shown.
func powerActions() []string { return []string{"on", "off", "reset", "cycle"} }

// slotArg parses an optional SLOT argument: a number, or "all" or nothing
// (allSlots true). Whether the board has that slot is bmcd's to say.
// Only status may leave it out: a power action names its slots.
func slotArg(args []string) (slot int, allSlots bool, err error) {
	if len(args) == 0 || args[0] == "all" {
		return 0, true, nil
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return 0, false, usagef("invalid slot %q: want a number or \"all\"", args[0])
	}
	return n, false, nil
}

func newPower(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "power on|off|reset|cycle|status SLOT|all",
		Short: "Switch slot power or show it",
		Long: "Switch slot power or show it. With \"all\", the action applies to every slot\n" +
			"(switching on is staggered by bmcd). Every action needs SLOT or \"all\"; status\n" +
			"without SLOT shows all slots.\n" +
			"reset pulses the reset line where the board has one and power cycles the slot\n" +
			"elsewhere. The power shown is measured after the action.",
		Example:   "  bmcctl power on 3\n  bmcctl power off all\n  bmcctl power status",
		Args:      cobra.ArbitraryArgs,
		ValidArgs: append(powerActions(), "status"),
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("power: unknown action %q: want on, off, reset, cycle or status", args[0])
			}
			return usagef("power: missing action: on, off, reset, cycle or status")
		},
	}
	for _, action := range powerActions() {
		cmd.AddCommand(newPowerAction(e, action))
	}
	cmd.AddCommand(&cobra.Command{
		Use:               "status [SLOT|all]",
		Short:             "Show the measured power of a slot, or of all slots",
		Args:              maxArgs(1),
		ValidArgsFunction: e.completeSlots(true),
		RunE: func(cmd *cobra.Command, args []string) error {
			slot, all, err := slotArg(args)
			if err != nil {
				return err
			}
			return e.powerStatus(cmd.Context(), slot, all)
		},
	})
	return cmd
}

func newPowerAction(e *env, action string) *cobra.Command {
	var force bool
	sub := &cobra.Command{
		Use:               action + " SLOT|all",
		Short:             "Power " + action + " a slot, or all slots",
		Args:              maxArgs(1),
		ValidArgsFunction: e.completeSlots(true),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Not even "off": a forgotten slot number must not
			// switch the whole board off.
			if len(args) == 0 {
				return usagef("power %s: name a slot, or \"all\" for every slot", action)
			}
			slot, all, err := slotArg(args)
			if err != nil {
				return err
			}
			return e.powerAction(cmd.Context(), apitype.PowerRequest{Action: action, Force: force}, slot, all)
		},
	}
	switch action {
	case "on":
		sub.Short = "Power on a slot, or all slots (staggered)"
	case "cycle":
		sub.Short = "Power cycle a slot (off, then on), or all slots"
	case "reset":
		sub.Short = "Reset a slot, or all slots"
	}
	if action != "on" {
		sub.Flags().BoolVar(&force, "force", false, "also switch off the slot bmcd itself runs on")
	}
	return sub
}

// maxArgs allows at most n positional arguments.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usagef("%s: unexpected argument %q", subPath(cmd), args[n])
		}
		return nil
	}
}

func (e *env) powerAction(ctx context.Context, req apitype.PowerRequest, slot int, all bool) error {
	return e.call(ctx, func(ctx context.Context, c *client.Client) error {
		if all {
			slots, err := c.PowerAll(ctx, req)
			if err != nil {
				return err
			}
			if e.jsonOutput() {
				return printJSON(e.stdout, slots)
			}
			return writePowerResult(e.stdout, slots)
		}
		s, err := c.Power(ctx, slot, req)
		if err != nil {
			return err
		}
		if e.jsonOutput() {
			return printJSON(e.stdout, s)
		}
		return writePowerResult(e.stdout, []apitype.Slot{s})
	})
}

func (e *env) powerStatus(ctx context.Context, slot int, all bool) error {
	return e.call(ctx, func(ctx context.Context, c *client.Client) error {
		if all {
			slots, err := c.Slots(ctx)
			if err != nil {
				return err
			}
			if e.jsonOutput() {
				return printJSON(e.stdout, slots)
			}
			return writePowerStatus(e.stdout, slots)
		}
		s, err := c.Slot(ctx, slot)
		if err != nil {
			return err
		}
		if e.jsonOutput() {
			return printJSON(e.stdout, s)
		}
		return writePowerStatus(e.stdout, []apitype.Slot{s})
	})
}
