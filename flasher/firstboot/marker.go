package firstboot

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// MarkerPrefix starts the line a prepared node prints on its serial console
// at every boot once its network is up. The whole line is
//
//	bmcd-firstboot v1 host=<hostname> key=<SHA256 fingerprint> addr=<ip>[,<ip>…]
//
// with the addresses `hostname -I` lists (global IPv4 and IPv6, possibly
// none: "addr="), and the fingerprint of the host key sshd actually holds,
// so a node that ignored the seeded key shows a different one. A node whose
// sshd listens on another port than 22 (the simulated board's nodes share
// the host's loopback) writes each address with its port, as
// "127.0.1.2:2202" or "[fd00::2]:2202".
const MarkerPrefix = "bmcd-firstboot v1 "

// Marker is a parsed first-boot marker line.
type Marker struct {
	Hostname    string
	Fingerprint string // "SHA256:" and 43 base64 characters
	Addrs       []netip.Addr
	// Port is the SSH port the addresses were written with; 0 means
	// none was written and sshd listens on 22.
	Port uint16
}

// SSHAddrs returns the addresses with the SSH port, 22 when the marker
// named none.
func (m Marker) SSHAddrs() []netip.AddrPort {
	port := m.Port
	if port == 0 {
		port = 22
	}
	out := make([]netip.AddrPort, len(m.Addrs))
	for i, a := range m.Addrs {
		out[i] = netip.AddrPortFrom(a, port)
	}
	return out
}

// String formats the marker as the node prints it.
func (m Marker) String() string {
	addrs := make([]string, len(m.Addrs))
	for i, a := range m.Addrs {
		if m.Port != 0 {
			addrs[i] = netip.AddrPortFrom(a, m.Port).String()
		} else {
			addrs[i] = a.String()
		}
	}
	return fmt.Sprintf("%shost=%s key=%s addr=%s", MarkerPrefix, m.Hostname, m.Fingerprint, strings.Join(addrs, ","))
}

var fingerprintRE = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}$`)

// maxMarkerAddrs bounds the address list a console line may claim.
const maxMarkerAddrs = 16

// ParseMarker finds a marker in one console line. Console noise before the
// prefix (a kernel timestamp, a half-written prompt) and a trailing CR are
// ignored. It returns ErrNotMarker when the line has no marker and
// ErrBadMarker when the marker is malformed.
func ParseMarker(line string) (Marker, error) {
	i := strings.Index(line, MarkerPrefix)
	if i < 0 {
		return Marker{}, ErrNotMarker
	}
	fields := strings.Fields(line[i+len(MarkerPrefix):])
	if len(fields) != 3 {
		return Marker{}, fmt.Errorf("%w: %d fields after %q, want host= key= addr=", ErrBadMarker, len(fields), MarkerPrefix)
	}
	var m Marker
	host, ok1 := strings.CutPrefix(fields[0], "host=")
	key, ok2 := strings.CutPrefix(fields[1], "key=")
	addrs, ok3 := strings.CutPrefix(fields[2], "addr=")
	if !ok1 || !ok2 || !ok3 {
		return Marker{}, fmt.Errorf("%w: fields out of order", ErrBadMarker)
	}
	if !hostnameRE.MatchString(host) {
		return Marker{}, fmt.Errorf("%w: hostname %q", ErrBadMarker, host)
	}
	if !fingerprintRE.MatchString(key) {
		return Marker{}, fmt.Errorf("%w: fingerprint %q", ErrBadMarker, key)
	}
	m.Hostname, m.Fingerprint = host, key
	if addrs == "" {
		return m, nil
	}
	parts := strings.Split(addrs, ",")
	if len(parts) > maxMarkerAddrs {
		return Marker{}, fmt.Errorf("%w: %d addresses", ErrBadMarker, len(parts))
	}
	for i, p := range parts {
		a, port, err := parseMarkerAddr(p)
		if err != nil {
			return Marker{}, fmt.Errorf("%w: address %q", ErrBadMarker, p)
		}
		// One sshd listens on all addresses: one port, given for all or none.
		if i > 0 && port != m.Port {
			return Marker{}, fmt.Errorf("%w: address %q has another port than %q", ErrBadMarker, p, parts[0])
		}
		m.Addrs, m.Port = append(m.Addrs, a), port
	}
	return m, nil
}

// parseMarkerAddr parses "ip" (port 0) or "ip:port" / "[ipv6]:port" with a
// port from 1 to 65535. A bare IPv6 address never parses as host:port, nor
// the reverse, so the two forms cannot be confused.
func parseMarkerAddr(s string) (netip.Addr, uint16, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, 0, errors.New("zoned address")
		}
		return a, 0, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}, 0, err
	}
	if ap.Addr().Zone() != "" || ap.Port() == 0 {
		return netip.Addr{}, 0, errors.New("zoned address or port 0")
	}
	return ap.Addr(), ap.Port(), nil
}
