package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/turingpi-oss/bmcd/hal/atomicfile"
)

// Errors returned by Login and Check.
var (
	ErrBadCredentials = errors.New("wrong user name or password")
	ErrRateLimited    = errors.New("too many failed logins")
	ErrBadToken       = errors.New("missing, unknown or expired token")
)

// RateLimitError is returned (wrapping ErrRateLimited) while an address
// is locked out; RetryAfter says for how long.
type RateLimitError struct{ RetryAfter time.Duration }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%v; try again in %s", ErrRateLimited, e.RetryAfter.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// Config configures an Authenticator.
type Config struct {
	// StateDir holds the generated password hash and the session file.
	StateDir string
	Password PasswordSource
	// TokenTTL is how long a token stays valid after login. Default 24 h.
	TokenTTL time.Duration
	// MaxFailures is how many failed logins an address may make before it
	// is locked out; the lock-out doubles with each further failure,
	// from LockOut up to an hour. Defaults 5 and 1 minute.
	MaxFailures int
	LockOut     time.Duration
	// BcryptCost defaults to bcrypt.DefaultCost; tests lower it.
	BcryptCost int
	Clock      clockwork.Clock
	Logger     *slog.Logger
}

// Session is what a valid token stands for.
type Session struct {
	User    string    `json:"user"`
	Role    string    `json:"role"`
	Expires time.Time `json:"expires"`
}

// failures counts an address's failed logins. Attempts still being
// checked count too, so that concurrent attempts cannot get past the limit
// while bcrypt runs.
type failures struct {
	count    int
	inFlight int
	until    time.Time
}

// Authenticator checks passwords and tokens. It is safe for concurrent use.
type Authenticator struct {
	cfg   Config
	hash  []byte
	clock clockwork.Clock
	log   *slog.Logger

	mu       sync.Mutex
	sessions map[string]Session // key: hex SHA-256 of the token
	tickets  map[string]ticket  // key: hex SHA-256 of the ticket
	failed   map[string]*failures
}

// sessionFile keeps the hashed tokens across restarts.
const sessionFile = "sessions.json"

// New returns an Authenticator. generated is non-empty when no password
// was configured or stored: it is the new admin password, which the
// caller must show to the operator once; only its hash is kept.
func New(cfg Config) (a *Authenticator, generated string, err error) {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 24 * time.Hour
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.LockOut <= 0 {
		cfg.LockOut = time.Minute
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.DefaultCost
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	hash, generated, err := loadPassword(cfg.StateDir, cfg.Password, cfg.BcryptCost)
	if err != nil {
		return nil, "", err
	}
	a = &Authenticator{
		cfg:      cfg,
		hash:     hash,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		sessions: map[string]Session{},
		tickets:  map[string]ticket{},
		failed:   map[string]*failures{},
	}
	a.loadSessions()
	return a, generated, nil
}

// Login checks the credentials of a client at addr and returns a new token.
func (a *Authenticator) Login(addr, user, password string) (token string, s Session, err error) {
	f, err := a.admit(addr)
	if err != nil {
		return "", Session{}, err
	}
	// Compare the password even for a wrong user name, so the time taken
	// does not tell which was wrong.
	pwErr := bcrypt.CompareHashAndPassword(a.hash, []byte(password))
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(AdminUser)) == 1
	if pwErr != nil || !userOK {
		a.recordFailure(f)
		a.log.Warn("auth: failed login", "addr", addr, "user", user)
		return "", Session{}, ErrBadCredentials
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		a.recordFailure(f)
		return "", Session{}, fmt.Errorf("auth: make token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(raw[:])
	s = Session{User: AdminUser, Role: "admin", Expires: a.clock.Now().Add(a.cfg.TokenTTL).UTC()}

	a.mu.Lock()
	defer a.mu.Unlock()
	f.inFlight--
	if a.failed[addr] == f {
		delete(a.failed, addr)
	}
	a.sessions[tokenKey(token)] = s
	if err := a.saveSessionsLocked(); err != nil {
		delete(a.sessions, tokenKey(token))
		return "", Session{}, err
	}
	a.log.Info("auth: login", "addr", addr, "user", user)
	return token, s, nil
}

// Logout revokes token at once, here and in the session file.
func (a *Authenticator) Logout(token string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := tokenKey(token)
	s, ok := a.sessions[key]
	if !ok {
		return ErrBadToken
	}
	delete(a.sessions, key)
	if err := a.saveSessionsLocked(); err != nil {
		// Revoked until a restart would bring it back: keep it valid and
		// say so, so the client can try again.
		a.sessions[key] = s
		return err
	}
	a.revokeTicketsLocked(key)
	a.log.Info("auth: logout", "user", s.User)
	return nil
}

// Check returns the session of a valid, unexpired token.
func (a *Authenticator) Check(token string) (Session, error) {
	if token == "" {
		return Session{}, ErrBadToken
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.checkLocked(tokenKey(token))
}

// checkLocked returns the unexpired session with the token key; a.mu
// must be held.
func (a *Authenticator) checkLocked(key string) (Session, error) {
	s, ok := a.sessions[key]
	if !ok {
		return Session{}, ErrBadToken
	}
	if !a.clock.Now().Before(s.Expires) {
		delete(a.sessions, key)
		a.revokeTicketsLocked(key)
		return Session{}, ErrBadToken
	}
	return s, nil
}

// admit lets an attempt from addr go on to the password check, or
// refuses it while addr is locked out. The attempt counts as a failure
// from now until recordFailure or a successful login says otherwise, so
// concurrent attempts see each other: at most MaxFailures are checked
// before the lock-out, and one at a time after each lock-out.
func (a *Authenticator) admit(addr string) (*failures, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.failed[addr]
	if f == nil {
		f = &failures{}
		a.failed[addr] = f
	}
	if wait := f.until.Sub(a.clock.Now()); wait > 0 {
		return nil, &RateLimitError{RetryAfter: wait}
	}
	if f.inFlight > 0 && f.count+f.inFlight >= a.cfg.MaxFailures {
		// The attempts under way may yet lock addr out.
		return nil, &RateLimitError{RetryAfter: time.Second}
	}
	f.inFlight++
	return f, nil
}

// recordFailure ends an admitted attempt as failed.
func (a *Authenticator) recordFailure(f *failures) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f.inFlight--
	f.count++
	if over := f.count - a.cfg.MaxFailures; over >= 0 {
		lock := a.cfg.LockOut << min(over, 6)
		f.until = a.clock.Now().Add(min(lock, time.Hour))
	}
}

func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (a *Authenticator) loadSessions() {
	path := filepath.Join(a.cfg.StateDir, sessionFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var m map[string]Session
	if err == nil {
		err = json.Unmarshal(data, &m)
	}
	if err != nil {
		// Losing sessions only means logging in again.
		a.log.Warn("auth: ignoring unreadable session file; clients must log in again", "path", path, "err", err)
		return
	}
	now := a.clock.Now()
	for k, s := range m {
		if now.Before(s.Expires) {
			a.sessions[k] = s
		}
	}
}

// saveSessionsLocked writes the unexpired sessions; a.mu must be held.
func (a *Authenticator) saveSessionsLocked() error {
	now := a.clock.Now()
	for k, s := range a.sessions {
		if !now.Before(s.Expires) {
			delete(a.sessions, k)
		}
	}
	data, err := json.Marshal(a.sessions)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(a.cfg.StateDir, sessionFile), data, 0o600); err != nil {
		return fmt.Errorf("auth: save sessions: %w", err)
	}
	return nil
}
