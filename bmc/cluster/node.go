package cluster

import (
	"fmt"

	"golang.org/x/crypto/ssh"
)

// Node is a machine bmcd reaches over SSH: a slot of this board or a node
// given by address.
type Node struct {
	// Name identifies the node in errors and reports (e.g. "node1").
	Name string
	// Addr is host:port.
	Addr string
	// HostKey is the node's recorded SSH host key; connections that
	// present another key are refused.
	HostKey ssh.PublicKey
}

func (n Node) String() string { return fmt.Sprintf("%s (%s)", n.Name, n.Addr) }

func (n Node) validate() error {
	switch {
	case n.Name == "":
		return fmt.Errorf("node %s: no name", n.Addr)
	case n.Addr == "":
		return fmt.Errorf("node %s: no address", n.Name)
	case n.HostKey == nil:
		return fmt.Errorf("node %s: no recorded host key", n)
	}
	return nil
}
