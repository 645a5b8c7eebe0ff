package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// ErrUploadCorrupt reports a file that arrived on the node with other
// content than was sent (a connection cut mid-stream ends the node's
// copy early without an error of its own).
var ErrUploadCorrupt = errors.New("uploaded file differs from the one sent")

// Upload writes r to file p on the node with mode perm, streamed over the
// session's stdin (no sftp needed). The file appears whole or not at all:
// it is written beside p, its SHA-256 checked against what was sent, and
// renamed. p must be absolute.
func (c *Conn) Upload(ctx context.Context, p string, perm fs.FileMode, r io.Reader) error {
	if err := Upload(ctx, c, p, perm, false, r); err != nil {
		return fmt.Errorf("node %s: %w", c.node, err)
	}
	return nil
}

// Upload writes r to file p on the node r runs commands on, as
// [Conn.Upload] does; with sudo every command runs through `sudo -n`, for
// a login that is not root but may become it without a password (the
// prepared nodes' account).
func Upload(ctx context.Context, run Runner, p string, perm fs.FileMode, sudo bool, r io.Reader) error {
	cmds, err := UploadCommands(p, perm, sudo)
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := run.Run(ctx, cmds.Write, io.TeeReader(r, h)); err != nil {
		if ctx.Err() == nil {
			_, _ = run.Run(ctx, cmds.Remove, nil) // best effort: the part written so far
		}
		return fmt.Errorf("upload %s: %w", p, err)
	}
	sent := hex.EncodeToString(h.Sum(nil))
	res, err := run.Run(ctx, cmds.Sum, nil)
	if err != nil {
		return fmt.Errorf("upload %s: %w", p, err)
	}
	if got, _, _ := strings.Cut(string(res.Stdout), " "); got != sent {
		_, _ = run.Run(ctx, cmds.Remove, nil) // the rename never happens; tidy up what is left
		return fmt.Errorf("upload %s: %w (sent sha256 %s, node has %q)", p, ErrUploadCorrupt, sent, strings.TrimSpace(string(res.Stdout)))
	}
	if _, err := run.Run(ctx, cmds.Install, nil); err != nil {
		return fmt.Errorf("upload %s: %w", p, err)
	}
	return nil
}

// UploadSteps are the commands [Upload] runs for one file.
type UploadSteps struct {
	// Write reads the file's bytes on stdin into a temporary file
	// beside the target, readable only by its owner.
	Write string
	// Sum prints the temporary file's SHA-256 as sha256sum does.
	Sum string
	// Install gives the temporary file its mode and renames it into
	// place.
	Install string
	// Remove deletes the temporary file after a failed check.
	Remove string
}

// UploadCommands returns the shell commands [Upload] runs for p.
func UploadCommands(p string, perm fs.FileMode, sudo bool) (UploadSteps, error) {
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return UploadSteps{}, fmt.Errorf("upload: %q is not a clean absolute file path", p)
	}
	if perm&^fs.ModePerm != 0 {
		return UploadSteps{}, fmt.Errorf("upload %s: mode %v has more than permission bits", p, perm)
	}
	su := ""
	if sudo {
		su = "sudo -n "
	}
	tmp, dst := shellQuote(p+".bmcd-upload"), shellQuote(p)
	return UploadSteps{
		Write:   fmt.Sprintf("%smkdir -p %s && umask 077 && %stee %s >/dev/null", su, shellQuote(path.Dir(p)), su, tmp),
		Sum:     fmt.Sprintf("%ssha256sum %s", su, tmp),
		Install: fmt.Sprintf("%schmod %04o %s && %smv -f %s %s", su, uint32(perm), tmp, su, tmp, dst),
		Remove:  fmt.Sprintf("%srm -f %s", su, tmp),
	}, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
