package firstboot_test

import (
	"testing"

	"github.com/turingpi-oss/bmcd/flasher/firstboot"
	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
)

// TestApplyBlockDevice prepares an image through a loop block device, as
// bmcd does through the node's eMMC: the size comes from the device.
func TestApplyBlockDevice(t *testing.T) {
	t.Parallel()
	img := fbt.Build(t, trixie)
	dev := fbt.Loop(t, img)
	s := testSeed(t)
	res, err := firstboot.ApplyPath(dev, s)
	if err != nil {
		t.Fatal(err)
	}
	if res.Family != firstboot.RaspiosTrixie || res.BytesWritten == 0 {
		t.Fatalf("result %+v", res)
	}
	_, got, err := firstboot.ReadSeedPath(dev)
	if err != nil || got.InstanceID != s.InstanceID {
		t.Fatalf("ReadSeedPath = %+v, %v", got, err)
	}
	trixie.Fsck(t, img)
}
