package auth

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/bcrypt"

	"github.com/turingpi-oss/bmcd/hal/atomicfile"
)

// AdminUser is the one user until roles arrive.
const AdminUser = "admin"

// passwordFile stores the bcrypt hash of a generated admin password.
const passwordFile = "auth.json"

type storedPassword struct {
	User   string `json:"user"`
	Bcrypt string `json:"bcrypt"`
}

// PasswordSource says where the admin password comes from.
type PasswordSource struct {
	// Hash is a bcrypt hash from the configuration.
	Hash string
	// Clear is a clear-text password from the configuration; it is hashed
	// at start. Hash wins if both are set.
	Clear string
}

// loadPassword returns the bcrypt hash of the admin password and, when it
// had to generate one, the generated clear password (to be shown once).
func loadPassword(dir string, src PasswordSource, cost int) (hash []byte, generated string, err error) {
	switch {
	case src.Hash != "":
		if _, err := bcrypt.Cost([]byte(src.Hash)); err != nil {
			return nil, "", fmt.Errorf("auth: configured admin password hash: %w", err)
		}
		return []byte(src.Hash), "", nil
	case src.Clear != "":
		h, err := bcrypt.GenerateFromPassword([]byte(src.Clear), cost)
		if err != nil {
			return nil, "", fmt.Errorf("auth: hash configured admin password: %w", err)
		}
		return h, "", nil
	}
	path := filepath.Join(dir, passwordFile)
	data, err := os.ReadFile(path)
	if err == nil {
		var sp storedPassword
		if err := json.Unmarshal(data, &sp); err != nil {
			return nil, "", fmt.Errorf("auth: %s is corrupt (delete it to generate a new admin password): %w", path, err)
		}
		if _, err := bcrypt.Cost([]byte(sp.Bcrypt)); err != nil {
			return nil, "", fmt.Errorf("auth: %s holds no valid hash (delete it to generate a new admin password): %w", path, err)
		}
		return []byte(sp.Bcrypt), "", nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("auth: read %s: %w", path, err)
	}
	generated = rand.Text()
	h, err := bcrypt.GenerateFromPassword([]byte(generated), cost)
	if err != nil {
		return nil, "", fmt.Errorf("auth: hash generated password: %w", err)
	}
	data, err = json.Marshal(storedPassword{User: AdminUser, Bcrypt: string(h)})
	if err != nil {
		return nil, "", err
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return nil, "", fmt.Errorf("auth: store generated password hash: %w", err)
	}
	return h, generated, nil
}
