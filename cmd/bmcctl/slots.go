package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api"
)

func newSlots(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "slots",
		Short: "List the slots: name, module, measured power, policy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.newClient()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), e.timeout)
			defer cancel()
			slots, err := c.Slots(ctx)
			if err != nil {
				return authError(c, err)
			}
			if e.output == "json" {
				return printJSON(e.stdout, slots)
			}
			return printSlots(e.stdout, slots, true)
		},
	}
}

func newSlotCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "slot", Short: "Change a slot's settings"}
	var name, module, policy string
	set := &cobra.Command{
		Use:     "set SLOT [--name NAME] [--module TYPE] [--policy always-off|always-on|last-state]",
		Short:   "Set a slot's name, module type or power-restore policy",
		Example: "  bmcctl slot set 2 --name k3s-server --module CM4 --policy always-on",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return usagef("invalid slot %q: want a number", args[0])
			}
			var p api.SlotPatch
			flags := cmd.Flags()
			if flags.Changed("name") {
				p.Name = &name
			}
			if flags.Changed("module") {
				p.Module = &module
			}
			if flags.Changed("policy") {
				p.Policy = &policy
			}
			if p == (api.SlotPatch{}) {
				return usagef("slot set: nothing to change: give --name, --module or --policy")
			}
			c, err := e.newClient()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), e.timeout)
			defer cancel()
			s, err := c.PatchSlot(ctx, n, p)
			if err != nil {
				return authError(c, err)
			}
			if e.output == "json" {
				return printJSON(e.stdout, s)
			}
			return printSlots(e.stdout, []api.Slot{s}, true)
		},
	}
	set.Flags().StringVar(&name, "name", "", "slot name")
	set.Flags().StringVar(&module, "module", "", "module type, e.g. CM4, RK1")
	set.Flags().StringVar(&policy, "policy", "", "power-restore policy: always-off, always-on or last-state")
	_ = set.RegisterFlagCompletionFunc("policy", cobra.FixedCompletions([]string{"always-off", "always-on", "last-state"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.AddCommand(set)
	return cmd
}

func newBoard(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "board",
		Short: "Show the board: model, slots, capabilities, warnings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.newClient()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), e.timeout)
			defer cancel()
			b, err := c.Board(ctx)
			if err != nil {
				return authError(c, err)
			}
			if e.output == "json" {
				return printJSON(e.stdout, b)
			}
			fmt.Fprintf(e.stdout, "Model:        %s (%s)\nSlots:        %d\nCapabilities: %v\nbmcd:         %s\n", b.Model, b.Profile, b.Slots, b.Capabilities, b.Version)
			for _, w := range b.Warnings {
				fmt.Fprintf(e.stdout, "Warning:      %s\n", w)
			}
			return nil
		},
	}
}

func newEvents(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "events",
		Short: "Follow board events (power changes, slot changes, flash jobs) until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.newClient()
			if err != nil {
				return err
			}
			err = c.Events(cmd.Context(), func(ev api.Event) error {
				if e.output == "json" {
					return printJSON(e.stdout, ev)
				}
				ts := ev.Time.Local().Format("15:04:05")
				switch {
				case ev.Slot != nil:
					fmt.Fprintf(e.stdout, "%s %-5s slot %d: power %s\n", ts, ev.Type, ev.Slot.Slot, ev.Slot.Power)
				case ev.Job != nil:
					fmt.Fprintf(e.stdout, "%s %-5s job %d slot %d: %s %s\n", ts, ev.Type, ev.Job.ID, ev.Job.Slot, ev.Job.State, ev.Job.Step)
				}
				return nil
			})
			return authError(c, err)
		},
	}
}

func newVersion(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print bmcctl's version",
		Args:  cobra.NoArgs,
		Run:   func(*cobra.Command, []string) { fmt.Fprintln(e.stdout, version) },
	}
}
