package firstboot

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Device is the written disk: the eMMC block device or an image file.
type Device interface {
	io.ReaderAt
	io.WriterAt
}

// Result is what Apply wrote, for the slot's record.
type Result struct {
	Plan
	Files        []string // the files written to the boot partition, cmdline.txt last
	HostKeyLine  string   // "ssh-ed25519 AAAA…": prefix the node's name for known_hosts
	Fingerprint  string   // "SHA256:…", as the marker line reports it
	BytesWritten int64    // bytes written to the device
	Notes        []string // what could not be done on this image, such as no cmdline.txt for --k3s-prep
}

// Apply writes the seed to the boot partition of a disk of size bytes, then
// reads the files back through a fresh view of the device. The seed is
// checked and the whole edit done in memory first: on any error before the
// flush nothing has been written.
func Apply(dev Device, size int64, s Seed) (Result, error) {
	s, err := s.Validate()
	if err != nil {
		return Result{}, err
	}
	b, err := openBoot(dev, size)
	if err != nil {
		return Result{}, err
	}
	res := Result{Plan: b.plan, HostKeyLine: s.HostKey.PublicLine(), Fingerprint: s.HostKey.Fingerprint()}
	files, order, notes, err := b.render(s)
	if err != nil {
		return Result{}, err
	}
	res.Notes = notes
	if err := b.checkSpace(files); err != nil {
		return Result{}, err
	}
	for _, name := range order {
		if err := b.write(name, files[name]); err != nil {
			return Result{}, err
		}
	}
	if err := invalidateFSInfo(b.ov, b.bpb); err != nil {
		return Result{}, err
	}
	if b.ov.readErr != nil {
		return Result{}, b.ov.readErr
	}
	p := b.plan.Partition
	n, err := b.ov.flush(io.NewOffsetWriter(dev, p.Start))
	res.BytesWritten = n
	if err != nil {
		return res, fmt.Errorf("partition %d: %w", p.Index, err)
	}
	if err := verify(dev, size, files); err != nil {
		return res, err
	}
	res.Files = order
	return res, nil
}

// read returns a root-directory file, os.ErrNotExist when there is none.
func (b *boot) read(name string) ([]byte, error) {
	onDisk, ok := b.names[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
	}
	data, err := readFile(b.fs, onDisk)
	if err == nil {
		err = b.ov.readErr
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrCorruptFAT, name, err)
	}
	return data, nil
}

func hasName(names []string, n string) bool { return slices.Contains(names, n) }

// checkSpace refuses an edit that might not fit, counting each file's full
// size in new clusters (an overwritten file's old clusters are not counted
// as reusable) and one cluster per new directory entry set.
func (b *boot) checkSpace(files map[string]string) error {
	free, err := freeClusters(b.ov, b.bpb)
	if err != nil {
		return err
	}
	var need int64
	for name, c := range files {
		need += (int64(len(c)) + b.bpb.bytesPerCluster - 1) / b.bpb.bytesPerCluster
		if !hasName(b.plan.Files, strings.ToLower(name)) {
			need++
		}
	}
	if need > free {
		return fmt.Errorf("%w: the seed needs %d KiB, partition %d has %d KiB free", ErrNoSpace,
			need*b.bpb.bytesPerCluster/1024, b.plan.Partition.Index, free*b.bpb.bytesPerCluster/1024)
	}
	return nil
}

// write replaces a root-directory file. Content is never empty: go-diskfs
// v1.9.4 leaves a cluster allocated to an empty file.
func (b *boot) write(name, content string) error {
	if content == "" {
		return fmt.Errorf("write %s: empty content", name)
	}
	if onDisk, ok := b.names[strings.ToLower(name)]; ok {
		name = onDisk
	}
	f, err := b.fs.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return b.writeErr(name, err)
	}
	if _, err := f.Write([]byte(content)); err != nil {
		f.Close()
		return b.writeErr(name, err)
	}
	if err := f.Close(); err != nil {
		return b.writeErr(name, err)
	}
	return nil
}

func (b *boot) writeErr(name string, err error) error {
	if b.ov.readErr != nil {
		return b.ov.readErr
	}
	if strings.Contains(err.Error(), "no space left") {
		err = fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return fmt.Errorf("write %s: %w", name, err)
}

// verify reads every file back through a new view of the device.
func verify(dev io.ReaderAt, size int64, files map[string]string) error {
	b, err := openBoot(dev, size)
	if err != nil {
		return fmt.Errorf("%w: reopen: %w", ErrVerify, err)
	}
	for _, name := range sortedKeys(files) {
		got, err := b.read(name)
		if err == nil {
			err = b.ov.readErr
		}
		if err != nil {
			return fmt.Errorf("%w: read %s: %w", ErrVerify, name, err)
		}
		if !bytes.Equal(got, []byte(files[name])) {
			return fmt.Errorf("%w: %s has %d bytes, %d written", ErrVerify, name, len(got), len(files[name]))
		}
	}
	return nil
}
