package usbsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Disk is a module's eMMC.
type Disk struct {
	// Path is a regular file holding the eMMC's bytes. It is created if
	// missing; the simulator never deletes it.
	Path string
	// Size is the eMMC's size in bytes; the file is extended to it if
	// shorter. Zero takes the file's size.
	Size int64
}

// sectorSize is the unit of the block device's size attribute.
const sectorSize = 512

// SCSI inquiry strings of the mass-storage stages (reference §5.1, §5.3):
// the legacy msd firmware answers vendor "RPi-MSD-", model "0001"; the
// gadget sets its inquiry string to the block device's name, so the
// vendor field reads "mmcblk0" for the eMMC (unverified on hardware).
const (
	msdVendor = "RPi-MSD-"
	msdModel  = "0001"
	msgVendor = "mmcblk0"
	msgModel  = ""
)

// diskTree is what makeTree wrote, to remove it.
type diskTree struct {
	name   string   // "sda"
	usbDir string   // the USB device's directory
	links  []string // symlinks outside usbDir
}

// usbDevicePath is the sysfs path, relative to sys/, of the USB device at
// port, nested under its hubs: "2-1.3.1" is
// devices/platform/soc/usb2/2-1/2-1.3/2-1.3.1.
func usbDevicePath(port string) string {
	bus, chain, _ := strings.Cut(port, "-")
	p := []string{"devices", "platform", "soc", "usb" + bus}
	hops := strings.Split(chain, ".")
	for i := range hops {
		p = append(p, bus+"-"+strings.Join(hops[:i+1], "."))
	}
	return filepath.Join(p...)
}

// diskName is the kernel's name of the index-th SCSI disk: sda … sdz,
// sdaa … (sd_format_disk_name in drivers/scsi/sd.c counts this way).
func diskName(index int) string {
	var s []byte
	for {
		s = append([]byte{byte('a' + index%26)}, s...)
		index = index/26 - 1
		if index < 0 {
			return "sd" + string(s)
		}
	}
}

// freeDiskName is the lowest sdX no module uses; bus.mu is held.
func (b *Bus) freeDiskName() (string, int) {
	used := map[string]bool{}
	for _, m := range b.modules {
		if m.tree != nil {
			used[m.tree.name] = true
		}
	}
	for i := 0; ; i++ {
		if n := diskName(i); !used[n] {
			return n, i
		}
	}
}

// makeTree writes the sysfs and /dev entries of module m, which has just
// enumerated as mass storage; bus.mu is held.
func (b *Bus) makeTree(m *Module) error {
	if b.root == "" {
		return nil
	}
	size, err := prepareDisk(m.disk)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(m.disk.Path)
	if err != nil {
		return fmt.Errorf("usbsim: disk %s: %w", m.disk.Path, err)
	}
	name, index := b.freeDiskName()
	host := b.hosts
	b.hosts++

	sys := filepath.Join(b.root, "sys")
	rel := usbDevicePath(m.port)
	t := &diskTree{name: name, usbDir: filepath.Join(sys, rel)}
	w := treeWriter{}
	id := m.id
	w.file(t.usbDir, "idVendor", fmt.Sprintf("%04x\n", vendorBroadcom))
	w.file(t.usbDir, "idProduct", fmt.Sprintf("%04x\n", id.product))
	w.file(t.usbDir, "busnum", fmt.Sprintf("%d\n", m.busNum))
	w.file(t.usbDir, "devnum", fmt.Sprintf("%d\n", m.addr))
	w.file(t.usbDir, "bNumInterfaces", fmt.Sprintf("%2d\n", id.numInterfaces))
	w.file(t.usbDir, "speed", "480\n")
	w.file(t.usbDir, "descriptors", string(descriptors(id)))
	if id.serialIndex != 0 {
		// The kernel creates serial only for a device with a serial string.
		w.file(t.usbDir, "serial", id.serial+"\n")
	}
	vendor, model := msdVendor, msdModel
	if id.product == productMSG {
		vendor, model = msgVendor, msgModel
		w.file(t.usbDir, "manufacturer", "Raspberry Pi\n")
		w.file(t.usbDir, "product", "Raspberry Pi multi-function USB device\n")
	}

	iface := m.port + ":1.0"
	scsi := filepath.Join(fmt.Sprintf("host%d", host), fmt.Sprintf("target%d:0:0", host), fmt.Sprintf("%d:0:0:0", host))
	scsiDir := filepath.Join(t.usbDir, iface, scsi)
	w.file(filepath.Join(t.usbDir, iface), "bInterfaceClass", "08\n")
	// SCSI inquiry fields, space-padded to their widths (8, 16, 4).
	w.file(scsiDir, "vendor", fmt.Sprintf("%-8s\n", vendor))
	w.file(scsiDir, "model", fmt.Sprintf("%-16s\n", model))
	w.file(scsiDir, "rev", fmt.Sprintf("%-4s\n", ""))
	blockDir := filepath.Join(scsiDir, "block", name)
	w.file(blockDir, "size", fmt.Sprintf("%d\n", size/sectorSize))
	w.file(blockDir, "dev", fmt.Sprintf("8:%d\n", 16*index))
	w.link(filepath.Join(blockDir, "device"), filepath.Join("..", "..", "..", filepath.Base(scsi)))

	usbLink := filepath.Join(sys, "bus", "usb", "devices", m.port)
	w.link(usbLink, filepath.Join("..", "..", "..", rel))
	blockLink := filepath.Join(sys, "block", name)
	w.link(blockLink, filepath.Join("..", rel, iface, scsi, "block", name))
	devLink := filepath.Join(b.root, "dev", name)
	w.link(devLink, abs)
	t.links = []string{usbLink, blockLink, devLink}
	m.tree = t
	if w.err != nil {
		b.removeTree(m)
		return fmt.Errorf("usbsim: %s: sysfs tree: %w", m.port, w.err)
	}
	b.log.Debug("usbsim: disk appeared", "port", m.port, "block", name, "sectors", size/sectorSize)
	return nil
}

// removeTree removes what makeTree wrote for m; bus.mu is held.
func (b *Bus) removeTree(m *Module) {
	t := m.tree
	if t == nil {
		return
	}
	m.tree = nil
	var errs []error
	for _, l := range t.links {
		if err := os.Remove(l); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(t.usbDir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		b.log.Warn("usbsim: cannot remove the disk's sysfs tree", "port", m.port, "err", err)
	}
}

// prepareDisk creates or extends the disk file and returns its size.
func prepareDisk(d Disk) (int64, error) {
	if d.Path == "" {
		return 0, errors.New("usbsim: disk has no path")
	}
	if d.Size == 0 {
		st, err := os.Stat(d.Path)
		if err != nil {
			return 0, fmt.Errorf("usbsim: disk: %w", err)
		}
		return st.Size(), nil
	}
	f, err := os.OpenFile(d.Path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, fmt.Errorf("usbsim: disk: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("usbsim: disk: %w", err)
	}
	if st.Size() < d.Size {
		if err := f.Truncate(d.Size); err != nil {
			return 0, fmt.Errorf("usbsim: disk: %w", err)
		}
	}
	return d.Size, nil
}

// descriptors is the sysfs "descriptors" attribute: the device
// descriptor (USB 2.0 §9.6.1) and the configuration descriptor's header
// (§9.6.3), enough for a reader of iSerialNumber (byte 16).
func descriptors(id *identity) []byte {
	d := []byte{18, 1, 0x00, 0x02, 0, 0, 0, 64}
	d = binary.LittleEndian.AppendUint16(d, vendorBroadcom)
	d = binary.LittleEndian.AppendUint16(d, id.product)
	d = binary.LittleEndian.AppendUint16(d, 0x0100)
	d = append(d, 1, 2, id.serialIndex, 1)
	return append(d, 9, 2, 9, 0, byte(id.numInterfaces), 1, 0, 0x80, 250)
}

// treeWriter writes files and symlinks, creating directories, and keeps
// the first error.
type treeWriter struct{ err error }

func (w *treeWriter) file(dir, name, content string) {
	if w.err != nil {
		return
	}
	if w.err = os.MkdirAll(dir, 0o755); w.err != nil {
		return
	}
	w.err = os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
}

func (w *treeWriter) link(path, target string) {
	if w.err != nil {
		return
	}
	if w.err = os.MkdirAll(filepath.Dir(path), 0o755); w.err != nil {
		return
	}
	w.err = os.Symlink(target, path)
}
