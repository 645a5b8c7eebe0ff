package firstboot

import (
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Seed is what a flash prepares the node with.
type Seed struct {
	// Hostname is a DNS label (RFC 1123: letters, digits and inner hyphens, at most 63).
	Hostname string
	// User is the login account; empty means DefaultUser (DietPi always uses root).
	User string
	// PasswordHash is an optional crypt(3) hash; without it the account's
	// password is locked and only the keys log in.
	PasswordHash string
	// AuthorizedKeys are OpenSSH public-key lines; at least one is needed.
	AuthorizedKeys []string
	// HostKey is the node's SSH host key (see GenerateHostKey).
	HostKey HostKey
	// InstanceID is the cloud-init instance-id, new for every flash (see NewInstanceID).
	InstanceID string
	// NetworkConfig is an optional netplan v2 document written as
	// network-config on cloud-init images; nothing is written when empty.
	NetworkConfig string
	// K3sPrep adds cgroup_enable=memory to cmdline.txt and enables time sync.
	K3sPrep bool
}

// DefaultUser is the account made when Seed.User is empty.
const DefaultUser = "pi"

var (
	hostnameRE   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	userRE       = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	cryptRE      = regexp.MustCompile(`^\$[0-9a-z]+\$[./0-9A-Za-z$=,]+$`)
	instanceIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	commentRE    = regexp.MustCompile(`^[A-Za-z0-9@._+:/-]{1,64}$`)
)

// NewInstanceID returns a fresh cloud-init instance-id ("bmcd-" and 16 hex
// digits) from rand (crypto/rand.Reader in production).
func NewInstanceID(rand io.Reader) (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("make instance-id: %w", err)
	}
	return "bmcd-" + hex.EncodeToString(b[:]), nil
}

func (s Seed) user() string {
	if s.User == "" {
		return DefaultUser
	}
	return s.User
}

// Validate checks every field and returns the seed with its keys in
// canonical form ("type base64 [comment]", a comment kept only when it holds
// no shell or YAML metacharacters), so the renderers never quote user text.
func (s Seed) Validate() (Seed, error) {
	if !hostnameRE.MatchString(s.Hostname) {
		return Seed{}, fmt.Errorf("%w: hostname %q is not a DNS label (lower-case letters, digits, inner hyphens, 1-63)", ErrInvalidSeed, s.Hostname)
	}
	if s.User != "" && !userRE.MatchString(s.User) {
		return Seed{}, fmt.Errorf("%w: user %q is not a valid account name", ErrInvalidSeed, s.User)
	}
	if s.PasswordHash != "" && !cryptRE.MatchString(s.PasswordHash) {
		return Seed{}, fmt.Errorf("%w: password hash is not a crypt(3) hash such as $y$…", ErrInvalidSeed)
	}
	if len(s.AuthorizedKeys) == 0 {
		return Seed{}, fmt.Errorf("%w: no authorized key", ErrInvalidSeed)
	}
	keys := make([]string, 0, len(s.AuthorizedKeys))
	for i, k := range s.AuthorizedKeys {
		c, err := canonicalKey(k)
		if err != nil {
			return Seed{}, fmt.Errorf("%w: authorized key %d: %w", ErrInvalidSeed, i+1, err)
		}
		keys = append(keys, c)
	}
	if !s.HostKey.valid() {
		return Seed{}, fmt.Errorf("%w: no ed25519 host key", ErrInvalidSeed)
	}
	if !instanceIDRE.MatchString(s.InstanceID) {
		return Seed{}, fmt.Errorf("%w: instance-id %q", ErrInvalidSeed, s.InstanceID)
	}
	if strings.Contains(s.NetworkConfig, "\x00") {
		return Seed{}, fmt.Errorf("%w: network-config holds a NUL byte", ErrInvalidSeed)
	}
	out := s
	out.AuthorizedKeys = keys
	return out, nil
}

// canonicalKey parses one authorized_keys line without options.
func canonicalKey(line string) (string, error) {
	line = strings.TrimSpace(line)
	if strings.ContainsAny(line, "\r\n") {
		return "", fmt.Errorf("more than one line")
	}
	pub, comment, opts, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return "", fmt.Errorf("not an OpenSSH public key: %w", err)
	}
	if len(opts) > 0 || len(rest) > 0 {
		return "", fmt.Errorf("options or trailing data after the key")
	}
	c := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if commentRE.MatchString(comment) {
		c += " " + comment
	}
	return c, nil
}
