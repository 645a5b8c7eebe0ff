package firstboot_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/turingpi-oss/bmcd/flasher/firstboot"
	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
)

// TestApplyEachOS writes the seed into each OS-shaped image and checks the
// result with independent tools: fsck.fat -n, mtype, cloud-init schema.
func TestApplyEachOS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		layout  fbt.Layout
		family  firstboot.Family
		files   []string
		cmdline []string // tokens cmdline.txt must end with
		mtools  bool     // mtools cannot open the RK1's 4 MiB FAT32
	}{
		{"bookworm fat32 mbr", bookworm, firstboot.RaspiosBookworm, []string{"firstrun.sh", "cmdline.txt"},
			[]string{"cgroup_enable=memory", "systemd.run=/boot/firstrun.sh", "systemd.run_success_action=reboot", "systemd.unit=kernel-command-line.target"}, true},
		{"trixie fat32 mbr", trixie, firstboot.RaspiosTrixie, []string{"meta-data", "user-data", "cmdline.txt"},
			[]string{"cgroup_enable=memory", "ds=nocloud;i=ID"}, true},
		{"ubuntu fat32 mbr", ubuntu, firstboot.Ubuntu, []string{"meta-data", "user-data", "cmdline.txt"},
			[]string{"cgroup_enable=memory", "ds=nocloud;i=ID"}, true},
		{"rk1 4MiB fat32 gpt", rk1, firstboot.UbuntuRockchip, []string{"meta-data", "user-data"}, nil, false},
		{"hypriot fat16 mbr", hypriot, firstboot.HypriotOS, []string{"meta-data", "user-data", "cmdline.txt"},
			[]string{"cgroup_enable=memory"}, true},
		{"dietpi fat16 mbr", dietpi, firstboot.DietPi, []string{"Automation_Custom_Script.sh", "dietpi.txt", "cmdline.txt"},
			[]string{"cgroup_enable=memory"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img := fbt.Build(t, tc.layout)
			s := testSeed(t)
			res, err := applyFile(t, img, s)
			if err != nil {
				t.Fatal(err)
			}
			if res.Family != tc.family || strings.Join(res.Files, " ") != strings.Join(tc.files, " ") {
				t.Fatalf("family %s files %v, want %s %v", res.Family, res.Files, tc.family, tc.files)
			}
			if res.Fingerprint != s.HostKey.Fingerprint() || !strings.HasPrefix(res.HostKeyLine, "ssh-ed25519 ") {
				t.Fatalf("host key %q %q", res.HostKeyLine, res.Fingerprint)
			}
			t.Logf("%s: wrote %v, %d bytes", res.FAT, res.Files, res.BytesWritten)
			tc.layout.Fsck(t, img)
			checkReadSeed(t, img, s)
			if !tc.mtools {
				return
			}
			got := map[string]string{}
			for _, f := range res.Files {
				got[f] = tc.layout.ReadFile(t, img, f)
			}
			if cl, ok := got["cmdline.txt"]; ok {
				want := strings.ReplaceAll(strings.Join(tc.cmdline, " "), "ID", s.InstanceID)
				if !strings.HasSuffix(cl, want+"\n") || strings.Count(cl, "\n") != 1 || strings.Contains(cl, "cgroup_memory=1") {
					t.Fatalf("cmdline.txt = %q, want it to end with %q", cl, want)
				}
			}
			key := s.AuthorizedKeys[0]
			if ud, ok := got["user-data"]; ok {
				if !strings.Contains(ud, key) || !strings.Contains(ud, "hostname: node2") || !strings.Contains(ud, "BEGIN OPENSSH PRIVATE KEY") {
					t.Fatalf("user-data lacks the key, hostname or host key:\n%s", ud)
				}
				cloudInitSchema(t, ud)
			}
			if md, ok := got["meta-data"]; ok && !strings.Contains(md, "instance-id: "+s.InstanceID+"\n") {
				t.Fatalf("meta-data = %q", md)
			}
			if sh, ok := got["firstrun.sh"]; ok && (!strings.Contains(sh, key) || !strings.Contains(sh, "BMCD_HOSTNAME='node2'")) {
				t.Fatalf("firstrun.sh lacks the key or hostname:\n%s", sh)
			}
			if txt, ok := got["dietpi.txt"]; ok {
				for _, want := range []string{"AUTO_SETUP_NET_HOSTNAME=node2\n", "AUTO_SETUP_AUTOMATED=1\n", "AUTO_SETUP_SSH_PUBKEY=" + key + "\n", "# DietPi settings\n"} {
					if !strings.Contains(txt, want) {
						t.Fatalf("dietpi.txt lacks %q:\n%s", want, txt)
					}
				}
			}
		})
	}
}

// cloudInitSchema validates user-data with cloud-init's own schema check.
func cloudInitSchema(t *testing.T, ud string) {
	t.Helper()
	ci := fbt.RequireTool(t, "cloud-init", "cloud-init")
	p := filepath.Join(t.TempDir(), "user-data")
	if err := os.WriteFile(p, []byte(ud), 0o600); err != nil {
		t.Fatal(err)
	}
	fbt.Run(t, "", ci, "schema", "--config-file", p)
}

// checkReadSeed reads the seed back as the (simulated) node would.
func checkReadSeed(t *testing.T, img string, s firstboot.Seed) {
	t.Helper()
	plan, got, err := firstboot.ReadSeedPath(img)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hostname != s.Hostname || got.HostKey.Fingerprint() != s.HostKey.Fingerprint() ||
		len(got.AuthorizedKeys) != 1 || got.AuthorizedKeys[0] != s.AuthorizedKeys[0] {
		t.Fatalf("ReadSeed (%s) = %+v", plan.Family, got)
	}
	wantUser := firstboot.DefaultUser
	if plan.Family == firstboot.DietPi {
		wantUser = "root"
	}
	if got.User != wantUser {
		t.Fatalf("user %q, want %q", got.User, wantUser)
	}
}

// TestApplyTwice: a re-flash's preparation replaces the previous one's
// cmdline entries instead of adding a second set.
func TestApplyTwice(t *testing.T) {
	t.Parallel()
	img := fbt.Build(t, trixie)
	first := testSeed(t)
	if _, err := applyFile(t, img, first); err != nil {
		t.Fatal(err)
	}
	second := testSeed(t)
	if _, err := applyFile(t, img, second); err != nil {
		t.Fatal(err)
	}
	trixie.Fsck(t, img)
	cl := trixie.ReadFile(t, img, "cmdline.txt")
	if strings.Count(cl, "ds=nocloud") != 1 || !strings.Contains(cl, "i="+second.InstanceID) || strings.Count(cl, "cgroup_enable=memory") != 1 {
		t.Fatalf("cmdline.txt = %q", cl)
	}
	if md := trixie.ReadFile(t, img, "meta-data"); !strings.Contains(md, second.InstanceID) {
		t.Fatalf("meta-data = %q", md)
	}
}

// TestNetworkConfigOnlyWhenAsked: the image's own network-config stays
// unless the seed carries one.
func TestNetworkConfigOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	const nc = "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n"
	for _, tc := range []struct {
		name, config, want string
	}{
		{"not asked", "", ubuntu.Files["network-config"]},
		{"asked", nc, nc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img := fbt.Build(t, ubuntu)
			s := testSeed(t)
			s.NetworkConfig = tc.config
			if _, err := applyFile(t, img, s); err != nil {
				t.Fatal(err)
			}
			if got := ubuntu.ReadFile(t, img, "network-config"); got != tc.want {
				t.Fatalf("network-config = %q, want %q", got, tc.want)
			}
		})
	}
}
