package firstboot

import (
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
// so a node that ignored the seeded key shows a different one.
const MarkerPrefix = "bmcd-firstboot v1 "

// Marker is a parsed first-boot marker line.
type Marker struct {
	Hostname    string
	Fingerprint string // "SHA256:" and 43 base64 characters
	Addrs       []netip.Addr
}

// String formats the marker as the node prints it.
func (m Marker) String() string {
	addrs := make([]string, len(m.Addrs))
	for i, a := range m.Addrs {
		addrs[i] = a.String()
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
	for _, p := range parts {
		a, err := netip.ParseAddr(p)
		if err != nil || a.Zone() != "" {
			return Marker{}, fmt.Errorf("%w: address %q", ErrBadMarker, p)
		}
		m.Addrs = append(m.Addrs, a)
	}
	return m, nil
}
