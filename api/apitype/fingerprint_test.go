package apitype_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

func TestFingerprintString(t *testing.T) {
	t.Parallel()
	f := apitype.CertFingerprint([]byte("a certificate"))
	s := f.String()
	assert.True(t, strings.HasPrefix(s, "SHA256:"), s)
	assert.Len(t, s, len("SHA256:")+32*3-1)
	assert.Equal(t, strings.ToUpper(s[7:]), s[7:])
}

func TestParseFingerprint(t *testing.T) {
	t.Parallel()
	f := apitype.CertFingerprint([]byte("a certificate"))
	hexDigits := strings.ReplaceAll(f.String()[len("SHA256:"):], ":", "")
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "as printed", in: f.String(), ok: true},
		{name: "lower case", in: strings.ToLower(f.String()), ok: true},
		{name: "openssl", in: "sha256 Fingerprint=" + f.String()[len("SHA256:"):], ok: true},
		{name: "bare hex", in: hexDigits, ok: true},
		{name: "spaces", in: "  " + strings.ReplaceAll(f.String()[len("SHA256:"):], ":", " ") + "\n", ok: true},
		{name: "empty", in: ""},
		{name: "short", in: f.String()[:len(f.String())-3]},
		{name: "not hex", in: "SHA256:" + strings.Repeat("zz", 32)},
		{name: "base64 form", in: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := apitype.ParseFingerprint(tc.in)
			if !tc.ok {
				assert.ErrorIs(t, err, apitype.ErrBadFingerprint)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, f, got)
		})
	}
}

func FuzzParseFingerprint(f *testing.F) {
	fp := apitype.CertFingerprint([]byte("seed"))
	f.Add(fp.String())
	f.Add("sha256 Fingerprint=00")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := apitype.ParseFingerprint(s)
		if err != nil {
			return
		}
		// Whatever parses prints to a form that parses to the same.
		again, err := apitype.ParseFingerprint(got.String())
		if err != nil || again != got {
			t.Fatalf("%q parsed to %v, which reads back as %v, %v", s, got, again, err)
		}
	})
}
