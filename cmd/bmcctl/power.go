package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api"
)

// slotArg parses a SLOT argument: a number, or "all" (allSlots true).
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
		Use:   "power on|off|reset|cycle|status [SLOT|all]",
		Short: "Switch slot power or show it",
		Long: "Switch slot power or show it. Without SLOT, or with \"all\", the action applies to\n" +
			"every slot (switching on is staggered by bmcd). reset pulses the reset line where\n" +
			"the board has one and power cycles the slot elsewhere.",
		Example: "  bmcctl power on 3\n  bmcctl power off all\n  bmcctl power status",
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("power: unknown action %q: want on, off, reset, cycle or status", args[0])
			}
			return usagef("power: missing action: on, off, reset, cycle or status")
		},
	}
	var force bool
	for _, action := range []string{"on", "off", "reset", "cycle"} {
		sub := &cobra.Command{
			Use:       action + " [SLOT|all]",
			Short:     "Power " + action + " a slot, or all slots",
			Args:      maxArgs(1),
			ValidArgs: []string{"all"},
			RunE: func(cmd *cobra.Command, args []string) error {
				slot, all, err := slotArg(args)
				if err != nil {
					return err
				}
				if all && action != "on" && action != "off" && len(args) == 0 {
					return usagef("power %s: name a slot, or \"all\"", action)
				}
				return e.powerAction(cmd.Context(), action, slot, all, force)
			},
		}
		if action != "on" {
			sub.Flags().BoolVar(&force, "force", false, "also switch off the slot bmcd itself runs on")
		}
		cmd.AddCommand(sub)
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "status [SLOT|all]",
		Short: "Show measured slot power",
		Args:  maxArgs(1),
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

func maxArgs(n int) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > n {
			return usagef("unexpected argument %q", args[n])
		}
		return nil
	}
}

func (e *env) powerAction(ctx context.Context, action string, slot int, all, force bool) error {
	c, err := e.newClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req := api.PowerRequest{Action: action, Force: force}
	var slots []api.Slot
	if all {
		slots, err = c.PowerAll(ctx, req)
	} else {
		var s api.Slot
		s, err = c.Power(ctx, slot, req)
		slots = []api.Slot{s}
	}
	if err != nil {
		return authError(c, err)
	}
	if e.output == "json" {
		if all {
			return printJSON(e.stdout, slots)
		}
		return printJSON(e.stdout, slots[0])
	}
	for _, s := range slots {
		fmt.Fprintf(e.stdout, "slot %d: %s\n", s.Slot, s.Power)
	}
	return nil
}

func (e *env) powerStatus(ctx context.Context, slot int, all bool) error {
	c, err := e.newClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	var slots []api.Slot
	if all {
		slots, err = c.Slots(ctx)
	} else {
		var s api.Slot
		s, err = c.Slot(ctx, slot)
		slots = []api.Slot{s}
	}
	if err != nil {
		return authError(c, err)
	}
	if e.output == "json" {
		if all {
			return printJSON(e.stdout, slots)
		}
		return printJSON(e.stdout, slots[0])
	}
	return printSlots(e.stdout, slots, false)
}
