package auth_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/turingpi-oss/bmcd/api/auth"
)

func newAuth(t *testing.T, cfg auth.Config) (*auth.Authenticator, string) {
	t.Helper()
	cfg.BcryptCost = bcrypt.MinCost
	a, generated, err := auth.New(cfg)
	require.NoError(t, err)
	return a, generated
}

func TestGeneratedPasswordShownOnceStoredHashed(t *testing.T) {
	dir := t.TempDir()
	a, generated := newAuth(t, auth.Config{StateDir: dir})
	require.NotEmpty(t, generated)
	require.GreaterOrEqual(t, len(generated), 20, "a generated password must be strong")

	stored, err := os.ReadFile(filepath.Join(dir, "auth.json"))
	require.NoError(t, err)
	assert.NotContains(t, string(stored), generated, "the clear password must never be stored")
	fi, err := os.Stat(filepath.Join(dir, "auth.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	_, _, err = a.Login("1.2.3.4", "admin", generated)
	require.NoError(t, err)

	again, generatedAgain := newAuth(t, auth.Config{StateDir: dir})
	assert.Empty(t, generatedAgain, "the password is generated only at the first start")
	_, _, err = again.Login("1.2.3.4", "admin", generated)
	require.NoError(t, err)
}

func TestConfiguredPassword(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("from-hash"), bcrypt.MinCost)
	require.NoError(t, err)
	tests := []struct {
		name     string
		src      auth.PasswordSource
		password string
	}{
		{name: "bcrypt hash", src: auth.PasswordSource{Hash: string(hash)}, password: "from-hash"},
		{name: "clear", src: auth.PasswordSource{Clear: "from-clear"}, password: "from-clear"},
		{name: "hash wins", src: auth.PasswordSource{Hash: string(hash), Clear: "from-clear"}, password: "from-hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a, generated := newAuth(t, auth.Config{StateDir: dir, Password: tt.src})
			assert.Empty(t, generated)
			_, _, err := a.Login("addr", "admin", tt.password)
			require.NoError(t, err)
			_, err = os.Stat(filepath.Join(dir, "auth.json"))
			assert.ErrorIs(t, err, os.ErrNotExist, "a configured password is not stored")
		})
	}
	t.Run("invalid hash", func(t *testing.T) {
		_, _, err := auth.New(auth.Config{StateDir: t.TempDir(), Password: auth.PasswordSource{Hash: "plain"}})
		require.Error(t, err)
	})
	t.Run("corrupt stored hash", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "auth.json"), []byte("{"), 0o600))
		_, _, err := auth.New(auth.Config{StateDir: dir})
		require.ErrorContains(t, err, "delete it to generate a new admin password")
	})
}

func TestTokens(t *testing.T) {
	dir := t.TempDir()
	clock := clockwork.NewFakeClock()
	a, _ := newAuth(t, auth.Config{StateDir: dir, Password: auth.PasswordSource{Clear: "pw"}, TokenTTL: time.Hour, Clock: clock})

	token, sess, err := a.Login("addr", "admin", "pw")
	require.NoError(t, err)
	assert.Equal(t, "admin", sess.Role)
	assert.Equal(t, clock.Now().Add(time.Hour).UTC(), sess.Expires)
	_, err = a.Check(token)
	require.NoError(t, err)

	stored, err := os.ReadFile(filepath.Join(dir, "sessions.json"))
	require.NoError(t, err)
	assert.NotContains(t, string(stored), token, "only token hashes are stored")

	// Sessions survive a restart.
	restarted, _ := newAuth(t, auth.Config{StateDir: dir, Password: auth.PasswordSource{Clear: "pw"}, TokenTTL: time.Hour, Clock: clock})
	_, err = restarted.Check(token)
	require.NoError(t, err)

	for _, bad := range []string{"", "x", token + "x"} {
		_, err := a.Check(bad)
		assert.ErrorIs(t, err, auth.ErrBadToken, "token %q", bad)
	}
	clock.Advance(time.Hour)
	_, err = a.Check(token)
	assert.ErrorIs(t, err, auth.ErrBadToken, "expired")
}

func TestLockOut(t *testing.T) {
	clock := clockwork.NewFakeClock()
	a, _ := newAuth(t, auth.Config{StateDir: t.TempDir(), Password: auth.PasswordSource{Clear: "pw"}, MaxFailures: 3, LockOut: time.Minute, Clock: clock})

	for range 2 {
		_, _, err := a.Login("attacker", "admin", "guess")
		require.ErrorIs(t, err, auth.ErrBadCredentials)
	}
	_, _, err := a.Login("attacker", "admin", "guess") // third failure: locked for 1 min
	require.ErrorIs(t, err, auth.ErrBadCredentials)
	_, _, err = a.Login("attacker", "admin", "pw")
	var rl *auth.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, time.Minute, rl.RetryAfter)
	assert.ErrorIs(t, err, auth.ErrRateLimited)

	_, _, err = a.Login("neighbour", "admin", "pw")
	require.NoError(t, err, "the lock-out is per address")

	clock.Advance(time.Minute)
	_, _, err = a.Login("attacker", "admin", "guess") // fourth failure: 2 min
	require.ErrorIs(t, err, auth.ErrBadCredentials)
	_, _, err = a.Login("attacker", "admin", "pw")
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, 2*time.Minute, rl.RetryAfter)

	clock.Advance(2 * time.Minute)
	_, _, err = a.Login("attacker", "admin", "pw")
	require.NoError(t, err, "a success after the lock-out clears the count")
	_, _, err = a.Login("attacker", "admin", "guess")
	require.ErrorIs(t, err, auth.ErrBadCredentials, "not locked out after one new failure")
}

// TestLockOutHoldsUnderConcurrency sends many wrong passwords at once from
// one address: no more than MaxFailures reach the password check, however
// the attempts interleave.
func TestLockOutHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	for _, n := range []int{60, 400} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			// A cost high enough that the attempts overlap (tens of ms
			// each under the race detector), as they do on a board.
			a, _, err := auth.New(auth.Config{StateDir: t.TempDir(), Password: auth.PasswordSource{Clear: "pw"},
				MaxFailures: 5, Clock: clockwork.NewFakeClock(), BcryptCost: bcrypt.MinCost + 2})
			require.NoError(t, err)
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					_, _, err := a.Login("attacker", "admin", "guess")
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			checked, limited := 0, 0
			for err := range errs {
				switch {
				case errors.Is(err, auth.ErrBadCredentials):
					checked++
				case errors.Is(err, auth.ErrRateLimited):
					limited++
				default:
					t.Errorf("unexpected error %v", err)
				}
			}
			assert.Equal(t, 5, checked, "passwords checked")
			assert.Equal(t, n-5, limited)
			_, _, err = a.Login("attacker", "admin", "pw")
			assert.ErrorIs(t, err, auth.ErrRateLimited, "locked out, even with the right password")
		})
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := auth.Config{StateDir: dir, Password: auth.PasswordSource{Clear: "pw"}}
	a, _ := newAuth(t, cfg)
	token, _, err := a.Login("addr", "admin", "pw")
	require.NoError(t, err)
	other, _, err := a.Login("addr", "admin", "pw")
	require.NoError(t, err)

	require.NoError(t, a.Logout(token))
	_, err = a.Check(token)
	assert.ErrorIs(t, err, auth.ErrBadToken)
	assert.ErrorIs(t, a.Logout(token), auth.ErrBadToken, "a revoked token is unknown")
	_, err = a.Check(other)
	assert.NoError(t, err, "other sessions stay")

	restarted, _ := newAuth(t, cfg)
	_, err = restarted.Check(token)
	assert.ErrorIs(t, err, auth.ErrBadToken, "revoked in the session file too")
	_, err = restarted.Check(other)
	assert.NoError(t, err)
}
