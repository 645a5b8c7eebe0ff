package simssh

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"sync"
)

// headSize is how much of a written file the node keeps: enough for an
// ELF header, so it can tell which machine a binary is for, and for a
// script's first line. The rest is only counted and hashed, so a real
// k3s binary and images tarball (hundreds of MB) cost no memory.
const headSize = 64

// file is what the simulated node knows of a file written to it.
type file struct {
	size int64
	sum  string // sha256, hex
	head []byte
	mode fs.FileMode
}

// Files are the files written to a node over SSH (uploads), by absolute
// path. Its methods are safe for concurrent use.
type Files struct {
	mu    sync.Mutex
	files map[string]file
}

// NewFiles returns an empty file system.
func NewFiles() *Files { return &Files{files: map[string]file{}} }

// Stat returns the size, sha256 and mode of the file at p.
func (f *Files) Stat(p string) (size int64, sha256 string, mode fs.FileMode, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.files[p]
	return fl.size, fl.sum, fl.mode, ok
}

func (f *Files) get(p string) (file, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.files[p]
	return fl, ok
}

// wipe forgets every file (the node was re-flashed).
func (f *Files) wipe() {
	f.mu.Lock()
	f.files = map[string]file{}
	f.mu.Unlock()
}

// run answers the file commands bmcd's uploads use: mkdir -p, tee FILE,
// sha256sum FILE, chmod MODE FILE, mv -f FROM TO and rm -f FILE. It
// reports false for any other command. Unless root, a command may change
// files only under /tmp and home, as on a real node.
func (f *Files) run(args []string, root bool, home string, stdin io.Reader, out, errw io.Writer) (uint32, bool) {
	if !root && len(args) > 1 && args[0] != "sha256sum" {
		for _, a := range args[1:] {
			if strings.HasPrefix(a, "/") && !strings.HasPrefix(a, "/tmp/") && !strings.HasPrefix(a, home) {
				if _, known := fileCommands[args[0]]; known {
					fmt.Fprintf(errw, "%s: cannot write '%s': Permission denied\n", args[0], a)
					return 1, true
				}
			}
		}
	}
	switch {
	case len(args) == 3 && args[0] == "mkdir" && args[1] == "-p":
		return 0, true // directories exist implicitly
	case len(args) == 2 && args[0] == "tee":
		return f.tee(args[1], stdin, out, errw), true
	case len(args) == 2 && args[0] == "sha256sum":
		fl, ok := f.get(args[1])
		if !ok {
			fmt.Fprintf(errw, "sha256sum: %s: No such file or directory\n", args[1])
			return 1, true
		}
		fmt.Fprintf(out, "%s  %s\n", fl.sum, args[1])
		return 0, true
	case len(args) == 3 && args[0] == "chmod":
		mode, err := strconv.ParseUint(args[1], 8, 32)
		if err != nil || mode > 0o7777 {
			fmt.Fprintf(errw, "chmod: invalid mode: '%s'\n", args[1])
			return 1, true
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		fl, ok := f.files[args[2]]
		if !ok {
			fmt.Fprintf(errw, "chmod: cannot access '%s': No such file or directory\n", args[2])
			return 1, true
		}
		fl.mode = fs.FileMode(mode)
		f.files[args[2]] = fl
		return 0, true
	case len(args) == 4 && args[0] == "mv" && args[1] == "-f":
		f.mu.Lock()
		defer f.mu.Unlock()
		fl, ok := f.files[args[2]]
		if !ok {
			fmt.Fprintf(errw, "mv: cannot stat '%s': No such file or directory\n", args[2])
			return 1, true
		}
		delete(f.files, args[2])
		f.files[args[3]] = fl
		return 0, true
	case len(args) == 3 && args[0] == "rm" && args[1] == "-f":
		f.mu.Lock()
		delete(f.files, args[2])
		f.mu.Unlock()
		return 0, true
	}
	return 0, false
}

// fileCommands are the commands run answers.
var fileCommands = map[string]bool{"mkdir": true, "tee": true, "sha256sum": true, "chmod": true, "mv": true, "rm": true}

// tee writes stdin to p (the copy to stdout is discarded: bmcd sends it
// to /dev/null, and the files may be hundreds of MB).
func (f *Files) tee(p string, stdin io.Reader, _, errw io.Writer) uint32 {
	fl := file{mode: 0o600} // bmcd writes under umask 077
	if stdin != nil {
		h := sha256.New()
		head := &headWriter{}
		n, err := io.Copy(io.MultiWriter(h, head), stdin)
		if err != nil {
			fmt.Fprintf(errw, "tee: standard input: %v\n", err)
			return 1
		}
		fl.size, fl.sum, fl.head = n, hex.EncodeToString(h.Sum(nil)), head.b
	} else {
		sum := sha256.Sum256(nil)
		fl.sum = hex.EncodeToString(sum[:])
	}
	f.mu.Lock()
	f.files[p] = fl
	f.mu.Unlock()
	return 0
}

// headWriter keeps the first headSize bytes written to it.
type headWriter struct{ b []byte }

func (w *headWriter) Write(p []byte) (int, error) {
	if room := headSize - len(w.b); room > 0 {
		w.b = append(w.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
