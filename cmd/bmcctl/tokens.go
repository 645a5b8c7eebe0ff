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

// The token cache: one file, 0600 in a 0700 directory, mapping each bmcd
// base URL to its token.

type cachedToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func tokenPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("token cache: %w", err)
	}
	return filepath.Join(dir, "bmcctl", "tokens.json"), nil
}

func readTokens() (map[string]cachedToken, string, error) {
	path, err := tokenPath()
	if err != nil {
		return nil, "", err
	}
	tokens := map[string]cachedToken{}
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

func writeTokens(path string, tokens map[string]cachedToken) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	data, err := json.MarshalIndent(tokens, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("token cache: %w", err)
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

func saveToken(host string, t cachedToken) error {
	tokens, path, err := readTokens()
	if err != nil {
		return err
	}
	tokens[host] = t
	return writeTokens(path, tokens)
}

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
