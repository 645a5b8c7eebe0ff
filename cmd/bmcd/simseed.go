package main

import (
	"crypto/ed25519"
	"errors"
	"io/fs"
	"net/netip"

	"github.com/turingpi-oss/bmcd/flasher/firstboot"
	"github.com/turingpi-oss/bmcd/flasher/firstboot/ptable"
	"github.com/turingpi-oss/bmcd/hal/sim"
)

// readSimSeed gives a simulated node the seed a flash prepared on its eMMC
// file (sim.SeedReader). An eMMC never flashed, or holding an image
// without a seed, is not prepared; a seed that cannot be read is an error.
func readSimSeed(path string) (sim.NodeSeed, bool, error) {
	_, s, err := firstboot.ReadSeedPath(path)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, ptable.ErrNoTable), errors.Is(err, ptable.ErrNoPartition),
		errors.Is(err, firstboot.ErrNoFAT), errors.Is(err, firstboot.ErrUnknownOS):
		return sim.NodeSeed{}, false, nil
	case err != nil:
		return sim.NodeSeed{}, false, err
	}
	if len(s.HostKey.Private) != ed25519.PrivateKeySize {
		return sim.NodeSeed{}, false, errors.New(path + ": the seed holds no ed25519 host key")
	}
	user := s.User
	if user == "" {
		user = firstboot.DefaultUser
	}
	fp := s.HostKey.Fingerprint()
	return sim.NodeSeed{
		Hostname:       s.Hostname,
		User:           user,
		AuthorizedKeys: s.AuthorizedKeys,
		HostKey:        s.HostKey.Private,
		Marker: func(addr netip.AddrPort) string {
			m := firstboot.Marker{Hostname: s.Hostname, Fingerprint: fp, Addrs: []netip.Addr{addr.Addr()}}
			if addr.Port() != 22 {
				m.Port = addr.Port()
			}
			return m.String()
		},
	}, true, nil
}
