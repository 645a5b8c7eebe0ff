package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

// trustOptions are login's flags about bmcd's certificate.
type trustOptions struct {
	fingerprint string
	caFile      string
	yes         bool
}

// trust decides which certificate login accepts from base and returns
// the HTTP client that accepts only it, and the pin to save once the
// login succeeds (nil: the pin stays as it is). Plain http:// needs none.
func (e *env) trust(ctx context.Context, base string, o trustOptions) (*http.Client, *pinEntry, error) {
	if !strings.HasPrefix(base, "https://") {
		if o.fingerprint != "" || o.caFile != "" {
			return nil, nil, usagef("--fingerprint and --ca need an https:// --host, not %s", base)
		}
		return client.PlainHTTPClient(), nil, nil
	}
	var entry pinEntry
	switch {
	case o.fingerprint != "":
		want, err := apitype.ParseFingerprint(o.fingerprint)
		if err != nil {
			return nil, nil, usagef("--fingerprint: %v", err)
		}
		// Checked here for the clearer message; the login's own
		// connection is checked against the same fingerprint.
		cert, err := client.ServerCertificate(ctx, base)
		if err != nil {
			return nil, nil, err
		}
		if got := apitype.CertFingerprint(cert.Raw); got != want {
			return nil, nil, fmt.Errorf("the certificate of %s has fingerprint %s, not %s as given: check what bmcd printed at start", base, got, want)
		}
		entry = pinEntry{Fingerprint: want.String()}
	case o.caFile != "":
		data, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--ca: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(data) {
			return nil, nil, fmt.Errorf("--ca %s: no PEM certificate in the file", o.caFile)
		}
		entry = pinEntry{CA: string(data)}
	default:
		old, ok, err := lookupPin(base)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			// A second login: the pin decides, whatever --yes says; a
			// changed certificate is refused.
			pin, err := old.pin(base)
			if err != nil {
				return nil, nil, err
			}
			return pin.HTTPClient(), nil, nil
		}
		cert, err := client.ServerCertificate(ctx, base)
		if err != nil {
			return nil, nil, err
		}
		got := apitype.CertFingerprint(cert.Raw)
		if err := e.confirmCertificate(base, got, o.yes); err != nil {
			return nil, nil, err
		}
		entry = pinEntry{Fingerprint: got.String()}
	}
	entry.Created = time.Now().UTC()
	pin, err := entry.pin(base)
	if err != nil {
		return nil, nil, err
	}
	return pin.HTTPClient(), &entry, nil
}

// errNotConfirmed is a certificate the user did not accept.
var errNotConfirmed = errors.New("certificate not accepted; nothing pinned")

// confirmCertificate shows a first-seen certificate's fingerprint and
// asks the user on the terminal whether to pin it; --yes accepts it, and
// without a terminal the answer is no, with what to do instead.
func (e *env) confirmCertificate(base string, got apitype.Fingerprint, yes bool) error {
	fmt.Fprintf(e.stderr, "The certificate of %s is not pinned yet. Its SHA-256 fingerprint is\n  %s\n", base, got)
	if yes {
		fmt.Fprintln(e.stderr, "Pinning it (--yes).")
		return nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return fmt.Errorf("the certificate of %s is not pinned: compare its fingerprint %s with the one bmcd printed at start, then run 'bmcctl --host %s login --fingerprint %s' (or --yes)",
			base, got, base, got)
	}
	fmt.Fprint(e.stderr, "Compare it with the one bmcd printed at start (\"bmcd: TLS certificate SHA256:…\").\nPin it and log in? [y/N] ")
	answer, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return errNotConfirmed
}
