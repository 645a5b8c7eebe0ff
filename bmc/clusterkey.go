package bmc

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/hal/atomicfile"
)

// clusterKeyFile is bmcd's own SSH client key under the state directory.
const clusterKeyFile = "cluster_ed25519"

// clusterKeyComment names the key in the nodes' authorized_keys.
const clusterKeyComment = "bmcd"

// loadClusterKey reads bmcd's SSH client key from dir, generating and
// writing it (0600) the first time. The key is what bmcd logs in to the
// nodes with; its public line goes into every prepared node's
// authorized keys.
func loadClusterKey(dir string) (ssh.Signer, error) {
	p := filepath.Join(dir, clusterKeyFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, fmt.Errorf("bmc: generate cluster key: %w", gerr)
		}
		blk, merr := ssh.MarshalPrivateKey(priv, clusterKeyComment)
		if merr != nil {
			return nil, fmt.Errorf("bmc: encode cluster key: %w", merr)
		}
		data = pem.EncodeToMemory(blk)
		if werr := atomicfile.Write(p, data, 0o600); werr != nil {
			return nil, fmt.Errorf("bmc: write cluster key: %w", werr)
		}
	} else if err != nil {
		return nil, fmt.Errorf("bmc: read cluster key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("bmc: cluster key %s: %w", p, err)
	}
	return s, nil
}

// ClusterKey is the public line of bmcd's SSH client key
// ("ssh-ed25519 AAAA… bmcd"): prepared nodes trust it; add it to the
// authorized keys of nodes joined by address.
func (b *Board) ClusterKey() string {
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(b.clusterKey.PublicKey())))
	return line + " " + clusterKeyComment
}

// withClusterKey adds bmcd's key to a seed's authorized keys, once.
func (b *Board) withClusterKey(keys []string) []string {
	mine := b.clusterKey.PublicKey().Marshal()
	for _, k := range keys {
		if pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err == nil && string(pk.Marshal()) == string(mine) {
			return keys
		}
	}
	return append(append([]string(nil), keys...), b.ClusterKey())
}
