package firstboot_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/turingpi-oss/bmcd/flasher/firstboot"
	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
)

const piCmdline = "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n"

// Boot partitions shaped like each OS's, with the files that identify it.
var (
	bookworm = fbt.Layout{DiskMiB: 80, StartMiB: 4, SizeMiB: 64, FATBits: 32, Cluster: 1, Label: "bootfs", Files: map[string]string{
		"config.txt": "arm_64bit=1\n", "cmdline.txt": piCmdline, "issue.txt": "Raspberry Pi reference 2025-05-13\n"}}
	trixie = fbt.Layout{DiskMiB: 80, StartMiB: 4, SizeMiB: 64, FATBits: 32, Cluster: 1, Label: "bootfs", Files: map[string]string{
		"config.txt": "arm_64bit=1\n", "cmdline.txt": "console=serial0,115200 root=PARTUUID=1-02 rootwait resize\n", "issue.txt": "Raspberry Pi reference 2025-10-01\n",
		"user-data": "#cloud-config\n# template\n", "meta-data": "instance-id: rpios-image\n", "network-config": "network:\n  version: 2\n"}}
	ubuntu = fbt.Layout{DiskMiB: 80, StartMiB: 1, SizeMiB: 64, FATBits: 32, Cluster: 1, Label: "system-boot", Files: map[string]string{
		"config.txt": "[all]\n", "cmdline.txt": "console=serial0,115200 root=LABEL=writable rootwait fixrtc\n",
		"user-data": "#cloud-config\n", "meta-data": "instance-id: ubuntu\n", "network-config": "version: 2\n", "vmlinuz": "kernel\n"}}
	rk1     = fbt.Layout{GPT: true, DiskMiB: 24, StartMiB: 16, SizeMiB: 4, FATBits: 32, Cluster: 1, Label: "CIDATA", PartName: "cidata"}
	hypriot = fbt.Layout{DiskMiB: 40, StartMiB: 1, SizeMiB: 32, FATBits: 16, Label: "HypriotOS", Files: map[string]string{
		"config.txt": "hdmi_force_hotplug=1\n", "cmdline.txt": "dwc_otg.lpm_enable=0 console=serial0,115200 root=/dev/mmcblk0p2 rootwait\n",
		"user-data": "#cloud-config\nhostname: black-pearl\n", "meta-data": "\n"}}
	dietpi = fbt.Layout{DiskMiB: 40, StartMiB: 4, SizeMiB: 32, FATBits: 16, Label: "DIETPI", Files: map[string]string{
		"config.txt": "enable_uart=1\n", "cmdline.txt": "root=PARTUUID=1-02 rootfstype=ext4 rootwait net.ifnames=0 console=serial0,115200\n",
		"dietpi.txt": "# DietPi settings\nAUTO_SETUP_NET_HOSTNAME=DietPi\nAUTO_SETUP_AUTOMATED=0\n#AUTO_SETUP_SSH_PUBKEY=ssh-ed25519 AAAA\nAUTO_SETUP_SSH_SERVER_INDEX=-1\n"}}
)

func testKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := authorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k + " alice@laptop"
}

func testSeed(t *testing.T) firstboot.Seed {
	t.Helper()
	hk, err := firstboot.GenerateHostKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := firstboot.NewInstanceID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return firstboot.Seed{Hostname: "node2", AuthorizedKeys: []string{testKey(t)}, HostKey: hk, InstanceID: id, K3sPrep: true}
}

// applyFile runs Apply on an image file, by its path.
func applyFile(t *testing.T, img string, s firstboot.Seed) (firstboot.Result, error) {
	t.Helper()
	return firstboot.ApplyPath(img, s)
}
