package firstboot

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/turingpi-oss/bmcd/flasher/firstboot/ptable"
)

// Family is an OS family this package knows how to seed.
type Family string

// The OS families, and the seed format each gets.
const (
	RaspiosBookworm Family = "raspios-bookworm" // firstrun.sh + systemd.run
	RaspiosTrixie   Family = "raspios-trixie"   // cloud-init NoCloud
	Ubuntu          Family = "ubuntu"           // cloud-init NoCloud (FAT labelled system-boot)
	UbuntuRockchip  Family = "ubuntu-rockchip"  // cloud-init NoCloud (RK1: 4 MiB FAT32 CIDATA on GPT)
	HypriotOS       Family = "hypriotos"        // user-data for its cloud-init
	DietPi          Family = "dietpi"           // dietpi.txt + Automation_Custom_Script.sh
)

// Plan is what Detect found: the boot partition and the OS family.
type Plan struct {
	Family    Family
	Scheme    ptable.Scheme
	Partition ptable.Partition
	FAT       string // "FAT16" or "FAT32"
	Label     string
	Files     []string // the root directory's names, lower-cased
}

// boot is an opened boot partition.
type boot struct {
	plan Plan
	ov   *overlay
	bpb  bpb
	fs   fatFS
	// names maps each lower-cased root name to its name on disk
	// (go-diskfs matches long names case-sensitively).
	names map[string]string
}

// Detect finds the boot partition of a disk of size bytes and decides its
// OS family, reading only. size may be 0 when unknown (see PrefixReader).
func Detect(r io.ReaderAt, size int64) (Plan, error) {
	b, err := openBoot(r, size)
	if err != nil {
		return Plan{}, err
	}
	return b.plan, nil
}

func openBoot(r io.ReaderAt, size int64) (*boot, error) {
	tab, err := ptable.Read(r, size)
	if err != nil {
		return nil, fmt.Errorf("partition table: %w", err)
	}
	var seen []string
	for _, p := range tab.Partitions {
		ov := newOverlay(io.NewSectionReader(r, p.Start, p.Size), p.Size)
		bp, err := readBPB(ov)
		if errors.Is(err, ErrNoFAT) {
			seen = append(seen, fmt.Sprintf("%d (type %s)", p.Index, p.Type))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p.Index, err)
		}
		fs, err := openFAT(ov, bp)
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p.Index, err)
		}
		b := &boot{ov: ov, bpb: bp, fs: fs, plan: Plan{Scheme: tab.Scheme, Partition: p, FAT: bp.name(), Label: bp.label}}
		if err := b.classify(); err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: %s partitions %s", ErrNoFAT, tab.Scheme, strings.Join(seen, ", "))
}

func (b *boot) classify() error {
	entries, err := b.fs.ReadDir(".")
	if err == nil {
		err = b.ov.readErr
	}
	if err != nil {
		return fmt.Errorf("partition %d: %w: root directory: %w", b.plan.Partition.Index, ErrCorruptFAT, err)
	}
	b.names = map[string]string{}
	for _, e := range entries {
		low := strings.ToLower(e.Name())
		b.plan.Files = append(b.plan.Files, low)
		b.names[low] = e.Name()
	}
	slices.Sort(b.plan.Files)
	has := func(n string) bool { return slices.Contains(b.plan.Files, n) }
	label := strings.ToLower(b.plan.Label)
	switch {
	case has("dietpi.txt"):
		b.plan.Family = DietPi
	case label == "hypriotos":
		b.plan.Family = HypriotOS
	case label == "cidata" && b.plan.Scheme == ptable.SchemeGPT:
		b.plan.Family = UbuntuRockchip
	case label == "system-boot":
		b.plan.Family = Ubuntu
	case has("config.txt") && has("cmdline.txt") && (has("issue.txt") || label == "bootfs"):
		// Raspberry Pi OS: Trixie ships cloud-init templates on the FAT, Bookworm does not.
		b.plan.Family = RaspiosBookworm
		if has("user-data") || has("meta-data") {
			b.plan.Family = RaspiosTrixie
		}
	default:
		return fmt.Errorf("%w: %s partition %d is %s labelled %q and holds %s", ErrUnknownOS,
			b.plan.Scheme, b.plan.Partition.Index, b.plan.FAT, b.plan.Label, listFiles(b.plan.Files))
	}
	return nil
}

func listFiles(names []string) string {
	const most = 12
	switch {
	case len(names) == 0:
		return "no files"
	case len(names) > most:
		return strings.Join(names[:most], ", ") + fmt.Sprintf(" and %d more", len(names)-most)
	}
	return strings.Join(names, ", ")
}

// PrefixReader serves the first bytes of an image, as far as a flash has
// read its stream, and fails reads past them with ErrBeyondPrefix, so
// Detect can run before the slot is touched and say when it needs more.
func PrefixReader(prefix []byte) io.ReaderAt { return prefixReader(prefix) }

type prefixReader []byte

func (p prefixReader) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(b)) > int64(len(p)) {
		return 0, fmt.Errorf("%w: %d bytes at %d, %d available", ErrBeyondPrefix, len(b), off, len(p))
	}
	return copy(b, p[off:]), nil
}
