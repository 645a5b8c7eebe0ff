package usbfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeDisk is a block device in a fake sysfs tree.
type fakeDisk struct {
	name    string
	port    string // USB port path of the device it hangs under
	lun     int
	vendor  string
	model   string
	sectors int64
	noNode  bool
}

// fakeSys builds the kernel's layout under a temporary root:
// <sys>/block/sdX → <sys>/devices/platform/soc/usb1/1-1/<port>/<port>:1.0/host0/target0:0:0/0:0:0:<lun>/block/sdX.
func fakeSys(t *testing.T, disks ...fakeDisk) (sysRoot, devRoot string) {
	t.Helper()
	root := t.TempDir()
	sysRoot, devRoot = filepath.Join(root, "sys"), filepath.Join(root, "dev")
	require.NoError(t, os.MkdirAll(filepath.Join(sysRoot, "block"), 0o755))
	require.NoError(t, os.MkdirAll(devRoot, 0o755))
	for _, d := range disks {
		addFakeDisk(t, sysRoot, devRoot, d)
	}
	return sysRoot, devRoot
}

func addFakeDisk(t *testing.T, sysRoot, devRoot string, d fakeDisk) {
	t.Helper()
	hub := filepath.Join(sysRoot, "devices/platform/soc/usb1/1-1")
	usb := filepath.Join(hub, d.port)
	for dir, id := range map[string]string{hub: "05e3", usb: "0a5c"} {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "idVendor"), []byte(id+"\n"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(usb, "idProduct"), []byte("0001\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(usb, "serial"), []byte("c0ffee\n"), 0o644))
	scsi := filepath.Join(usb, d.port+":1.0", "host0", "target0:0:0", fmt.Sprintf("0:0:0:%d", d.lun))
	blk := filepath.Join(scsi, "block", d.name)
	require.NoError(t, os.MkdirAll(blk, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(scsi, "vendor"), []byte(fmt.Sprintf("%-8s\n", d.vendor)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(scsi, "model"), []byte(fmt.Sprintf("%-16s\n", d.model)), 0o644))
	require.NoError(t, os.Symlink("../..", filepath.Join(blk, "device")))
	require.NoError(t, os.WriteFile(filepath.Join(blk, "size"), []byte(fmt.Sprintf("%d\n", d.sectors)), 0o644))
	rel, err := filepath.Rel(filepath.Join(sysRoot, "block"), blk)
	require.NoError(t, err)
	require.NoError(t, os.Symlink(rel, filepath.Join(sysRoot, "block", d.name)))
	if !d.noNode {
		require.NoError(t, os.WriteFile(filepath.Join(devRoot, d.name), nil, 0o644))
	}
}

// findStepping runs FindDisk on a fake clock. Each time FindDisk waits
// for its next poll, the next of between (if any) changes the tree, then
// the clock moves on to that poll; at the poll numbered maxPolls, ctx is
// cancelled instead. It returns what FindDisk returned and how many times
// FindDisk looked. It waits on the clock's sleepers, never on time.
func findStepping(t *testing.T, sys, dev, port string, maxPolls int, between ...func()) (string, int, error) {
	t.Helper()
	clock := clockwork.NewFakeClock()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	waiting, returned := context.WithCancel(t.Context())
	var got string
	var err error
	go func() {
		defer returned()
		got, err = FindDisk(ctx, clock, sys, dev, port)
	}()
	polls := 1
	for ; clock.BlockUntilContext(waiting, 1) == nil; polls++ {
		if polls == maxPolls {
			cancel()
			break
		}
		if polls <= len(between) {
			between[polls-1]()
		}
		clock.Advance(findInterval)
	}
	<-waiting.Done()
	return got, polls, err
}

func TestFindDisk(t *testing.T) {
	t.Parallel()
	const gib = 1 << 21 // sectors
	tests := []struct {
		name  string
		disks []fakeDisk
		port  string
		want  string // disk name, or "" for an error
		err   string
	}{
		{"one disk", []fakeDisk{{name: "sda", port: "1-1.2", vendor: "mmcblk0", model: "Raspberry Pi", sectors: 32 * gib}}, "1-1.2", "sda", ""},
		{"legacy msd", []fakeDisk{{name: "sdb", port: "1-1.3", vendor: "RPi-MSD-", model: "0001", sectors: 8 * gib}}, "1-1.3", "sdb", ""},
		{"other vendor, alone", []fakeDisk{{name: "sda", port: "1-1.2", vendor: "Rockchip", model: "USB-MSC", sectors: 32 * gib}}, "1-1.2", "sda", ""},
		{"emmc among LUNs", []fakeDisk{
			{name: "sda", port: "1-1.2", lun: 0, vendor: "nvme0n1", sectors: 500 * gib},
			{name: "sdb", port: "1-1.2", lun: 1, vendor: "mmcblk0", sectors: 32 * gib},
		}, "1-1.2", "sdb", ""},
		{"other ports ignored", []fakeDisk{
			{name: "sda", port: "1-1.1", vendor: "mmcblk0", sectors: 32 * gib},
			{name: "sdb", port: "1-1.2", vendor: "mmcblk0", sectors: 16 * gib},
			{name: "sdc", port: "1-1.2.1", vendor: "mmcblk0", sectors: 16 * gib},
		}, "1-1.2", "sdb", ""},
		{"ambiguous", []fakeDisk{
			{name: "sda", port: "1-1.2", lun: 0, vendor: "nvme0n1", sectors: 500 * gib},
			{name: "sdb", port: "1-1.2", lun: 1, vendor: "sdcard", sectors: 32 * gib},
		}, "1-1.2", "", "several disks and none is the eMMC: sda"},
		{"two emmc", []fakeDisk{
			{name: "sda", port: "1-1.2", lun: 0, vendor: "mmcblk0", sectors: 1},
			{name: "sdb", port: "1-1.2", lun: 1, vendor: "mmcblk0", sectors: 1},
		}, "1-1.2", "", "several eMMC disks"},
		{"nothing on the port", []fakeDisk{{name: "sda", port: "1-1.1", vendor: "mmcblk0", sectors: 1}}, "1-1.2", "", "no block device"},
		{"size zero", []fakeDisk{{name: "sda", port: "1-1.2", vendor: "mmcblk0", sectors: 0}}, "1-1.2", "", "not ready: sda"},
		{"no node", []fakeDisk{{name: "sda", port: "1-1.2", vendor: "mmcblk0", sectors: 5, noNode: true}}, "1-1.2", "", "without a device node"},
		{"parent hub port", []fakeDisk{{name: "sda", port: "1-1.2", vendor: "mmcblk0", sectors: 5}}, "1-1", "sda", ""},
		{"bad port", nil, "../1-1", "", "bad USB port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sys, dev := fakeSys(t, tt.disks...)
			got, _, err := findStepping(t, sys, dev, tt.port, 5)
			if tt.err != "" {
				require.ErrorIs(t, err, ErrNoDisk)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, filepath.Join(dev, tt.want), got)
		})
	}
}

// TestFindDiskWaits: the disk appears, then gets its size, then its
// node, one poll apart; FindDisk returns it at the poll that sees it
// complete.
func TestFindDiskWaits(t *testing.T) {
	t.Parallel()
	sys, dev := fakeSys(t)
	d := fakeDisk{name: "sdc", port: "1-1.4", vendor: "mmcblk0", sectors: 0, noNode: true}
	got, polls, err := findStepping(t, sys, dev, "1-1.4", 10,
		func() { addFakeDisk(t, sys, dev, d) },
		func() {
			require.NoError(t, os.WriteFile(filepath.Join(sys, "block/sdc/size"), []byte("4096\n"), 0o644))
		},
		func() { require.NoError(t, os.WriteFile(filepath.Join(dev, "sdc"), nil, 0o644)) },
	)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dev, "sdc"), got)
	assert.Equal(t, 4, polls, "found at the first poll after the node appeared")
}

// TestFindDiskLateLUN: a non-eMMC LUN shows up first; the eMMC LUN
// appearing at the next poll must still win.
func TestFindDiskLateLUN(t *testing.T) {
	t.Parallel()
	sys, dev := fakeSys(t, fakeDisk{name: "sda", port: "1-1.2", vendor: "nvme0n1", sectors: 100})
	got, _, err := findStepping(t, sys, dev, "1-1.2", 10, func() {
		addFakeDisk(t, sys, dev, fakeDisk{name: "sdb", port: "1-1.2", lun: 1, vendor: "mmcblk0", sectors: 100})
	})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dev, "sdb"), got)
}

func TestFindDiskNoSysfs(t *testing.T) {
	t.Parallel()
	_, err := FindDisk(t.Context(), clockwork.NewFakeClock(), t.TempDir(), t.TempDir(), "1-1")
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "no such file"), err.Error())
}
