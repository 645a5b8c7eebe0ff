package cluster

import (
	"crypto/rand"
	"encoding/hex"
)

// NewToken returns a fresh cluster token: 256 random bits in hex. bmcd
// keeps it so a re-flashed server can rejoin the cluster.
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it aborts the program instead)
	return hex.EncodeToString(b)
}
