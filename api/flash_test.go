package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
)

// diskBooter hands out one file per slot as the slot's disk.
type diskBooter struct{ dir string }

func (d diskBooter) BootToDisk(_ context.Context, slot int) (string, error) {
	return filepath.Join(d.dir, fmt.Sprintf("emmc%d", slot)), nil
}

// copyImages writes the source bytes as they are: the API's job is to
// get them to the flasher intact, which is what these tests check.
type copyImages struct{ specs chan bmc.ImageSpec }

type copyImage struct {
	r    io.Reader
	name string
}

func (i copyImage) String() string { return i.name }
func (i copyImage) WriteTo(ctx context.Context, disk string, progress func(bmc.FlashProgress)) error {
	f, err := os.Create(disk)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(f, i.r)
	progress(bmc.FlashProgress{Phase: "write", BytesWritten: n})
	return err
}

func (c copyImages) Upload(r io.Reader, _ int64, spec bmc.ImageSpec) (bmc.Image, error) {
	c.specs <- spec
	return copyImage{r: r, name: spec.Name}, nil
}

func (c copyImages) URL(url string, spec bmc.ImageSpec) (bmc.Image, error) {
	c.specs <- spec
	return copyImage{r: strings.NewReader("downloaded " + url), name: spec.Name}, nil
}

type flashFixture struct {
	*fixture
	specs chan bmc.ImageSpec
}

func newFlashFixture(t *testing.T) *flashFixture {
	t.Helper()
	specs := make(chan bmc.ImageSpec, 4)
	f := newFixture(t, func(cfg *bmc.Config, dir string) {
		cfg.Flash = bmc.FlashConfig{Booter: diskBooter{dir}, Images: copyImages{specs}}
	})
	return &flashFixture{fixture: f, specs: specs}
}

func (f *flashFixture) post(t *testing.T, path, contentType string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", f.srv.URL+path, body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestFlashUploadRaw(t *testing.T) {
	f := newFlashFixture(t)
	image := bytes.Repeat([]byte("boot"), 1<<16)
	resp := f.post(t, "/api/v1/slots/2/flash?power_on=true&name=os.img&sha256="+strings.Repeat("ab", 32), "application/octet-stream", bytes.NewReader(image))
	require.Equal(t, 200, resp.StatusCode)
	var job apitype.Job
	require.NoError(t, jsonDecode(resp.Body, &job))
	assert.Equal(t, "succeeded", job.State, job.Error)
	assert.Equal(t, 2, job.Slot)
	assert.Equal(t, "os.img", job.Image)
	assert.True(t, job.PowerOn)
	assert.Equal(t, fmt.Sprintf("/api/v1/jobs/%d", job.ID), resp.Header.Get("Location"))
	spec := <-f.specs
	assert.Equal(t, strings.Repeat("ab", 32), spec.SHA256)
	assert.True(t, spec.Verify)

	got, err := os.ReadFile(filepath.Join(f.dir, "emmc2"))
	require.NoError(t, err)
	assert.Equal(t, image, got)

	var listed []apitype.Job
	require.Equal(t, 200, f.do(t, "GET", "/api/v1/jobs", "", &listed))
	require.Len(t, listed, 1)
	var one apitype.Job
	require.Equal(t, 200, f.do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d", job.ID), "", &one))
	assert.Equal(t, "succeeded", one.State)
}

func TestFlashUploadMultipart(t *testing.T) {
	f := newFlashFixture(t)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(t, mw.WriteField("verify", "false"))
	bw, err := mw.CreateFormFile("bmap", "os.bmap")
	require.NoError(t, err)
	_, _ = bw.Write([]byte("<bmap/>"))
	iw, err := mw.CreateFormFile("image", "os.img.xz")
	require.NoError(t, err)
	_, _ = iw.Write([]byte("image bytes"))
	require.NoError(t, mw.Close())

	resp := f.post(t, "/api/v1/slots/1/flash", mw.FormDataContentType(), &body)
	require.Equal(t, 200, resp.StatusCode)
	var job apitype.Job
	require.NoError(t, jsonDecode(resp.Body, &job))
	assert.Equal(t, "succeeded", job.State, job.Error)
	assert.Equal(t, "os.img.xz", job.Image)
	spec := <-f.specs
	assert.False(t, spec.Verify)
	assert.Equal(t, "<bmap/>", string(spec.Bmap))
	got, err := os.ReadFile(filepath.Join(f.dir, "emmc1"))
	require.NoError(t, err)
	assert.Equal(t, "image bytes", string(got))
}

func TestFlashURL(t *testing.T) {
	f := newFlashFixture(t)
	var job apitype.Job
	require.Equal(t, 202, f.do(t, "POST", "/api/v1/slots/3/flash", `{"url":"https://example.com/os.img.xz"}`, &job))
	assert.Equal(t, "queued", job.State)
	require.Eventually(t, func() bool {
		f.do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d", job.ID), "", &job)
		return job.State == "succeeded"
	}, 5*time.Second, 5*time.Millisecond)
}

func TestFlashBadRequests(t *testing.T) {
	tests := []struct {
		name, path, contentType, body string
		status                        int
		message                       string
		exact                         bool // the whole message
	}{
		// The board checks the digest and the URL; api only maps
		// bmc.ErrInvalid to 400, so the board's words reach the client.
		{name: "bad sha256", path: "/api/v1/slots/1/flash?sha256=xyz", contentType: "application/octet-stream", body: "x", status: 400, message: `sha256 "xyz": want 64 hex digits`, exact: true},
		{name: "bad sha256 in multipart", path: "/api/v1/slots/1/flash", contentType: "multipart/form-data; boundary=b", body: "--b\r\nContent-Disposition: form-data; name=\"sha256\"\r\n\r\nABCD\r\n--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.img\"\r\n\r\nx\r\n--b--\r\n", status: 400, message: `sha256 "ABCD": want 64 hex digits`, exact: true},
		{name: "bad sha256 with url", path: "/api/v1/slots/1/flash", contentType: "application/json", body: `{"url":"https://example.com/a.img","sha256":"ABCD"}`, status: 400, message: `sha256 "ABCD": want 64 hex digits`, exact: true},
		{name: "bad verify", path: "/api/v1/slots/1/flash?verify=maybe", contentType: "application/octet-stream", body: "x", status: 400, message: `verify="maybe"`},
		{name: "no such slot", path: "/api/v1/slots/7/flash", contentType: "application/octet-stream", body: "x", status: 404, message: "no such slot"},
		{name: "url not http", path: "/api/v1/slots/1/flash", contentType: "application/json", body: `{"url":"file:///etc/passwd"}`, status: 400, message: `image URL "file:///etc/passwd": want an http or https URL`, exact: true},
		{name: "wrong content type", path: "/api/v1/slots/1/flash", contentType: "text/plain", body: "x", status: 415, message: "application/octet-stream"},
		{name: "multipart without image", path: "/api/v1/slots/1/flash", contentType: "multipart/form-data; boundary=b", body: "--b\r\nContent-Disposition: form-data; name=\"verify\"\r\n\r\ntrue\r\n--b--\r\n", status: 400, message: `no "image" part`},
		{name: "multipart unknown field", path: "/api/v1/slots/1/flash", contentType: "multipart/form-data; boundary=b", body: "--b\r\nContent-Disposition: form-data; name=\"evil\"\r\n\r\nx\r\n--b--\r\n", status: 400, message: `unknown multipart field "evil"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlashFixture(t)
			resp := f.post(t, tt.path, tt.contentType, strings.NewReader(tt.body))
			assert.Equal(t, tt.status, resp.StatusCode)
			var eb apitype.ErrorBody
			require.NoError(t, jsonDecode(resp.Body, &eb))
			if tt.exact {
				assert.Equal(t, tt.message, eb.Error.Message)
			} else {
				assert.Contains(t, eb.Error.Message, tt.message)
			}
			assert.Empty(t, f.hw.Transitions(), "a refused request touches nothing")
			assert.Empty(t, f.board.Jobs().List())
		})
	}
}

func TestFlashNotSupported(t *testing.T) {
	f := newFixture(t) // a board without flashing wired
	var eb apitype.ErrorBody
	assert.Equal(t, 501, f.do(t, "POST", "/api/v1/slots/1/flash", `{"url":"http://x/y"}`, &eb))
	assert.Equal(t, "not_supported", eb.Error.Code)
}

// TestFlashClientVanishes cuts the connection mid-upload: the job fails
// with a clear message and the slot ends off with the strap released.
func TestFlashClientVanishes(t *testing.T) {
	f := newFlashFixture(t)
	addr := strings.TrimPrefix(f.srv.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	head := "POST /api/v1/slots/4/flash HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + f.token +
		"\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
	_, err = conn.Write([]byte(head + strings.Repeat("z", 5000)))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(f.board.Jobs().List()) == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, conn.Close())

	var job bmc.Job
	require.Eventually(t, func() bool {
		job = f.board.Jobs().List()[0]
		return job.State.Final()
	}, 5*time.Second, time.Millisecond)
	assert.Equal(t, bmc.JobFailed, job.State)
	assert.Equal(t, "write", job.Step)
	assert.Contains(t, job.Error, "unexpected EOF")
	p, err := f.hw.PowerState(context.Background(), 4)
	require.NoError(t, err)
	assert.Equal(t, "off", p.String())
	assert.False(t, f.hw.USBBoot(4))
}
