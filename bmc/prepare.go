package bmc

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/turingpi-oss/bmcd/flasher/firstboot"
)

// PrepareDefaults are the board-wide first-boot settings (bmcd's config,
// section prepare). They fill what a flash that asks for preparation
// leaves empty.
type PrepareDefaults struct {
	// AuthorizedKeys are OpenSSH public-key lines.
	AuthorizedKeys []string
	// User is the login account; empty: firstboot.DefaultUser.
	User string
	// Hostname is a pattern such as "node{slot}".
	Hostname string
	// K3sPrep turns on the k3s preparation for every prepared flash.
	K3sPrep bool
	// Addresses are configured node addresses by slot, a fallback until
	// the node's console reports its own ("10.0.0.12" or "host:port").
	Addresses map[int]string
}

// Prepare asks a flash job to prepare the node for its first boot. A
// flash without one writes the image as it is.
type Prepare struct {
	Hostname string `json:"hostname,omitempty"`
	User     string `json:"user,omitempty"`
	// PasswordHash is a crypt(3) hash; it is never kept in the job history.
	PasswordHash   string   `json:"-"`
	AuthorizedKeys []string `json:"authorized_keys,omitempty"`
	K3sPrep        bool     `json:"k3s_prep,omitempty"`
}

// Prepared is what bmcd knows about the node a flash prepared: kept with
// the slot, cleared when the slot is flashed again.
type Prepared struct {
	Hostname string `json:"hostname"`
	User     string `json:"user"`
	// Family is the OS family the seed was written for (firstboot.Family).
	Family string `json:"family"`
	// HostKey is the node's public host key line ("ssh-ed25519 AAAA…").
	HostKey     string    `json:"host_key"`
	Fingerprint string    `json:"fingerprint"`
	Job         int64     `json:"job"`
	PreparedAt  time.Time `json:"prepared_at"`
	// Addrs are the node's addresses as its first-boot marker last
	// reported them, and AddrsSeen when.
	Addrs     []string  `json:"addrs,omitempty"`
	AddrsSeen time.Time `json:"addrs_seen,omitzero"`
	// Warning says when the node's console reported something that does
	// not match this record (another host key).
	Warning string `json:"warning,omitempty"`
}

// NodeAddress is where to reach a prepared node: the address its console
// reported, else the configured one, else its mDNS name.
func (b *Board) nodeAddress(slot int, p *Prepared) string {
	if len(p.Addrs) > 0 {
		return p.Addrs[0]
	}
	if a := b.cfg.Prepare.Addresses[slot]; a != "" {
		return a
	}
	return p.Hostname + ".local"
}

// checkPrepareDefaults checks the config's defaults once, at start: a bad
// key or pattern is a config error, not a surprise at the first flash.
func checkPrepareDefaults(d PrepareDefaults, slots int) error {
	probe := firstboot.Seed{Hostname: "probe", User: d.User, AuthorizedKeys: d.AuthorizedKeys}
	if len(probe.AuthorizedKeys) == 0 {
		// No keys in the defaults is fine; check the rest with any key.
		k, err := firstboot.GenerateHostKey(rand.Reader)
		if err != nil {
			return err
		}
		probe.AuthorizedKeys = []string{k.PublicLine()}
	}
	if d.Hostname != "" {
		probe.Hostname = hostnameFor(d.Hostname, 1)
	}
	if _, err := completeSeed(probe, nil); err != nil {
		return fmt.Errorf("bmc: prepare defaults: %w", err)
	}
	for slot := range d.Addresses {
		if slot < 1 || slot > slots {
			return fmt.Errorf("bmc: prepare defaults: address for slot %d: the board has slots 1-%d", slot, slots)
		}
	}
	return nil
}

// hostnameFor expands a hostname pattern for a slot.
func hostnameFor(pattern string, slot int) string {
	return strings.ReplaceAll(pattern, "{slot}", strconv.Itoa(slot))
}

// seedFor merges a flash's Prepare with the board's defaults, generates
// the node's host key and instance-id, and validates the result. Errors
// are ErrInvalid. It returns the Prepare as the job records it.
func (b *Board) seedFor(slot int, p Prepare) (firstboot.Seed, Prepare, error) {
	d := b.cfg.Prepare
	s := firstboot.Seed{
		Hostname:       p.Hostname,
		User:           p.User,
		PasswordHash:   p.PasswordHash,
		AuthorizedKeys: p.AuthorizedKeys,
		K3sPrep:        p.K3sPrep || d.K3sPrep,
	}
	if s.Hostname == "" && d.Hostname != "" {
		s.Hostname = hostnameFor(d.Hostname, slot)
	}
	if s.User == "" {
		s.User = d.User
	}
	if len(s.AuthorizedKeys) == 0 {
		s.AuthorizedKeys = d.AuthorizedKeys
	}
	if s.Hostname == "" {
		return firstboot.Seed{}, Prepare{}, invalidf("prepare slot %d: no hostname (give one, or a hostname pattern in the config)", slot)
	}
	if len(s.AuthorizedKeys) == 0 {
		return firstboot.Seed{}, Prepare{}, invalidf("prepare slot %d: no SSH public key (give one, or authorized_keys in the config)", slot)
	}
	// bmcd's own key goes to the node, not into the job's record.
	user := s.AuthorizedKeys
	s.AuthorizedKeys = b.withClusterKey(s.AuthorizedKeys)
	key, err := firstboot.GenerateHostKey(rand.Reader)
	if err != nil {
		return firstboot.Seed{}, Prepare{}, err
	}
	s, err = completeSeed(s, &key)
	if err != nil {
		return firstboot.Seed{}, Prepare{}, fmt.Errorf("prepare slot %d: %w", slot, err)
	}
	rec := Prepare{Hostname: s.Hostname, User: cmpUser(s.User), PasswordHash: s.PasswordHash, AuthorizedKeys: s.AuthorizedKeys[:min(len(user), len(s.AuthorizedKeys))], K3sPrep: s.K3sPrep}
	return s, rec, nil
}

// completeSeed adds a host key (a throwaway one when key is nil, to
// validate the rest) and an instance-id, and validates the seed; an
// invalid field is ErrInvalid with firstboot's words.
func completeSeed(s firstboot.Seed, key *firstboot.HostKey) (firstboot.Seed, error) {
	if key == nil {
		k, err := firstboot.GenerateHostKey(rand.Reader)
		if err != nil {
			return firstboot.Seed{}, err
		}
		key = &k
	}
	id, err := firstboot.NewInstanceID(rand.Reader)
	if err != nil {
		return firstboot.Seed{}, err
	}
	s.HostKey, s.InstanceID = *key, id
	v, err := s.Validate()
	if errors.Is(err, firstboot.ErrInvalidSeed) {
		return firstboot.Seed{}, invalidf("%v", err)
	}
	return v, err
}

func cmpUser(u string) string {
	if u == "" {
		return firstboot.DefaultUser
	}
	return u
}

// prepareDisk is the flash job's step prepare: it writes the seed to the
// disk's boot partition and records the prepared node for the slot.
func (b *Board) prepareDisk(slot int, jobID int64, disk string, s firstboot.Seed) error {
	res, err := firstboot.ApplyPath(disk, s)
	if err != nil {
		return err // names the disk and what it found
	}
	for _, n := range res.Notes {
		b.log.Warn("bmc: prepare: "+n, "slot", slot, "job", jobID)
	}
	user := cmpUser(s.User)
	if res.Family == firstboot.DietPi {
		user = "root" // DietPi's one account
	}
	rec := &Prepared{
		Hostname: s.Hostname, User: user, Family: string(res.Family),
		HostKey: res.HostKeyLine, Fingerprint: res.Fingerprint,
		Job: jobID, PreparedAt: b.clock.Now().UTC(),
	}
	return b.setPrepared(slot, rec)
}

// setPrepared replaces the slot's record of its prepared node (nil
// clears it), persists it and publishes the slot.
func (b *Board) setPrepared(slot int, p *Prepared) error {
	b.mu.Lock()
	same := p == nil && b.cfgs[slot-1].Prepared == nil
	b.mu.Unlock()
	if same {
		return nil
	}
	if err := b.updateConfig(slot, func(c *slotConfig) { c.Prepared = p }); err != nil {
		return err
	}
	b.publishSlot(slot)
	return nil
}

// publishSlot sends the slot's status as a slot event, without touching
// the hardware.
func (b *Board) publishSlot(slot int) {
	b.mu.Lock()
	st := b.statusLocked(slot)
	b.mu.Unlock()
	b.events.publish(Event{Time: b.clock.Now(), Type: EventSlot, Slot: st})
}

// clonePrepared copies a record for a status.
func clonePrepared(p *Prepared) *Prepared {
	if p == nil {
		return nil
	}
	c := *p
	c.Addrs = slices.Clone(p.Addrs)
	return &c
}
