package api_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// TestTextFieldsRefused sends names and labels that would break listings
// and terminals: each is refused with 400 and changes nothing.
func TestTextFieldsRefused(t *testing.T) {
	t.Parallel()
	multipartName := func(name string) (string, string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("name", name)
		w, _ := mw.CreateFormFile("image", "os.img")
		_, _ = w.Write([]byte("image"))
		_ = mw.Close()
		return mw.FormDataContentType(), body.String()
	}
	mpType, mpBody := multipartName("os\x1b[2J.img")
	tests := []struct {
		name, method, path, contentType, body, message string
	}{
		{name: "slot name with NUL", method: "PATCH", path: "/api/v1/slots/1", body: `{"name":"a\u0000b"}`, message: "slot name has a control character (U+0000 at byte 1)"},
		{name: "slot name with ANSI escape", method: "PATCH", path: "/api/v1/slots/1", body: `{"name":"\u001b[31mred"}`, message: "slot name has a control character (U+001B at byte 0)"},
		{name: "slot name with newline", method: "PATCH", path: "/api/v1/slots/1", body: `{"name":"a\nb"}`, message: "slot name has a control character (U+000A at byte 1)"},
		{name: "slot name with bidi override", method: "PATCH", path: "/api/v1/slots/1", body: `{"name":"a\u202eb"}`, message: "slot name has a control character (U+202E at byte 1)"},
		{name: "slot name too long", method: "PATCH", path: "/api/v1/slots/1", body: `{"name":"` + strings.Repeat("é", 33) + `"}`, message: "slot name is longer than 64 bytes"},
		{name: "module with tab", method: "PATCH", path: "/api/v1/slots/1", body: `{"name":"ok","module":"cm4\t"}`, message: "module has a control character (U+0009 at byte 3)"},
		{name: "module too long", method: "PATCH", path: "/api/v1/slots/1", body: `{"module":"` + strings.Repeat("m", 65) + `"}`, message: "module is longer than 64 bytes"},
		{name: "image name of 256 KiB", method: "POST", path: "/api/v1/slots/1/flash?name=" + strings.Repeat("n", 256<<10), contentType: "application/octet-stream", body: "image", message: "image name is longer than 255 bytes"},
		{name: "image name with newline", method: "POST", path: "/api/v1/slots/1/flash?name=" + url.QueryEscape("a\nb"), contentType: "application/octet-stream", body: "image", message: "image name has a control character (U+000A at byte 1)"},
		{name: "multipart image name with escape", method: "POST", path: "/api/v1/slots/1/flash", contentType: mpType, body: mpBody, message: "image name has a control character (U+001B at byte 2)"},
		{name: "image URL too long", method: "POST", path: "/api/v1/slots/1/flash", body: `{"url":"https://example.com/` + strings.Repeat("u", 2048) + `"}`, message: "image URL is longer than 2048 bytes"},
		{name: "user name with escape", method: "POST", path: "/api/v1/auth/login", body: `{"username":"\u001b]0;pwned\u0007","password":"x"}`, message: "user name has a control character (U+001B at byte 0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFlashFixture(t)
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			resp := f.post(t, tt.path, ct, strings.NewReader(tt.body))
			if tt.method == "PATCH" {
				req, err := http.NewRequest("PATCH", f.srv.URL+tt.path, strings.NewReader(tt.body))
				require.NoError(t, err)
				req.Header.Set("Content-Type", ct)
				req.Header.Set("Authorization", "Bearer "+f.token)
				resp, err = f.srv.Client().Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
			}
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			var eb apitype.ErrorBody
			require.NoError(t, jsonDecode(resp.Body, &eb))
			assert.Equal(t, apitype.CodeBadRequest, eb.Error.Code)
			assert.Equal(t, tt.message, eb.Error.Message)
			assert.Empty(t, f.board.Jobs().List(), "no job")
			assert.Empty(t, f.hw.Transitions(), "no hardware change")
			for _, s := range f.board.Slots(context.Background()) {
				assert.Empty(t, s.Name)
				assert.Empty(t, s.Module)
			}
		})
	}
}

func TestTextFieldsAccepted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var st apitype.Slot
	require.Equal(t, http.StatusOK, f.do(t, "PATCH", "/api/v1/slots/2", `{"name":"nœud 2 — 🍓","module":"cm4"}`, &st))
	assert.Equal(t, "nœud 2 — 🍓", st.Name)
}
