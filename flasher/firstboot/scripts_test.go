package firstboot

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
)

// TestScriptsParse checks every shell script the seeds install with the
// shells that will run them (-n: parse only).
func TestScriptsParse(t *testing.T) {
	t.Parallel()
	s := parseTestSeed(t)
	fr, err := firstrunScript(s)
	if err != nil {
		t.Fatal(err)
	}
	root := s
	root.User = "root"
	dp, err := dietpiFiles(root, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, shell, script string }{
		{"firstrun.sh", "bash", fr},
		{"dietpi custom script", "bash", dp[dietpiScript]},
		{"marker", "sh", markerScript},
		{"scrub", "sh", scrubScript},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if out, err := exec.Command(tc.shell, "-n", "-c", tc.script).CombinedOutput(); err != nil {
				t.Fatalf("%s -n: %v\n%s", tc.shell, err, out)
			}
		})
	}
}

// TestScrubRemovesSecrets runs the scrub's sed on a rendered user-data:
// the private key and password hash go, the rest stays valid cloud-config.
func TestScrubRemovesSecrets(t *testing.T) {
	t.Parallel()
	s := parseTestSeed(t)
	ud, err := userData(s, false)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "user-data")
	if err := os.WriteFile(p, []byte(ud), 0o600); err != nil {
		t.Fatal(err)
	}
	fn, _, _ := strings.Cut(scrubScript, "done=\n")
	if out, err := exec.Command("sh", "-c", fn+`scrub "$1"`, "sh", p).CombinedOutput(); err != nil {
		t.Fatalf("scrub: %v\n%s", err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, secret := range []string{"PRIVATE KEY", s.PasswordHash, "ssh_keys"} {
		if strings.Contains(got, secret) {
			t.Fatalf("scrubbed user-data still holds %q:\n%s", secret, got)
		}
	}
	if !strings.Contains(got, "hostname: node3") || !strings.Contains(got, s.AuthorizedKeys[0]) {
		t.Fatalf("scrub removed too much:\n%s", got)
	}
	ci := fbt.RequireTool(t, "cloud-init", "cloud-init")
	fbt.Run(t, "", ci, "schema", "--config-file", p)
}
