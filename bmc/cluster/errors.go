package cluster

import "errors"

var (
	// ErrHostKeyMismatch reports a node whose SSH host key differs from the
	// one recorded for it. The connection is refused.
	ErrHostKeyMismatch = errors.New("host key mismatch")
	// ErrAuth reports a node that refused bmcd's key.
	ErrAuth = errors.New("ssh authentication refused")
	// ErrHandshakeTimeout reports a node that accepted TCP but did not
	// complete the SSH handshake in time.
	ErrHandshakeTimeout = errors.New("ssh handshake timed out")
	// ErrKeepalive reports a connection dropped because the node stopped
	// answering keepalives.
	ErrKeepalive = errors.New("node stopped answering keepalives")
	// ErrClosed reports use of a closed connection.
	ErrClosed = errors.New("connection closed")
	// ErrPreflight reports a failed preflight check.
	ErrPreflight = errors.New("preflight check failed")
)
