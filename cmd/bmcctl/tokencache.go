package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/turingpi-oss/bmcd/hal/atomicfile"
)

// The token cache is one JSON file, tokens.json in bmcctl's directory of
// the user's config directory ($XDG_CONFIG_HOME or ~/.config on Linux),
// mapping each bmcd base URL (as normalizeHost gives it) to its token.
// The file is 0600 in a 0700 directory, and replaced atomically: a
// temporary file in the same directory, fsync, rename.

// cachedToken is one entry of the token cache.
type cachedToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// tokenPath is where the cache lives.
func tokenPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("token cache: %w", err)
	}
	return filepath.Join(dir, "bmcctl", "tokens.json"), nil
}

// readTokens reads the cache; a missing or damaged file is an empty cache.
func readTokens() (tokens map[string]cachedToken, path string, err error) {
	path, err = tokenPath()
	if err != nil {
		return nil, "", err
	}
	tokens = map[string]cachedToken{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return tokens, path, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read token cache: %w", err)
	}
	if err := json.Unmarshal(data, &tokens); err != nil {
		// A damaged cache only means logging in again.
		return map[string]cachedToken{}, path, nil
	}
	return tokens, path, nil
}

// writeTokens replaces the cache with tokens, dropping expired ones.
func writeTokens(path string, tokens map[string]cachedToken) error {
	now := time.Now()
	for host, t := range tokens {
		if !now.Before(t.ExpiresAt) {
			delete(tokens, host)
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write token cache: %w", err)
	}
	// Tighten a directory made by someone else: it holds credentials.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("write token cache: %w", err)
	}
	data, err := json.MarshalIndent(tokens, "", "  ")
	if err != nil {
		return fmt.Errorf("write token cache: %w", err)
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write token cache: %w", err)
	}
	return nil
}

// loadToken returns the cached, unexpired token for host, or "".
func loadToken(host string) (string, error) {
	tokens, _, err := readTokens()
	if err != nil {
		return "", err
	}
	t, ok := tokens[host]
	if !ok || !time.Now().Before(t.ExpiresAt) {
		return "", nil
	}
	return t.Token, nil
}

// hasToken reports whether the cache has an entry for host, expired or not.
func hasToken(host string) (bool, error) {
	_, ok, err := lookupToken(host)
	return ok, err
}

// lookupToken returns host's entry, expired or not, and whether there is one.
func lookupToken(host string) (cachedToken, bool, error) {
	tokens, _, err := readTokens()
	if err != nil {
		return cachedToken{}, false, err
	}
	t, ok := tokens[host]
	return t, ok, nil
}

// saveToken caches t for host.
func saveToken(host string, t cachedToken) error {
	tokens, path, err := readTokens()
	if err != nil {
		return err
	}
	tokens[host] = t
	return writeTokens(path, tokens)
}

// deleteToken forgets host's token; the file is not touched if it has none.
func deleteToken(host string) error {
	tokens, path, err := readTokens()
	if err != nil {
		return err
	}
	if _, ok := tokens[host]; !ok {
		return nil
	}
	delete(tokens, host)
	return writeTokens(path, tokens)
}
