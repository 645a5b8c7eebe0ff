package firstboot

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"
)

// ReadSeed reads back the seed a prepared image carries, as the node would
// find it on its first boot (the simulated node uses it). The instance-id
// is read from meta-data on cloud-init images and left empty otherwise.
func ReadSeed(r io.ReaderAt, size int64) (Plan, Seed, error) {
	b, err := openBoot(r, size)
	if err != nil {
		return Plan{}, Seed{}, err
	}
	s, err := b.readSeed()
	if err != nil {
		return b.plan, Seed{}, fmt.Errorf("partition %d: %w", b.plan.Partition.Index, err)
	}
	return b.plan, s, nil
}

func (b *boot) readSeed() (Seed, error) {
	switch b.plan.Family {
	case RaspiosBookworm:
		sh, err := b.read("firstrun.sh")
		if err != nil {
			return Seed{}, err
		}
		return ParseFirstrun(sh)
	case DietPi:
		txt, err := b.read("dietpi.txt")
		if err != nil {
			return Seed{}, err
		}
		sh, err := b.read(dietpiScript)
		if err != nil {
			return Seed{}, err
		}
		return ParseDietPi(txt, sh)
	}
	ud, err := b.read("user-data")
	if err != nil {
		return Seed{}, err
	}
	s, err := ParseUserData(ud)
	if err != nil {
		return Seed{}, err
	}
	if md, err := b.read("meta-data"); err == nil {
		var m struct {
			InstanceID string `yaml:"instance-id"`
		}
		if err := yaml.Unmarshal(md, &m); err != nil {
			return Seed{}, fmt.Errorf("%w: meta-data: %w", ErrInvalidSeed, err)
		}
		s.InstanceID = m.InstanceID
	}
	return s, nil
}

type ciUser struct {
	Name   string   `yaml:"name"`
	Passwd string   `yaml:"passwd"`
	Keys   []string `yaml:"ssh_authorized_keys"`
}

// UnmarshalYAML skips the `- default` entry of a users: list.
func (u *ciUser) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return nil
	}
	type plain ciUser
	return n.Decode((*plain)(u))
}

// ParseUserData reads a seed from cloud-init user-data: hostname, the first
// user (singular user: or a users: list), its keys and password hash, and
// the ed25519 host key from ssh_keys. An image's own template with no user
// or no host key is ErrInvalidSeed: it is not a bmcd seed.
func ParseUserData(data []byte) (Seed, error) {
	var doc struct {
		Hostname string            `yaml:"hostname"`
		User     *ciUser           `yaml:"user"`
		Users    []ciUser          `yaml:"users"`
		SSHKeys  map[string]string `yaml:"ssh_keys"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Seed{}, fmt.Errorf("%w: user-data: %w", ErrInvalidSeed, err)
	}
	u := doc.User
	for i := range doc.Users {
		if u == nil && doc.Users[i].Name != "" {
			u = &doc.Users[i]
		}
	}
	if u == nil {
		return Seed{}, fmt.Errorf("%w: user-data names no user", ErrInvalidSeed)
	}
	s := Seed{Hostname: doc.Hostname, User: u.Name, PasswordHash: u.Passwd, AuthorizedKeys: u.Keys}
	return finishParsed(s, doc.SSHKeys["ed25519_private"], "user-data")
}

// ParseFirstrun reads a seed from the BMCD_ assignments at the top of a
// firstrun.sh this package wrote.
func ParseFirstrun(data []byte) (Seed, error) {
	v, err := shellVars(string(data))
	if err != nil {
		return Seed{}, err
	}
	s := Seed{Hostname: v["BMCD_HOSTNAME"], User: v["BMCD_USER"], K3sPrep: v["BMCD_K3S_PREP"] == "1"}
	if h := v["BMCD_PASSWORD_HASH"]; h != "*" {
		s.PasswordHash = h
	}
	if k := v["BMCD_AUTHORIZED_KEYS"]; k != "" {
		s.AuthorizedKeys = strings.Split(k, "\n")
	}
	return finishParsed(s, v["BMCD_HOST_KEY"], "firstrun.sh")
}

// ParseDietPi reads a seed from dietpi.txt and the custom script this
// package wrote. DietPi's login is root.
func ParseDietPi(dietpiTxt, script []byte) (Seed, error) {
	v, err := shellVars(string(script))
	if err != nil {
		return Seed{}, err
	}
	s := Seed{User: "root", PasswordHash: v["BMCD_PASSWORD_HASH"], K3sPrep: v["BMCD_K3S_PREP"] == "1"}
	for _, l := range strings.Split(string(dietpiTxt), "\n") {
		k, val, ok := strings.Cut(strings.TrimSpace(l), "=")
		switch {
		case !ok:
		case k == "AUTO_SETUP_NET_HOSTNAME":
			s.Hostname = val
		case k == "AUTO_SETUP_SSH_PUBKEY":
			s.AuthorizedKeys = append(s.AuthorizedKeys, val)
		}
	}
	return finishParsed(s, v["BMCD_HOST_KEY"], "dietpi.txt")
}

// finishParsed parses the host key and checks the fields as Validate does.
func finishParsed(s Seed, hostKeyPEM, what string) (Seed, error) {
	if hostKeyPEM == "" {
		return Seed{}, fmt.Errorf("%w: %s holds no host key", ErrInvalidSeed, what)
	}
	k, err := ssh.ParseRawPrivateKey([]byte(hostKeyPEM))
	if err != nil {
		return Seed{}, fmt.Errorf("%w: %s host key: %w", ErrInvalidSeed, what, err)
	}
	priv, ok := k.(*ed25519.PrivateKey)
	if !ok {
		return Seed{}, fmt.Errorf("%w: %s host key is %T, not ed25519", ErrInvalidSeed, what, k)
	}
	s.HostKey = HostKey{Private: *priv}
	id := s.InstanceID
	s.InstanceID = "parsed" // instance-id is checked where it is read
	out, err := s.Validate()
	if err != nil {
		return Seed{}, fmt.Errorf("%s: %w", what, err)
	}
	out.InstanceID = id
	return out, nil
}

// shellVars reads the block of BMCD_NAME='value' assignments that ends at
// a blank line (values may span lines; the renderers never put a quote
// inside one).
func shellVars(sh string) (map[string]string, error) {
	v := map[string]string{}
	start := strings.Index(sh, "\nBMCD_")
	if start < 0 {
		return v, nil
	}
	for rest := sh[start:]; ; {
		if strings.HasPrefix(rest, "\n\n") {
			return v, nil
		}
		i := strings.Index(rest, "\nBMCD_")
		if i < 0 {
			return v, nil
		}
		rest = rest[i+1:]
		name, after, ok := strings.Cut(rest, "=")
		if !ok || strings.ContainsAny(name, " \n") {
			return nil, fmt.Errorf("%w: malformed assignment %.20q", ErrInvalidSeed, rest)
		}
		if !strings.HasPrefix(after, "'") {
			val, _, _ := strings.Cut(after, "\n")
			v[name] = val
			continue
		}
		val, tail, ok := strings.Cut(after[1:], "'")
		if !ok {
			return nil, fmt.Errorf("%w: unterminated value of %s", ErrInvalidSeed, name)
		}
		v[name] = val
		rest = tail
	}
}
