package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

// isAirgapName reports the file names bmcctl sends from an --airgap
// directory, as k3s releases name their assets: the install script, the
// binaries and the images tarballs. bmcd checks the names again (its
// list is the authority); other files in the directory are left out.
func isAirgapName(name string) bool {
	switch name {
	case "install.sh", "k3s", "k3s-arm64", "k3s-armhf":
		return true
	}
	for _, arch := range []string{"amd64", "arm64", "arm"} {
		for _, ext := range []string{".tar", ".tar.gz", ".tar.zst"} {
			if name == "k3s-airgap-images-"+arch+ext {
				return true
			}
		}
	}
	return false
}

// localAirgapFile is an air-gap file found in the --airgap directory.
type localAirgapFile struct {
	name, path string
	size       int64
}

// airgapFiles lists the air-gap files in dir; a directory without the
// install script or a binary is a usage error, caught before bmcd is
// asked anything.
func airgapFiles(dir string) ([]localAirgapFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, usagef("--airgap %s: %v", dir, err)
	}
	var out []localAirgapFile
	script, binary := false, false
	for _, e := range ents {
		if !isAirgapName(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("--airgap %s: %w", dir, err)
		}
		out = append(out, localAirgapFile{name: e.Name(), path: filepath.Join(dir, e.Name()), size: fi.Size()})
		script = script || e.Name() == "install.sh"
		binary = binary || strings.HasPrefix(e.Name(), "k3s") && !strings.HasPrefix(e.Name(), "k3s-airgap-images-")
	}
	if !script || !binary {
		return nil, usagef("--airgap %s: want install.sh, the k3s binary of each node architecture (k3s, k3s-arm64, k3s-armhf) "+
			"and its images (k3s-airgap-images-<arch>.tar.zst), as k3s releases name them", dir)
	}
	return out, nil
}

// uploadAirgap sends the directory's air-gap files to bmcd, skipping
// those it already holds with the same SHA-256.
func (e *env) uploadAirgap(ctx context.Context, c *client.Client, files []localAirgapFile) error {
	remote, err := c.AirgapFiles(ctx)
	if err != nil {
		return err
	}
	have := map[string]string{}
	for _, f := range remote {
		have[f.Name] = f.SHA256
	}
	for _, f := range files {
		sum, err := fileSHA256(f.path)
		if err != nil {
			return err
		}
		if have[f.name] == sum {
			fmt.Fprintf(e.stderr, "air-gap %s: already on bmcd\n", f.name)
			continue
		}
		if err := e.putAirgapFile(ctx, c, f, sum); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "air-gap %s: uploaded (%s, sha256 %s)\n", f.name, humanBytes(f.size), sum[:12])
	}
	return nil
}

func (e *env) putAirgapFile(ctx context.Context, c *client.Client, f localAirgapFile, sum string) error {
	r, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = c.PutAirgapFile(ctx, f.name, r, f.size, sum)
	return err
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// humanBytes prints a size in MiB with one decimal (the files are MBs to
// hundreds of MBs), or in bytes below one MiB.
func humanBytes(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// airgapUp uploads dir's air-gap files (no --timeout: they are large)
// and marks the request air-gapped.
func (e *env) airgapUp(ctx context.Context, req *apitype.ClusterRequest, dir string) error {
	if req.K3sVersion != "" {
		return usagef("--airgap installs the k3s binary in the directory; drop --k3s-version")
	}
	files, err := airgapFiles(dir)
	if err != nil {
		return err
	}
	if err := e.stream(ctx, func(ctx context.Context, c *client.Client) error { return e.uploadAirgap(ctx, c, files) }); err != nil {
		return err
	}
	req.Airgap = true
	return nil
}
