package cluster

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Upload writes r to file p on the node with mode perm, streamed over the
// session's stdin (no sftp needed). The file appears whole or not at all:
// it is written beside p and renamed. p must be absolute.
func (c *Conn) Upload(ctx context.Context, p string, perm fs.FileMode, r io.Reader) error {
	cmd, err := UploadCommand(p, perm)
	if err != nil {
		return fmt.Errorf("node %s: %w", c.node, err)
	}
	_, err = c.Run(ctx, cmd, r)
	return err
}

// UploadCommand is the shell command [Conn.Upload] runs for p: it reads
// the file's bytes on stdin.
func UploadCommand(p string, perm fs.FileMode) (string, error) {
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return "", fmt.Errorf("upload: %q is not a clean absolute file path", p)
	}
	if perm&^fs.ModePerm != 0 {
		return "", fmt.Errorf("upload %s: mode %v has more than permission bits", p, perm)
	}
	tmp := p + ".bmcd-upload"
	return fmt.Sprintf("mkdir -p %s && umask 077 && cat > %s && chmod %04o %s && mv -f %s %s",
		shellQuote(path.Dir(p)), shellQuote(tmp), uint32(perm), shellQuote(tmp), shellQuote(tmp), shellQuote(p)), nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
