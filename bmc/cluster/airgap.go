package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// ErrAirgapMissing reports an air-gap file a node's architecture needs
// that the air-gap directory lacks.
var ErrAirgapMissing = errors.New("air-gap file missing")

// The air-gap files, named as k3s releases name their assets, and where
// they go on a node.
const (
	// AirgapScript is the install script (get.k3s.io saved as a file).
	AirgapScript = "install.sh"
	// NodeBinaryPath is where the install script looks for k3s when it
	// is told not to download it.
	NodeBinaryPath = "/usr/local/bin/k3s"
	// NodeImagesDir is where k3s imports image tarballs from at start.
	NodeImagesDir = "/var/lib/rancher/k3s/agent/images"
	// NodeScriptPath is where the install script is put to run; it is
	// removed after the install.
	NodeScriptPath = "/tmp/bmcd-k3s-install.sh"
	// CmdUID prints the login's user id: not 0 means the air-gap
	// uploads go through sudo.
	CmdUID = "id -u"
)

// airgapArchs are the architectures k3s ships, as [Facts.Arch] names
// them: the binary's asset name and the images tarball's architecture.
var airgapArchs = map[string]struct{ binary, images string }{
	"amd64": {"k3s", "amd64"},
	"arm64": {"k3s-arm64", "arm64"},
	"arm":   {"k3s-armhf", "arm"},
}

// imageExts are the image tarball's forms, preferred first (zstd is the
// smallest and what k3s's docs lead with).
var imageExts = []string{".tar.zst", ".tar.gz", ".tar"}

// AirgapBinary is the name of k3s's binary for arch (k3s, k3s-arm64,
// k3s-armhf), "" for an architecture k3s does not ship.
func AirgapBinary(arch string) string { return airgapArchs[arch].binary }

// AirgapImages lists the names the images tarball for arch may have,
// preferred first.
func AirgapImages(arch string) []string {
	a, ok := airgapArchs[arch]
	if !ok {
		return nil
	}
	var out []string
	for _, e := range imageExts {
		out = append(out, "k3s-airgap-images-"+a.images+e)
	}
	return out
}

// CheckAirgapName accepts only the names of air-gap files: the install
// script, a k3s binary or an images tarball of an architecture k3s ships.
// Anything else (a path, a typo, another file) is refused, so an upload
// can never write outside the air-gap directory.
func CheckAirgapName(name string) error {
	if name == AirgapScript {
		return nil
	}
	for arch := range airgapArchs {
		if name == AirgapBinary(arch) || slices.Contains(AirgapImages(arch), name) {
			return nil
		}
	}
	return fmt.Errorf("air-gap file %q: not install.sh, k3s, k3s-arm64, k3s-armhf or k3s-airgap-images-{amd64,arm64,arm}.tar[.zst|.gz]", name)
}

// AirgapFiles are the files one node's air-gap install uses, by their
// names in the air-gap directory.
type AirgapFiles struct {
	Arch, Binary, Images, Script string
}

// PickAirgap returns the files for arch from fsys, or an
// [ErrAirgapMissing] naming every one that is not there.
func PickAirgap(fsys fs.FS, arch string) (AirgapFiles, error) {
	f := AirgapFiles{Arch: arch, Binary: AirgapBinary(arch), Script: AirgapScript}
	if f.Binary == "" {
		return f, fmt.Errorf("%w: k3s ships no binary for architecture %q", ErrAirgapMissing, arch)
	}
	var missing []string
	for _, name := range []string{f.Binary, f.Script} {
		if !isFile(fsys, name) {
			missing = append(missing, name)
		}
	}
	for _, name := range AirgapImages(arch) {
		if isFile(fsys, name) {
			f.Images = name
			break
		}
	}
	if f.Images == "" {
		missing = append(missing, "k3s-airgap-images-"+airgapArchs[arch].images+".tar[.zst|.gz]")
	}
	if len(missing) > 0 {
		return f, fmt.Errorf("%w for %s: %s", ErrAirgapMissing, arch, strings.Join(missing, ", "))
	}
	return f, nil
}

func isFile(fsys fs.FS, name string) bool {
	fi, err := fs.Stat(fsys, name)
	return err == nil && fi.Mode().IsRegular()
}

// AirgapInstallCommand runs the uploaded install script for role without
// downloading anything: INSTALL_K3S_SKIP_DOWNLOAD=true makes it take the
// binary already at [NodeBinaryPath]. The K3S_* variables and arguments
// are the online install's ([InstallCommand]); there is no version,
// which is the binary's.
func AirgapInstallCommand(role Role, token, joinURL string, clusterInit bool) (string, error) {
	online, err := InstallCommand(role, "", token, joinURL, clusterInit)
	if err != nil {
		return "", err
	}
	// The online form is "curl … | ENV sh -s - ARGS": keep ENV and ARGS.
	_, rest, _ := strings.Cut(online, "| ")
	env, args, _ := strings.Cut(rest, " sh -s - ")
	return fmt.Sprintf("INSTALL_K3S_SKIP_DOWNLOAD=true %s sh %s %s", env, NodeScriptPath, args), nil
}

// airgapInstall uploads the node's air-gap files and runs the install
// script from them.
func airgapInstall(ctx context.Context, r Runner, fsys fs.FS, files AirgapFiles, installCmd string) error {
	uid, err := firstLine(ctx, r, CmdUID)
	if err != nil {
		return fmt.Errorf("air-gap install: %w", err)
	}
	sudo := uid != "0"
	for _, u := range []struct {
		name, to string
		perm     fs.FileMode
	}{
		{files.Binary, NodeBinaryPath, 0o755},
		{files.Images, path.Join(NodeImagesDir, files.Images), 0o644},
		{files.Script, NodeScriptPath, 0o755},
	} {
		f, err := fsys.Open(u.name)
		if err != nil {
			return fmt.Errorf("air-gap install: %w", err)
		}
		err = Upload(ctx, r, u.to, u.perm, sudo, f)
		_ = f.Close() // read only
		if err != nil {
			return fmt.Errorf("air-gap install: %s: %w", u.name, err)
		}
	}
	_, err = r.Run(ctx, installCmd, nil)
	// The script is not needed after the run, whatever its outcome.
	rm := "rm -f " + shellQuote(NodeScriptPath)
	if sudo {
		rm = "sudo -n " + rm
	}
	_, _ = r.Run(ctx, rm, nil)
	return err
}
