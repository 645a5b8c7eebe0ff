package firstboot

import (
	"crypto/rand"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
)

// TestMarkerScriptPrintsMarkerString runs the marker script the seeds
// install, with OpenSSH's ssh-keygen taking the fingerprint and a stand-in
// for hostname, and checks that it prints byte for byte the line
// Marker.String formats (which the simulated nodes print) for the same
// host, key and addresses. Only the console device is swapped for stdout.
func TestMarkerScriptPrintsMarkerString(t *testing.T) {
	t.Parallel()
	keygen := fbt.RequireTool(t, "ssh-keygen", "openssh-client")
	hk, err := GenerateHostKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pub := filepath.Join(dir, "ssh_host_ed25519_key.pub")
	if err := os.WriteFile(pub, []byte(hk.PublicLine()+" root@node2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	hostname := "#!/bin/sh\nif [ \"$1\" = -I ]; then echo '10.0.0.2 fd00::4 '; else echo node2; fi\n"
	if err := os.WriteFile(filepath.Join(bin, "hostname"), []byte(hostname), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(keygen, filepath.Join(bin, "ssh-keygen")); err != nil {
		t.Fatal(err)
	}
	script := markerScript
	for _, r := range [][2]string{
		{"/etc/ssh/ssh_host_ed25519_key.pub", pub},
		{`[ -c "$tty" ]`, "true"},
		{`>"$tty"`, ""},
	} {
		if !strings.Contains(script, r[0]) {
			t.Fatalf("marker script no longer contains %q", r[0])
		}
		script = strings.ReplaceAll(script, r[0], r[1])
	}
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("marker script: %v", err)
	}
	want := Marker{Hostname: "node2", Fingerprint: hk.Fingerprint(),
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fd00::4")}}.String() + "\r\n"
	if string(out) != want {
		t.Fatalf("marker script printed %q\nMarker.String is     %q", out, want)
	}
}
