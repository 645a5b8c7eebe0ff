package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
)

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	full := file("full.yaml", `
board: tp1
listen: ":9000"
state_dir: /srv/bmcd
log_level: debug
tp1:
  i2c_bus: "/dev/i2c-1"
power:
  self_slot: 1
  stagger: 500ms
  cycle_delay: 2s
  state_write_interval: 2s
memory:
  limit_mib: 32
auth:
  token_ttl: 1h
cluster:
  airgap_dir: /mnt/sd/k3s-airgap
`)
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, c config)
		wantErr string
	}{
		{name: "defaults", args: nil, check: func(t *testing.T, c config) {
			assert.Equal(t, "sim", c.Board)
			assert.Equal(t, "127.0.0.1:8080", c.Listen, "the simulator listens on loopback only")
			assert.Contains(t, c.StateDir, "bmcd-sim")
			assert.Equal(t, 4, c.Sim.Slots)
			assert.Equal(t, "mux", c.Sim.USB)
			assert.Equal(t, "background", c.Flash.Priority)
			assert.NotNil(t, c.flashProcs(), "background flashes lend Ps")
		}},
		{name: "flashes at the normal priority", args: []string{"--config", file("normal.yaml", "flash:\n  priority: normal\n")}, check: func(t *testing.T, c config) {
			assert.Nil(t, c.flashProcs())
		}},
		{name: "bad flash priority", args: []string{"--config", file("prio.yaml", "flash:\n  priority: realtime\n")}, wantErr: `flash priority "realtime"`},
		{name: "sim usb hub", args: []string{"--config", file("hub.yaml", "sim:\n  usb: hub\n")}, check: func(t *testing.T, c config) {
			assert.Equal(t, "hub", c.Sim.USB)
		}},
		{name: "bad sim usb", args: []string{"--config", file("switch.yaml", "sim:\n  usb: switch\n")}, wantErr: `usb topology "switch"`},
		{name: "hardware serves HTTPS on all interfaces", args: []string{"--board", "tp2-v2.4"}, check: func(t *testing.T, c config) {
			assert.Equal(t, ":443", c.Listen)
			assert.True(t, c.HTTP.tlsOn())
			assert.Equal(t, ":80", c.HTTP.RedirectListen)
			assert.Equal(t, "/var/lib/bmcd", c.StateDir)
		}},
		{name: "hardware without TLS", args: []string{"--board", "tp1", "--tls=false"}, check: func(t *testing.T, c config) {
			assert.Equal(t, ":8080", c.Listen)
			assert.False(t, c.HTTP.tlsOn())
			assert.Equal(t, "off", c.HTTP.RedirectListen)
		}},
		{name: "sim keeps plain HTTP", args: nil, check: func(t *testing.T, c config) {
			assert.False(t, c.HTTP.tlsOn())
			assert.Equal(t, "off", c.HTTP.RedirectListen)
		}},
		{name: "sim with TLS", args: []string{"--tls", "--redirect-listen", "127.0.0.1:0"}, check: func(t *testing.T, c config) {
			assert.True(t, c.HTTP.tlsOn())
			assert.Equal(t, "127.0.0.1:8080", c.Listen)
			assert.Equal(t, "127.0.0.1:0", c.HTTP.RedirectListen)
		}},
		{name: "own certificate", args: []string{"--config", file("cert.yaml", "board: tp1\nhttp:\n  tls_cert: /etc/bmcd/cert.pem\n  tls_key: /etc/bmcd/key.pem\n  redirect_listen: \"off\"\n")}, check: func(t *testing.T, c config) {
			assert.Equal(t, "/etc/bmcd/cert.pem", c.HTTP.TLSCert)
			assert.Equal(t, "/etc/bmcd/key.pem", c.HTTP.TLSKey)
			assert.Equal(t, "off", c.HTTP.RedirectListen)
		}},
		{name: "certificate without key", args: []string{"--config", file("certonly.yaml", "board: tp1\nhttp:\n  tls_cert: /etc/bmcd/cert.pem\n")}, wantErr: "give both or neither"},
		{name: "certificate with TLS off", args: []string{"--tls=false", "--config", file("certoff.yaml", "board: tp1\nhttp:\n  tls_cert: /c\n  tls_key: /k\n")}, wantErr: "tls is off"},
		{name: "redirect without TLS", args: []string{"--redirect-listen", ":80"}, wantErr: "needs tls on"},
		{name: "file", args: []string{"--config", full}, check: func(t *testing.T, c config) {
			assert.Equal(t, "tp1", c.Board)
			assert.Equal(t, ":9000", c.Listen)
			assert.Equal(t, 2*time.Second, c.Power.StateWriteInterval)
			assert.Equal(t, int64(32), c.Memory.LimitMiB)
			assert.Equal(t, "/dev/i2c-1", c.TP1.I2CBus)
			assert.Equal(t, 1, c.Power.SelfSlot)
			assert.Equal(t, 500*time.Millisecond, c.Power.Stagger)
			assert.Equal(t, time.Hour, c.Auth.TokenTTL)
			assert.Equal(t, "/mnt/sd/k3s-airgap", c.Cluster.AirgapDir)
		}},
		{name: "flags override the file", args: []string{"--config", full, "--listen", "127.0.0.1:1", "--board", "sim"}, check: func(t *testing.T, c config) {
			assert.Equal(t, "127.0.0.1:1", c.Listen)
			assert.Equal(t, "sim", c.Board)
			assert.Equal(t, "/srv/bmcd", c.StateDir, "file values the flags do not name stay")
		}},
		{name: "empty file", args: []string{"--config", file("empty.yaml", "")}, check: func(t *testing.T, c config) {
			assert.Equal(t, "sim", c.Board)
		}},
		{name: "http timeouts", args: []string{"--config", file("http.yaml", "http:\n  body_idle_timeout: 5m\n")}, check: func(t *testing.T, c config) {
			assert.Equal(t, 5*time.Minute, c.HTTP.BodyIdleTimeout)
			assert.Equal(t, 10*time.Second, c.HTTP.ReadHeaderTimeout, "default")
			assert.Equal(t, 2*time.Minute, c.HTTP.IdleTimeout, "default")
		}},
		{name: "zero http timeout", args: []string{"--config", file("http0.yaml", "http:\n  idle_timeout: 0s\n")}, wantErr: "want each above zero"},
		{name: "prepare section", args: []string{"--config", file("prepare.yaml", "prepare:\n  authorized_keys: [\"ssh-ed25519 AAAA me\"]\n  user: admin\n  hostname: node{slot}\n  k3s_prep: true\n  addresses: {2: 10.0.0.12}\n")}, check: func(t *testing.T, c config) {
			assert.Equal(t, bmc.PrepareDefaults{AuthorizedKeys: []string{"ssh-ed25519 AAAA me"}, User: "admin", Hostname: "node{slot}", K3sPrep: true, Addresses: map[int]string{2: "10.0.0.12"}}, c.Prepare.defaults())
		}},
		{name: "prepare typo", args: []string{"--config", file("prepare-typo.yaml", "prepare:\n  hostnam: x\n")}, wantErr: "field hostnam not found"},
		{name: "unknown board", args: []string{"--board", "tp3"}, wantErr: `board "tp3"`},
		{name: "unknown key", args: []string{"--config", file("typo.yaml", "bord: sim\n")}, wantErr: "field bord not found"},
		{name: "bad yaml", args: []string{"--config", file("bad.yaml", "board: [\n")}, wantErr: "bad.yaml"},
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "nope.yaml")}, wantErr: "read config"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: `log level "loud"`},
		{name: "stray argument", args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, io.Discard)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

// TestBadPrepareDefaultsStopStart: a prepare section the board refuses
// (a key that is not a public key) stops bmcd at start, naming it.
func TestBadPrepareDefaultsStopStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bmcd.yaml")
	require.NoError(t, os.WriteFile(path, []byte("board: sim\nlisten: 127.0.0.1:0\nstate_dir: "+filepath.Join(dir, "state")+
		"\nauth:\n  admin_password: x\nprepare:\n  authorized_keys: [\"-----BEGIN OPENSSH PRIVATE KEY-----\"]\n"), 0o600))
	err := run(t.Context(), []string{"--config", path}, io.Discard)
	require.ErrorContains(t, err, "prepare defaults")
	require.ErrorContains(t, err, "not an OpenSSH public key")
}
