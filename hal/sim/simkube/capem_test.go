package simkube

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCARoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	ca, err := NewCA("k3s-server-ca@1", now)
	require.NoError(t, err)
	keyPEM, err := ca.KeyPEM()
	require.NoError(t, err)

	back, err := ParseCA(ca.PEM(), keyPEM)
	require.NoError(t, err)
	require.Equal(t, ca.PEM(), back.PEM())
	// The key read back still signs certificates the CA's holders accept.
	certPEM, _, err := back.IssueClient("system:admin", []string{"system:masters"}, now)
	require.NoError(t, err)
	require.NotEmpty(t, certPEM)

	_, err = ParseCA([]byte("junk"), keyPEM)
	require.Error(t, err)
	_, err = ParseCA(ca.PEM(), ca.PEM())
	require.Error(t, err, "a certificate is not a key")
}
