package bmc

import "fmt"

// Policy says what bmcd does with a slot that is off when it starts.
type Policy string

// Power-restore policies, named as in OpenBMC's PowerRestorePolicy.
const (
	// AlwaysOff leaves the slot off (the default).
	AlwaysOff Policy = "always-off"
	// AlwaysOn switches the slot on.
	AlwaysOn Policy = "always-on"
	// LastState switches the slot on if a user last asked for it to be on.
	LastState Policy = "last-state"
)

// ParsePolicy validates a policy name.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case AlwaysOff, AlwaysOn, LastState:
		return p, nil
	}
	return "", fmt.Errorf("policy %q: %w (want always-off, always-on or last-state)", s, ErrInvalid)
}

// Action is a power operation on a slot.
type Action string

// Power actions.
const (
	On    Action = "on"
	Off   Action = "off"
	Reset Action = "reset"
	Cycle Action = "cycle"
)

// ParseAction validates an action name.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case On, Off, Reset, Cycle:
		return a, nil
	}
	return "", fmt.Errorf("action %q: %w (want on, off, reset or cycle)", s, ErrInvalid)
}
