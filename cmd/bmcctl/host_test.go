package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "bare host means port 80", in: "turingpi.local", want: "http://turingpi.local"},
		{name: "host and port", in: "127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{name: "name and port", in: "bmc.lan:8080", want: "http://bmc.lan:8080"},
		{name: "URL", in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{name: "trailing slash", in: "http://127.0.0.1:8080/", want: "http://127.0.0.1:8080"},
		{name: "https", in: "https://bmc.example:8443", want: "https://bmc.example:8443"},
		{name: "spaces", in: "  turingpi.local \n", want: "http://turingpi.local"},
		{name: "upper case", in: "HTTP://TuringPi.Local:8080", want: "http://turingpi.local:8080"},
		{name: "default http port dropped", in: "http://bmc:80", want: "http://bmc"},
		{name: "default https port dropped", in: "https://bmc:443/", want: "https://bmc"},
		{name: "port 80 without scheme", in: "bmc:80", want: "http://bmc"},
		{name: "leading zeros in port", in: "bmc:08080", want: "http://bmc:8080"},
		{name: "IPv6 with port", in: "[::1]:8080", want: "http://[::1]:8080"},
		{name: "bare IPv6", in: "::1", want: "http://[::1]"},
		{name: "IPv6 URL", in: "http://[fe80::1]/", want: "http://[fe80::1]"},
		{name: "empty", in: "", wantErr: "empty --host"},
		{name: "blank", in: "  ", wantErr: "empty --host"},
		{name: "other scheme", in: "ftp://x", wantErr: `invalid --host "ftp://x": scheme must be http or https`},
		{name: "path", in: "http://x/api", wantErr: `invalid --host "http://x/api": want only a scheme, a host and a port`},
		{name: "query", in: "http://x?a=1", wantErr: "want only a scheme, a host and a port"},
		{name: "user info", in: "http://admin:pw@x", wantErr: "want only a scheme, a host and a port"},
		{name: "port not a number", in: "bmc:http", wantErr: `invalid --host "bmc:http": want host, host:port or http://host:port`},
		{name: "port out of range", in: "bmc:70000", wantErr: `invalid --host "bmc:70000": port must be 1 to 65535`},
		{name: "port zero", in: "bmc:0", wantErr: "port must be 1 to 65535"},
		{name: "no host", in: "http://:8080", wantErr: "want host, host:port or http://host:port"},
		{name: "scheme only", in: "http://", wantErr: "want host, host:port or http://host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normalizeHost(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Equal(t, exitUsage, exitCode(context.Background(), err), "a bad --host is a usage error")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := normalizeHost(got)
			require.NoError(t, err)
			assert.Equal(t, got, again, "normalizing is idempotent")
		})
	}
}
