package firstboot_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/turingpi-oss/bmcd/flasher/firstboot"
)

func TestParseMarker(t *testing.T) {
	t.Parallel()
	hk, err := firstboot.GenerateHostKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fp := hk.Fingerprint()
	for _, tc := range []struct {
		name  string
		line  string
		want  error
		addrs int
		port  uint16
	}{
		{"two addresses", "bmcd-firstboot v1 host=node2 key=" + fp + " addr=192.168.1.23,2001:db8::5\r", nil, 2, 0},
		{"console noise before", "[   12.3] bmcd-firstboot v1 host=node2 key=" + fp + " addr=10.0.0.2", nil, 1, 0},
		{"no address yet", "bmcd-firstboot v1 host=node2 key=" + fp + " addr=", nil, 0, 0},
		{"login prompt", "node2 login: ", firstboot.ErrNotMarker, 0, 0},
		{"bad hostname", "bmcd-firstboot v1 host=Node_2 key=" + fp + " addr=", firstboot.ErrBadMarker, 0, 0},
		{"bad fingerprint", "bmcd-firstboot v1 host=node2 key=MD5:aa addr=", firstboot.ErrBadMarker, 0, 0},
		{"bad address", "bmcd-firstboot v1 host=node2 key=" + fp + " addr=10.0.0.300", firstboot.ErrBadMarker, 0, 0},
		{"zoned address", "bmcd-firstboot v1 host=node2 key=" + fp + " addr=fe80::1%eth0", firstboot.ErrBadMarker, 0, 0},
		{"address with port", "bmcd-firstboot v1 host=node2 key=" + fp + " addr=127.0.1.2:2202", nil, 1, 2202},
		{"addresses with port", "bmcd-firstboot v1 host=node2 key=" + fp + " addr=127.0.1.2:2202,[fd00::2]:2202", nil, 2, 2202},
		{"ports differ", "bmcd-firstboot v1 host=node2 key=" + fp + " addr=127.0.1.2:2202,[fd00::2]:2203", firstboot.ErrBadMarker, 0, 0},
		{"port on one address only", "bmcd-firstboot v1 host=node2 key=" + fp + " addr=127.0.1.2,[fd00::2]:2202", firstboot.ErrBadMarker, 0, 0},
		{"port zero", "bmcd-firstboot v1 host=node2 key=" + fp + " addr=127.0.1.2:0", firstboot.ErrBadMarker, 0, 0},
		{"port too big", "bmcd-firstboot v1 host=node2 key=" + fp + " addr=127.0.1.2:65536", firstboot.ErrBadMarker, 0, 0},
		{"zoned address with port", "bmcd-firstboot v1 host=node2 key=" + fp + " addr=[fe80::1%eth0]:22", firstboot.ErrBadMarker, 0, 0},
		{"fields swapped", "bmcd-firstboot v1 key=" + fp + " host=node2 addr=", firstboot.ErrBadMarker, 0, 0},
		{"extra field", "bmcd-firstboot v1 host=node2 key=" + fp + " addr= x", firstboot.ErrBadMarker, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := firstboot.ParseMarker(tc.line)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && (m.Hostname != "node2" || m.Fingerprint != fp || len(m.Addrs) != tc.addrs || m.Port != tc.port) {
				t.Fatalf("got %+v", m)
			}
		})
	}
}

func TestMarkerRoundTrip(t *testing.T) {
	t.Parallel()
	m := firstboot.Marker{Hostname: "node4", Fingerprint: "SHA256:" + "A123456789B123456789C123456789D123456789E12",
		Addrs: []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("fd00::4")}}
	for _, port := range []uint16{0, 22, 2202} {
		m.Port = port
		got, err := firstboot.ParseMarker(m.String())
		if err != nil || got.String() != m.String() || got.Port != port {
			t.Fatalf("ParseMarker(%q) = %+v, %v", m.String(), got, err)
		}
	}
}

func TestMarkerSSHAddrs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		port uint16
		want string
	}{
		{"no port is 22", 0, "[10.1.2.3:22 [fd00::4]:22]"},
		{"port given", 2202, "[10.1.2.3:2202 [fd00::4]:2202]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := firstboot.Marker{Addrs: []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("fd00::4")}, Port: tc.port}
			if got := fmt.Sprint(m.SSHAddrs()); got != tc.want {
				t.Fatalf("SSHAddrs = %s, want %s", got, tc.want)
			}
		})
	}
}

// FuzzParseMarker: any console line either parses into a marker that
// formats back to a line parsing the same, or is refused.
func FuzzParseMarker(f *testing.F) {
	f.Add("bmcd-firstboot v1 host=node2 key=SHA256:A123456789B123456789C123456789D123456789E12 addr=192.168.1.23,2001:db8::5\r")
	f.Add("bmcd-firstboot v1 host=a key=SHA256:A123456789B123456789C123456789D123456789E12 addr=")
	f.Add("node2 login:")
	f.Add("bmcd-firstboot v1 host=node2 key=SHA256:A123456789B123456789C123456789D123456789E12 addr=127.0.1.2:2202,[fd00::2]:2202")
	f.Add("bmcd-firstboot v1 host=node2 key=SHA256:A123456789B123456789C123456789D123456789E12 addr=[::ffff:1.2.3.4]:022")
	f.Fuzz(func(t *testing.T, line string) {
		m, err := firstboot.ParseMarker(line)
		if err != nil {
			if !errors.Is(err, firstboot.ErrNotMarker) && !errors.Is(err, firstboot.ErrBadMarker) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		again, err := firstboot.ParseMarker(m.String())
		if err != nil || again.String() != m.String() {
			t.Fatalf("round trip of %q: %+v, %v", m.String(), again, err)
		}
	})
}
