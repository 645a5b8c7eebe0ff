package apitype

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Fingerprint is the SHA-256 of a TLS certificate's DER encoding: what
// bmcd prints at start and bmcctl pins at its first login.
type Fingerprint [sha256.Size]byte

// ErrBadFingerprint is returned by ParseFingerprint.
var ErrBadFingerprint = errors.New("invalid certificate fingerprint")

// CertFingerprint is the fingerprint of a certificate in DER form.
func CertFingerprint(der []byte) Fingerprint { return sha256.Sum256(der) }

// String gives "SHA256:" and the 32 bytes in upper-case hex separated by
// colons, the form of "openssl x509 -fingerprint -sha256" and of
// browsers' certificate viewers, so that the three can be compared.
func (f Fingerprint) String() string {
	var b strings.Builder
	b.WriteString("SHA256:")
	for i, c := range f {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// ParseFingerprint reads a fingerprint as String writes it, and also
// without the "SHA256:" (or "sha256 Fingerprint=") prefix, in either
// case, with colons, spaces or nothing between the bytes.
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	raw := strings.TrimSpace(s)
	for _, prefix := range []string{"sha256 fingerprint=", "sha256:", "sha-256:"} {
		if len(raw) >= len(prefix) && strings.EqualFold(raw[:len(prefix)], prefix) {
			raw = raw[len(prefix):]
			break
		}
	}
	digits := strings.NewReplacer(":", "", " ", "").Replace(raw)
	if len(digits) != 2*len(f) {
		return f, fmt.Errorf("%w %q: want SHA256: and 32 bytes in hex (64 digits)", ErrBadFingerprint, s)
	}
	if _, err := hex.Decode(f[:], []byte(digits)); err != nil {
		return f, fmt.Errorf("%w %q: want SHA256: and 32 bytes in hex (64 digits)", ErrBadFingerprint, s)
	}
	return f, nil
}
