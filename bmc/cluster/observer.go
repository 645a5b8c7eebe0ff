package cluster

// The steps an [Install] goes through, as [Observer.Step] hears them.
const (
	StepInstallServer = "install-server" // the first server, alone
	StepJoin          = "join"           // the other servers and the agents, in parallel
	StepReady         = "ready"          // every node Ready
)

// The steps of [Remove] and [Down].
const (
	StepDrain            = "drain"             // drain and delete the node on a server that stays
	StepUninstall        = "uninstall"         // the node's uninstall script
	StepUninstallAgents  = "uninstall-agents"  // every agent, in parallel
	StepUninstallServers = "uninstall-servers" // then every server
)

// Observer hears what a cluster operation does while it does it, so a
// job can show per-node progress and keep each node's outcome the moment
// it is known (a bmcd stopped halfway then knows which nodes were done).
// Nil funcs are not called; the funcs may be called from several
// goroutines at once.
type Observer struct {
	// Step is called when a step begins.
	Step func(name string)
	// Doing is called when a node starts something ("installing k3s as
	// agent"): one progress line.
	Doing func(node, what string)
	// Done is called with a node's outcome once its part is over.
	Done func(NodeOutcome)
}

func (o Observer) step(name string) {
	if o.Step != nil {
		o.Step(name)
	}
}

func (o Observer) doing(node, what string) {
	if o.Doing != nil {
		o.Doing(node, what)
	}
}

func (o Observer) done(out NodeOutcome) NodeOutcome {
	if o.Done != nil {
		o.Done(out)
	}
	return out
}
