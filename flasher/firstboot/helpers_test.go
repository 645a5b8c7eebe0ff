package firstboot_test

import (
	"crypto/ed25519"
	"strings"

	"golang.org/x/crypto/ssh"
)

func authorizedKey(pub ed25519.PublicKey) (string, error) {
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))), nil
}
