package main

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
	"github.com/turingpi-oss/bmcd/hal/atomicfile"
)

// The pins are one JSON file, pins.json beside the token cache, mapping
// each https:// base URL (as normalizeHost gives it) to what bmcctl
// trusts of that bmcd's certificate: its fingerprint, learnt at the
// first login, or CAs given with login --ca. Like the token cache it is
// replaced atomically; unlike it, a damaged file is an error, not an
// empty file: forgetting pins would silently undo what the user checked.

// pinEntry is one host's pin.
type pinEntry struct {
	// Fingerprint is apitype.Fingerprint's String form.
	Fingerprint string `json:"fingerprint,omitempty"`
	// CA holds PEM certificates: any certificate they vouch for that
	// names the host is accepted.
	CA      string    `json:"ca,omitempty"`
	Created time.Time `json:"created"`
}

// pin is what the entry trusts, for the client.
func (p pinEntry) pin(host string) (client.Pin, error) {
	if p.CA != "" {
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM([]byte(p.CA)) {
			return client.Pin{}, fmt.Errorf("pinned CA of %s holds no certificate: run 'bmcctl login --ca FILE' again", host)
		}
		return client.Pin{Roots: roots}, nil
	}
	fp, err := apitype.ParseFingerprint(p.Fingerprint)
	if err != nil {
		return client.Pin{}, fmt.Errorf("pinned certificate of %s: %w", host, err)
	}
	return client.Pin{Fingerprint: fp}, nil
}

// pinPath is where the pins live.
func pinPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("pinned certificates: %w", err)
	}
	return filepath.Join(dir, "bmcctl", "pins.json"), nil
}

// readPins reads the pins; a missing file is no pins.
func readPins() (pins map[string]pinEntry, path string, err error) {
	path, err = pinPath()
	if err != nil {
		return nil, "", err
	}
	pins = map[string]pinEntry{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return pins, path, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read pinned certificates: %w", err)
	}
	if err := json.Unmarshal(data, &pins); err != nil {
		return nil, "", fmt.Errorf("pinned certificates %s are damaged (%v): repair or delete the file, then log in again", path, err)
	}
	return pins, path, nil
}

// lookupPin returns host's pin and whether there is one.
func lookupPin(host string) (pinEntry, bool, error) {
	pins, _, err := readPins()
	if err != nil {
		return pinEntry{}, false, err
	}
	p, ok := pins[host]
	return p, ok, nil
}

// savePin pins p for host, replacing what was pinned.
func savePin(host string, p pinEntry) error {
	pins, path, err := readPins()
	if err != nil {
		return err
	}
	pins[host] = p
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save pinned certificate: %w", err)
	}
	data, err := json.MarshalIndent(pins, "", "  ")
	if err != nil {
		return fmt.Errorf("save pinned certificate: %w", err)
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save pinned certificate: %w", err)
	}
	return nil
}
