package main

import (
	"context"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

// policies are the power-restore policies a slot can have.
func policies() []string { return []string{"always-off", "always-on", "last-state"} }

func newSlots(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "slots",
		Short: "List the slots: name, module, measured power, policy",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.call(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				slots, err := c.Slots(ctx)
				if err != nil {
					return err
				}
				if e.jsonOutput() {
					return printJSON(e.stdout, slots)
				}
				return writeSlots(e.stdout, slots)
			})
		},
	}
}

func newSlotCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "slot", Short: "Change a slot's settings"}
	cmd.AddCommand(newSlotSet(e))
	return cmd
}

func newSlotSet(e *env) *cobra.Command {
	var name, module, policy string
	cmd := &cobra.Command{
		Use:   "set SLOT [--name NAME] [--module TYPE] [--policy always-off|always-on|last-state]",
		Short: "Set a slot's name, module type or power-restore policy",
		Long: "Set a slot's name, module type or power-restore policy; what is not given is\n" +
			"left as it is. The policy says what bmcd does with the slot when the board\n" +
			"powers up: switch it off, switch it on, or restore its last requested state.",
		Example: "  bmcctl slot set 2 --name k3s-server --module CM4 --policy always-on",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("slot set: want one SLOT argument, got %d arguments", len(args))
			}
			return nil
		},
		ValidArgsFunction: e.completeSlots(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return usagef("invalid slot %q: want a number", args[0])
			}
			var p apitype.SlotPatch
			flags := cmd.Flags()
			if flags.Changed("name") {
				p.Name = &name
			}
			if flags.Changed("module") {
				p.Module = &module
			}
			if flags.Changed("policy") {
				if !slices.Contains(policies(), policy) {
					return usagef("invalid --policy %q: want always-off, always-on or last-state", policy)
				}
				p.Policy = &policy
			}
			if p == (apitype.SlotPatch{}) {
				return usagef("slot set: nothing to change: give --name, --module or --policy")
			}
			return e.call(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				s, err := c.PatchSlot(ctx, n, p)
				if err != nil {
					return err
				}
				if e.jsonOutput() {
					return printJSON(e.stdout, s)
				}
				return writeSlotSettings(e.stdout, s)
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "slot name (\"\" clears it)")
	cmd.Flags().StringVar(&module, "module", "", "module type, e.g. CM4 or RK1 (\"\" clears it)")
	cmd.Flags().StringVar(&policy, "policy", "", "power-restore policy: always-off, always-on or last-state")
	_ = cmd.RegisterFlagCompletionFunc("policy", cobra.FixedCompletions(policies(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
