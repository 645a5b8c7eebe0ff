package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/tlscert"
)

var (
	httpsRE       = regexp.MustCompile(`bmcd: listening on (https://\S+)`)
	redirectRE    = regexp.MustCompile(`bmcd: redirecting (http://\S+) to https`)
	fingerprintRE = regexp.MustCompile(`bmcd: TLS certificate (SHA256:[0-9A-F:]+) \(self-signed, `)
)

// TestServesTLS runs bmcd with TLS on: it prints the fingerprint of the
// certificate it generated, serves that certificate, and redirects plain
// HTTP to HTTPS with the path kept.
func TestServesTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "bmcd.yaml")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`
board: sim
listen: 127.0.0.1:0
state_dir: %s
sim:
  emmc_mib: 64
  usb_timing: fast
auth:
  admin_password: x
http:
  tls: true
  redirect_listen: 127.0.0.1:0
`, filepath.Join(dir, "state"))), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--config", path}, stderr) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	require.Eventually(t, func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("bmcd stopped: %v\n%s", err, stderr.String())
		default:
		}
		return httpsRE.MatchString(stderr.String())
	}, 20*time.Second, 5*time.Millisecond)
	out := stderr.String()
	base := httpsRE.FindStringSubmatch(out)[1]
	require.Regexp(t, redirectRE, out)
	redirect := redirectRE.FindStringSubmatch(out)[1]
	require.Regexp(t, fingerprintRE, out)
	printed, err := apitype.ParseFingerprint(fingerprintRE.FindStringSubmatch(out)[1])
	require.NoError(t, err)

	stored, err := tlscert.Load(tlscert.Config{StateDir: filepath.Join(dir, "state")})
	require.NoError(t, err)
	assert.False(t, stored.Generated, "bmcd kept its certificate in the state dir")
	assert.Equal(t, printed, stored.Fingerprint)

	// The certificate is checked by its fingerprint here, as bmcctl does.
	var served apitype.Fingerprint
	client := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				served = apitype.CertFingerprint(cs.PeerCertificates[0].Raw)
				return nil
			},
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(base + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, printed, served, "bmcd serves the certificate whose fingerprint it printed")
	assert.NotEmpty(t, resp.Header.Get("Strict-Transport-Security"))

	resp, err = client.Get(redirect + "/api/v1/slots?x=1")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusPermanentRedirect, resp.StatusCode)
	host := strings.TrimPrefix(base, "https://")
	assert.Equal(t, "https://"+host+"/api/v1/slots?x=1", resp.Header.Get("Location"))
}

func TestServerErrorLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line, want string
	}{
		{name: "refused certificate", line: "http: TLS handshake error from 10.0.0.9:51234: remote error: tls: bad certificate\n", want: "level=DEBUG"},
		{name: "anything else", line: "http: Accept error: too many open files; retrying in 5ms\n", want: "level=ERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			l := serverErrorLog(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})))
			l.Print(tc.line)
			assert.Contains(t, out.String(), tc.want)
			assert.Contains(t, out.String(), strings.TrimSpace(tc.line[:20]))
		})
	}
}
