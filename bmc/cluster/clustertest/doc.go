// Package clustertest holds test helpers for package cluster: a real
// OpenSSH sshd to connect to, a TCP proxy that can stop forwarding, and a
// fake [cluster.Runner] that answers commands from a table.
package clustertest
