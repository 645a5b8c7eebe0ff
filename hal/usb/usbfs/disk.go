package usbfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
)

// DefaultDiskTimeout bounds FindDisk when its context has no deadline.
const DefaultDiskTimeout = 30 * time.Second

// ErrNoDisk is returned by FindDisk when no block device, or no single
// one, belongs to the USB device.
var ErrNoDisk = errors.New("usbfs: no disk")

// findInterval is how often FindDisk looks at sysfs.
const findInterval = 100 * time.Millisecond

// emmcVendor says whether a SCSI vendor string is that of the compute
// module's eMMC as Raspberry Pi's mass-storage gadget exports it
// ("mmcblk0"), or as the legacy usbboot msd firmware does ("RPi-MSD-").
func emmcVendor(v string) bool { return v == "mmcblk0" || v == "RPi-MSD-" }

// disk is a block device seen under a USB device.
type disk struct {
	name, vendor, model string
	sectors             int64
	node                bool // <devRoot>/name exists
}

func (d disk) String() string {
	return fmt.Sprintf("%s (vendor %q, model %q, %d sectors)", d.name, d.vendor, d.model, d.sectors)
}

func (d disk) ready() bool { return d.sectors > 0 && d.node }

// FindDisk returns the path of the block device that belongs to
// the USB device at physical port path port (e.g. "1-1.2"), as
// <devRoot>/sdX. It finds it through sysfs (sysRoot is normally "/sys",
// devRoot "/dev"): <sysRoot>/block/sdX links to a directory below the
// USB device's, whose name is the port and which holds idVendor. It
// polls until such a disk exists, has a size above zero and a node in
// devRoot, up to ctx's deadline, or DefaultDiskTimeout if ctx has none;
// clock (the real one if nil) times the polls.
//
// A USB device may export several disks (the mass-storage gadget exports
// eMMC and NVMe as LUNs): the one whose SCSI vendor is "mmcblk0" or
// "RPi-MSD-" is preferred. Without such a one, a single disk is
// returned once two polls in a row agree, so that LUNs still appearing
// are not missed; several are an error. Failures wrap ErrNoDisk.
func FindDisk(ctx context.Context, clock clockwork.Clock, sysRoot, devRoot, port string) (string, error) {
	if port == "" || strings.ContainsAny(port, `/\`) {
		return "", fmt.Errorf("find disk: %w: bad USB port %q", ErrNoDisk, port)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultDiskTimeout)
		defer cancel()
	}
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	var prev []string
	for {
		disks, err := scanDisks(sysRoot, devRoot, port)
		if err != nil {
			return "", fmt.Errorf("find disk on USB port %s: %w", port, err)
		}
		var ready, preferred []disk
		for _, d := range disks {
			if !d.ready() {
				continue
			}
			ready = append(ready, d)
			if emmcVendor(d.vendor) {
				preferred = append(preferred, d)
			}
		}
		names := make([]string, len(ready))
		for i, d := range ready {
			names[i] = d.name
		}
		stable := slices.Equal(names, prev)
		prev = names
		switch {
		case len(preferred) == 1:
			return filepath.Join(devRoot, preferred[0].name), nil
		case len(preferred) > 1 && stable:
			return "", fmt.Errorf("find disk on USB port %s: %w: several eMMC disks: %s", port, ErrNoDisk, list(preferred))
		case len(preferred) == 0 && len(ready) == 1 && stable:
			return filepath.Join(devRoot, ready[0].name), nil
		case len(preferred) == 0 && len(ready) > 1 && stable:
			return "", fmt.Errorf("find disk on USB port %s: %w: several disks and none is the eMMC: %s", port, ErrNoDisk, list(ready))
		}
		select {
		case <-ctx.Done():
			seen := "no block device"
			if len(disks) > 0 {
				seen = "not ready: " + list(disks)
			}
			return "", fmt.Errorf("find disk on USB port %s: %w (%s): %w", port, ErrNoDisk, seen, context.Cause(ctx))
		case <-clock.After(findInterval):
		}
	}
}

func list(ds []disk) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.String()
		if !d.node {
			s[i] += " without a device node"
		}
	}
	return strings.Join(s, ", ")
}

// scanDisks lists the block devices below the USB device at port.
func scanDisks(sysRoot, devRoot, port string) ([]disk, error) {
	blockDir := filepath.Join(sysRoot, "block")
	entries, err := os.ReadDir(blockDir)
	if err != nil {
		return nil, err
	}
	root, err := filepath.EvalSymlinks(sysRoot)
	if err != nil {
		return nil, err
	}
	var disks []disk
	for _, e := range entries {
		name := e.Name()
		real, err := filepath.EvalSymlinks(filepath.Join(blockDir, name))
		if err != nil {
			continue // vanished meanwhile
		}
		if !underPort(root, real, port) {
			continue
		}
		d := disk{name: name}
		dir := filepath.Join(blockDir, name)
		d.vendor = readAttr(filepath.Join(dir, "device", "vendor"))
		d.model = readAttr(filepath.Join(dir, "device", "model"))
		if n, err := strconv.ParseInt(readAttr(filepath.Join(dir, "size")), 10, 64); err == nil {
			d.sectors = n
		}
		if _, err := os.Stat(filepath.Join(devRoot, name)); err == nil {
			d.node = true
		}
		disks = append(disks, d)
	}
	slices.SortFunc(disks, func(a, b disk) int { return strings.Compare(a.name, b.name) })
	return disks, nil
}

// underPort says whether the sysfs path real, below root, lies below the
// USB device directory named port.
func underPort(root, real, port string) bool {
	rel, err := filepath.Rel(root, real)
	if err != nil || strings.HasPrefix(rel, "..") {
		return false
	}
	parts := strings.Split(rel, string(filepath.Separator))
	for i, p := range parts[:len(parts)-1] {
		if p != port {
			continue
		}
		dev := filepath.Join(append([]string{root}, parts[:i+1]...)...)
		if _, err := os.Stat(filepath.Join(dev, "idVendor")); err == nil {
			return true
		}
	}
	return false
}

// readAttr reads a sysfs attribute, trimmed; "" if it cannot.
func readAttr(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
