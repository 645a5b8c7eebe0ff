package client

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

func TestFlashUpload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   FlashOptions
		check  func(t *testing.T, r *http.Request)
		length int64
	}{
		{
			name:   "raw stream",
			opts:   FlashOptions{Name: "os.img", SHA256: "ab", PowerOn: true},
			length: 5,
			check: func(t *testing.T, r *http.Request) {
				assert.Equal(t, "application/octet-stream", r.Header.Get("Content-Type"))
				q := r.URL.Query()
				assert.Equal(t, "os.img", q.Get("name"))
				assert.Equal(t, "ab", q.Get("sha256"))
				assert.Equal(t, "true", q.Get("verify"))
				assert.Equal(t, "true", q.Get("power_on"))
				assert.EqualValues(t, 5, r.ContentLength)
				body, _ := io.ReadAll(r.Body)
				assert.Equal(t, "image", string(body))
			},
		},
		{
			name:   "multipart with a bmap",
			opts:   FlashOptions{Name: "os.img", Bmap: []byte("<bmap/>"), NoVerify: true},
			length: -1,
			check: func(t *testing.T, r *http.Request) {
				mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
				require.NoError(t, err)
				assert.Equal(t, "multipart/form-data", mt)
				parts := map[string]string{}
				mr := multipart.NewReader(r.Body, params["boundary"])
				for {
					p, err := mr.NextPart()
					if err == io.EOF {
						break
					}
					require.NoError(t, err)
					b, _ := io.ReadAll(p)
					parts[p.FormName()] = string(b)
				}
				assert.Equal(t, map[string]string{"verify": "false", "power_on": "false", "bmap": "<bmap/>", "image": "image"}, parts)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "/api/v1/slots/2/flash", r.URL.Path)
				assert.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
				tt.check(t, r)
				_, _ = io.WriteString(w, `{"id":7,"slot":2,"state":"succeeded"}`)
			}))
			defer srv.Close()
			job, err := New(srv.URL, WithToken("tok")).FlashUpload(t.Context(), 2, strings.NewReader("image"), tt.length, tt.opts)
			require.NoError(t, err)
			assert.Equal(t, apitype.Job{ID: 7, Slot: 2, State: "succeeded"}, job)
		})
	}
	t.Run("refused", func(t *testing.T) {
		c, _ := replay(t, http.StatusConflict, `{"error":{"code":"not_flashable","message":"slot 2: the board cannot flash this slot"}}`)
		_, err := c.FlashUpload(t.Context(), 2, strings.NewReader("image"), 5, FlashOptions{})
		require.EqualError(t, err, "slot 2: the board cannot flash this slot")
	})
}

func TestFlashURL(t *testing.T) {
	t.Parallel()
	c, reqs := replay(t, http.StatusAccepted, `{"id":8,"slot":1,"state":"queued"}`)
	job, err := c.FlashURL(t.Context(), 1, apitype.FlashURLRequest{URL: "https://example.com/os.img.xz", PowerOn: true})
	require.NoError(t, err)
	assert.Equal(t, apitype.Job{ID: 8, Slot: 1, State: "queued"}, job)
	r := reqs()[0]
	assert.Equal(t, "/api/v1/slots/1/flash", r.path)
	assert.JSONEq(t, `{"url":"https://example.com/os.img.xz","power_on":true}`, r.body)
}
