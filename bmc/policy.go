package bmc

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
	return "", invalidf("policy %q: want always-off, always-on or last-state", s)
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

// verb is how an error names the action: "power on", "reset".
func (a Action) verb() string {
	switch a {
	case On, Off, Cycle:
		return "power " + string(a)
	}
	return string(a)
}

// ParseAction validates an action name.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case On, Off, Reset, Cycle:
		return a, nil
	}
	return "", invalidf("action %q: want on, off, reset or cycle", s)
}
