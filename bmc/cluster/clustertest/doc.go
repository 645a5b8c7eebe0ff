// Package clustertest holds test helpers for package cluster and the
// cluster job: a real OpenSSH sshd to connect to, a TCP proxy that can
// stop forwarding, a fake [cluster.Runner] that answers commands from a
// table, and the real-parts tier: [StartNetwork] starts test nodes, each
// Debian's sshd in its own network, UTS and mount namespaces on a bridge
// of its test's own, running the k3s stand-in of package k3sstandin
// ([StandinBinary]). netns.go says what a node is made of and what of it
// is modelled (curl, systemctl, the clock).
package clustertest
