package main

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// Slot completion asks bmcd for the slots, with the cached token. A
// shell waits for the answer before showing anything, so the wait is
// short; without an answer (no token, bmcd unreachable or slow) the
// slots of a Turing Pi, 1 to 4, are offered, and nothing is printed.
const (
	completionTimeout = 2 * time.Second
	fallbackSlots     = 4
)

// completeSlots completes a SLOT argument: each slot's number, described
// by its name, module and power, and "all" when withAll.
func (e *env) completeSlots(withAll bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return e.slotCompletions(cmd.Context(), withAll), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeSlotFlag completes a --slot flag: slot numbers, no "all".
func (e *env) completeSlotFlag(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return e.slotCompletions(cmd.Context(), false), cobra.ShellCompDirectiveNoFileComp
}

func (e *env) slotCompletions(ctx context.Context, withAll bool) []cobra.Completion {
	var out []cobra.Completion
	if slots, ok := e.slotsForCompletion(ctx); ok {
		for _, s := range slots {
			out = append(out, cobra.CompletionWithDesc(strconv.Itoa(s.Slot), slotDescription(s)))
		}
	} else {
		for n := 1; n <= fallbackSlots; n++ {
			out = append(out, strconv.Itoa(n))
		}
	}
	if withAll {
		out = append(out, cobra.CompletionWithDesc("all", "every slot"))
	}
	return out
}

// slotsForCompletion lists the slots, or reports false. Errors are not
// shown (they would land in the middle of the command line) and a
// refused token is left in the cache for the next command to explain.
func (e *env) slotsForCompletion(ctx context.Context) ([]apitype.Slot, bool) {
	c, err := e.newClient()
	if err != nil || c.Token == "" {
		return nil, false
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	slots, err := c.Slots(ctx)
	if err != nil || len(slots) == 0 {
		return nil, false
	}
	return slots, true
}

// slotDescription is "k3s, CM4, on": what is known of the slot.
func slotDescription(s apitype.Slot) string {
	var parts []string
	for _, p := range []string{s.Name, s.Module, s.Power} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}
