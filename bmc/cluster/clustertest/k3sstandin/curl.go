package main

import (
	_ "embed"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// installScript is what https://get.k3s.io serves on a test node.
//
//go:embed install.sh
var installScript []byte

// releasePrefix starts the URLs of release binaries.
const releasePrefix = "https://github.com/k3s-io/k3s/releases/download/"

// curlMain is a node's curl: the test network reaches the k3s install
// script and release binaries, served from this program, and nothing
// else. It takes the options install commands use (-s -f -L -S, -o FILE).
func curlMain(args []string) int {
	var out, rawURL string
	silent := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-o" || a == "--output":
			if i+1 == len(args) {
				fmt.Fprintln(os.Stderr, "curl: option -o: requires parameter")
				return 2
			}
			i++
			out = args[i]
		case strings.HasPrefix(a, "--"):
			if a == "--silent" {
				silent = true
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			if strings.Contains(a, "s") {
				silent = true
			}
			if strings.HasSuffix(a, "o") {
				if i+1 == len(args) {
					fmt.Fprintln(os.Stderr, "curl: option -o: requires parameter")
					return 2
				}
				i++
				out = args[i]
			}
		default:
			rawURL = a
		}
	}
	u, err := url.Parse(rawURL)
	if rawURL == "" || err != nil {
		fmt.Fprintf(os.Stderr, "curl: (3) URL rejected: %q\n", rawURL)
		return 3
	}
	var body io.Reader
	switch {
	case u.Host == "get.k3s.io" && (u.Path == "" || u.Path == "/"):
		body = strings.NewReader(string(installScript))
	case u.Host == "update.k3s.io" && strings.HasPrefix(u.Path, "/v1-release/channels/"):
		body = strings.NewReader(defaultVersion)
	case strings.HasPrefix(rawURL, releasePrefix) && strings.HasSuffix(u.Path, "/k3s"):
		self, err := os.Executable()
		if err != nil {
			return fatalf("stand-in curl: %v", err)
		}
		f, err := os.Open(self)
		if err != nil {
			return fatalf("stand-in curl: %v", err)
		}
		defer f.Close()
		body = f
	default:
		if !silent {
			fmt.Fprintf(os.Stderr, "curl: (6) Could not resolve host: %s\n", u.Host)
		}
		return 6
	}
	w := io.Writer(os.Stdout)
	if out != "" && out != "-" {
		f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "curl: (23) Failure writing output to destination: %v\n", err)
			return 23
		}
		defer f.Close()
		w = f
	}
	if _, err := io.Copy(w, body); err != nil {
		fmt.Fprintf(os.Stderr, "curl: (23) Failure writing output to destination: %v\n", err)
		return 23
	}
	return 0
}
