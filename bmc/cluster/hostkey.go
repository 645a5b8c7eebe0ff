package cluster

import (
	"bytes"
	"fmt"
	"net"

	"golang.org/x/crypto/ssh"
)

// pinnedHostKey accepts exactly the node's recorded key, and names the node
// and both fingerprints otherwise.
func pinnedHostKey(n Node) ssh.HostKeyCallback {
	want := n.HostKey.Marshal()
	return func(_ string, _ net.Addr, got ssh.PublicKey) error {
		if bytes.Equal(got.Marshal(), want) {
			return nil
		}
		return fmt.Errorf("%w: presented %s %s, recorded %s %s", ErrHostKeyMismatch,
			got.Type(), ssh.FingerprintSHA256(got), n.HostKey.Type(), ssh.FingerprintSHA256(n.HostKey))
	}
}

// hostKeyAlgorithms asks only for the recorded key's type: otherwise the
// node may offer another of its keys, which would read as a mismatch.
func hostKeyAlgorithms(k ssh.PublicKey) []string {
	if k.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	return []string{k.Type()}
}
