package api_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api"
	"github.com/turingpi-oss/bmcd/api/apitype"
)

// put sends body to path with the fixture's token and decodes the answer.
func (f *fixture) put(t *testing.T, path string, body []byte, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, f.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, out), "body: %s", data)
	return resp.StatusCode
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// airgapDirEntries lists the air-gap directory, part files included.
func airgapDirEntries(t *testing.T, f *fixture) []string {
	t.Helper()
	ents, err := os.ReadDir(f.board.AirgapDir())
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestAirgapUpload(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	data := bytes.Repeat([]byte("k3s arm64 "), 100000)
	var got apitype.AirgapFile
	require.Equal(t, http.StatusOK, f.put(t, "/api/v1/cluster/airgap/k3s-arm64?sha256="+hexSum(data), data, &got))
	assert.Equal(t, apitype.AirgapFile{Name: "k3s-arm64", Size: int64(len(data)), SHA256: hexSum(data)}, got)

	for _, tc := range []struct{ name, path, msg string }{
		{"unknown name", "/api/v1/cluster/airgap/notes.txt", "not install.sh"},
		{"escaped path", "/api/v1/cluster/airgap/" + url.PathEscape("../k3s"), "not install.sh"},
		{"wrong digest", "/api/v1/cluster/airgap/k3s?sha256=" + hexSum([]byte("other")), "damaged in transit"},
	} {
		var e apitype.ErrorBody
		require.Equal(t, http.StatusBadRequest, f.put(t, tc.path, []byte("x"), &e), tc.name)
		assert.Contains(t, e.Error.Message, tc.msg, tc.name)
	}
	var list []apitype.AirgapFile
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/cluster/airgap", "", &list))
	assert.Equal(t, []apitype.AirgapFile{got}, list)
	assert.Equal(t, []string{"k3s-arm64"}, airgapDirEntries(t, f), "refused uploads leave nothing")
}

// TestAirgapUploadTruncated: a client that promises more than it sends
// and stops gets 400, and the directory keeps nothing of it; one that
// goes quiet is cut by the idle timeout the same way.
func TestAirgapUploadTruncated(t *testing.T) {
	t.Parallel()
	f := newFixtureAPI(t, func(c *api.Config) { c.BodyIdleTimeout = 200 * time.Millisecond })
	for _, tc := range []struct {
		name      string
		closeSend bool
		msg       string
	}{
		{"body ends early", true, "unexpected EOF"},
		{"client goes quiet", false, "nothing received"},
	} {
		conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
		require.NoError(t, err)
		_, err = fmt.Fprintf(conn, "PUT /api/v1/cluster/airgap/k3s-airgap-images-arm64.tar.zst HTTP/1.1\r\nHost: bmc\r\n"+
			"Authorization: Bearer %s\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n%s",
			f.token, bytes.Repeat([]byte("images"), 1000))
		require.NoError(t, err)
		if tc.closeSend {
			require.NoError(t, conn.(*net.TCPConn).CloseWrite())
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, tc.name)
		var e apitype.ErrorBody
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&e), tc.name)
		resp.Body.Close()
		conn.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, tc.name)
		assert.Contains(t, e.Error.Message, tc.msg, tc.name)
		assert.Empty(t, airgapDirEntries(t, f), "%s: nothing kept, not even a part file", tc.name)
	}
}
