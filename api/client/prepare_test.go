package client

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// TestFlashUploadPrepare: the first-boot fields go in the query of a raw
// upload and as fields of a multipart one, ssh_key repeated; without them
// nothing is sent.
func TestFlashUploadPrepare(t *testing.T) {
	t.Parallel()
	prep := apitype.Prepare{Hostname: "node2", User: "admin", PasswordHash: "$y$j9T$abc", SSHKeys: []string{"ssh-ed25519 AAAA a", "ssh-ed25519 BBBB b"}, K3sPrep: true}
	want := url.Values{"prepare": {"true"}, "hostname": {"node2"}, "user": {"admin"}, "password_hash": {"$y$j9T$abc"},
		"ssh_key": {"ssh-ed25519 AAAA a", "ssh-ed25519 BBBB b"}, "k3s_prep": {"true"}}
	prepKeys := []string{"prepare", "hostname", "user", "password_hash", "ssh_key", "k3s_prep"}
	for _, tc := range []struct {
		name string
		opts FlashOptions
		want url.Values
	}{
		{"raw", FlashOptions{Prepare: prep}, want},
		{"multipart", FlashOptions{Prepare: prep, Bmap: []byte("<bmap/>")}, want},
		{"raw without preparation", FlashOptions{}, url.Values{}},
		{"defaults only", FlashOptions{Prepare: apitype.Prepare{Prepare: true}}, url.Values{"prepare": {"true"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan url.Values, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fields := r.URL.Query()
				if mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
					mr := multipart.NewReader(r.Body, params["boundary"])
					for {
						p, err := mr.NextPart()
						if err == io.EOF {
							break
						}
						if !assert.NoError(t, err) {
							break
						}
						b, _ := io.ReadAll(p)
						fields.Add(p.FormName(), string(b))
					}
				}
				only := url.Values{}
				for _, k := range prepKeys {
					if v, ok := fields[k]; ok {
						only[k] = v
					}
				}
				got <- only
				_, _ = io.WriteString(w, `{"id":7,"slot":2,"state":"succeeded"}`)
			}))
			defer srv.Close()
			_, err := New(srv.URL).FlashUpload(t.Context(), 2, strings.NewReader("image"), 5, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, <-got)
		})
	}
}
