package bmc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
)

// airgapDirName is the air-gap directory under the state directory when
// Config.AirgapDir is not set.
const airgapDirName = "airgap"

// AirgapFile is one file of the air-gap directory.
type AirgapFile struct {
	Name   string
	Size   int64
	SHA256 string
}

// airgapSum is a file's digest, valid while its size and mtime hold.
type airgapSum struct {
	size  int64
	mtime time.Time
	sum   string
}

// AirgapDir is the directory on the controller the air-gap files are
// kept in and served to nodes from.
func (b *Board) AirgapDir() string {
	if b.cfg.AirgapDir != "" {
		return b.cfg.AirgapDir
	}
	return filepath.Join(b.cfg.StateDir, airgapDirName)
}

// AirgapFiles lists the air-gap files the controller holds, with their
// SHA-256 (computed once per file version and remembered). Other files
// in the directory are not listed; a missing directory is an empty list.
func (b *Board) AirgapFiles() ([]AirgapFile, error) {
	dir := b.AirgapDir()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []AirgapFile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bmc: air-gap files: %w", err)
	}
	out := []AirgapFile{}
	for _, e := range ents {
		if cluster.CheckAirgapName(e.Name()) != nil || !e.Type().IsRegular() {
			continue
		}
		f, err := b.airgapFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(x, y AirgapFile) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// airgapFile stats p and returns its digest, from the cache while the
// file's size and mtime are unchanged.
func (b *Board) airgapFile(p string) (AirgapFile, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return AirgapFile{}, fmt.Errorf("bmc: air-gap file: %w", err)
	}
	name := filepath.Base(p)
	b.airgapMu.Lock()
	c, ok := b.airgapSums[name]
	b.airgapMu.Unlock()
	if ok && c.size == fi.Size() && c.mtime.Equal(fi.ModTime()) {
		return AirgapFile{Name: name, Size: c.size, SHA256: c.sum}, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return AirgapFile{}, fmt.Errorf("bmc: air-gap file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return AirgapFile{}, fmt.Errorf("bmc: air-gap file %s: %w", name, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	b.rememberAirgapSum(name, airgapSum{size: n, mtime: fi.ModTime(), sum: sum})
	return AirgapFile{Name: name, Size: n, SHA256: sum}, nil
}

func (b *Board) rememberAirgapSum(name string, s airgapSum) {
	b.airgapMu.Lock()
	defer b.airgapMu.Unlock()
	if b.airgapSums == nil {
		b.airgapSums = map[string]airgapSum{}
	}
	b.airgapSums[name] = s
}

// PutAirgapFile stores an air-gap file read from r under name, streamed
// to a temporary file beside it (synced, then renamed), so the directory
// holds the old file or the whole new one, never part of one. A name that
// is not an air-gap file's, or a digest other than wantSHA256 (hex; ""
// skips the check), is ErrInvalid and leaves nothing; so does a body that
// ends early (the reader's error is returned).
func (b *Board) PutAirgapFile(name string, r io.Reader, wantSHA256 string) (AirgapFile, error) {
	if err := cluster.CheckAirgapName(name); err != nil {
		return AirgapFile{}, invalidf("%v", err)
	}
	wantSHA256 = strings.ToLower(wantSHA256)
	if wantSHA256 != "" {
		if raw, err := hex.DecodeString(wantSHA256); err != nil || len(raw) != sha256.Size {
			return AirgapFile{}, invalidf("air-gap file %s: sha256 %q is not 64 hex digits", name, wantSHA256)
		}
	}
	dir := b.AirgapDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return AirgapFile{}, fmt.Errorf("bmc: air-gap dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*.part")
	if err != nil {
		return AirgapFile{}, fmt.Errorf("bmc: air-gap file %s: %w", name, err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name()) // the part file is all there is to undo
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err != nil {
		return AirgapFile{}, fmt.Errorf("bmc: air-gap file %s: receive: %w", name, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if wantSHA256 != "" && sum != wantSHA256 {
		return AirgapFile{}, invalidf("air-gap file %s: sha256 %s, want %s (damaged in transit?)", name, sum, wantSHA256)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return AirgapFile{}, fmt.Errorf("bmc: air-gap file %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		return AirgapFile{}, fmt.Errorf("bmc: air-gap file %s: sync: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return AirgapFile{}, fmt.Errorf("bmc: air-gap file %s: %w", name, err)
	}
	dst := filepath.Join(dir, name)
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return AirgapFile{}, fmt.Errorf("bmc: air-gap file %s: %w", name, err)
	}
	done = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; a failure only risks the new name after a crash
		_ = d.Close()
	}
	if fi, err := os.Stat(dst); err == nil {
		b.rememberAirgapSum(name, airgapSum{size: n, mtime: fi.ModTime(), sum: sum})
	}
	return AirgapFile{Name: name, Size: n, SHA256: sum}, nil
}

// airgapFS is the air-gap directory for a cluster job, after checking
// that it holds at least the install script (which files each node needs
// is known only after preflight).
func (b *Board) airgapFS() (fs.FS, error) {
	dir := b.AirgapDir()
	fi, err := os.Stat(filepath.Join(dir, cluster.AirgapScript))
	if err != nil || !fi.Mode().IsRegular() {
		return nil, invalidf("cluster: air-gap: no %s in %s on the controller; upload the files first (bmcctl cluster up --airgap DIR)", cluster.AirgapScript, dir)
	}
	return os.DirFS(dir), nil
}
