package api_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/flasher/firstboot"
	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
)

var bookworm = fbt.Layout{DiskMiB: 12, StartMiB: 1, SizeMiB: 8, FATBits: 16, Cluster: 2, Label: "bootfs", Files: map[string]string{
	"config.txt": "arm_64bit=1\n", "cmdline.txt": "console=serial0,115200 root=PARTUUID=1-02 rootwait\n", "issue.txt": "Raspberry Pi reference 2025-05-13\n"}}

func sshKey(t *testing.T) string {
	t.Helper()
	k, err := firstboot.GenerateHostKey(rand.Reader)
	require.NoError(t, err)
	return k.PublicLine()
}

// TestFlashPrepareRaw: the first-boot fields in the query of a raw upload
// prepare the node, and the slot shows it.
func TestFlashPrepareRaw(t *testing.T) {
	t.Parallel()
	f := newFlashFixture(t)
	img, err := os.ReadFile(fbt.Build(t, bookworm))
	require.NoError(t, err)
	key := sshKey(t)
	q := url.Values{"hostname": {"node2"}, "ssh_key": {key}, "user": {"admin"}}
	resp := f.post(t, "/api/v1/slots/2/flash?"+q.Encode(), "application/octet-stream", bytes.NewReader(img))
	require.Equal(t, 200, resp.StatusCode)
	var job apitype.Job
	require.NoError(t, jsonDecode(resp.Body, &job))
	require.Equal(t, "succeeded", job.State, job.Error)
	assert.Equal(t, &apitype.JobPrepare{Hostname: "node2", User: "admin", SSHKeys: []string{key}}, job.Prepare)

	var slot apitype.Slot
	require.Equal(t, 200, f.do(t, "GET", "/api/v1/slots/2", "", &slot))
	require.NotNil(t, slot.Node)
	assert.Equal(t, "node2", slot.Node.Hostname)
	assert.Equal(t, "admin", slot.Node.User)
	assert.Equal(t, "raspios-bookworm", slot.Node.OS)
	assert.Equal(t, "node2.local", slot.Node.Address)
	assert.Equal(t, []string{}, slot.Node.Addresses)
	assert.Regexp(t, `^ssh-ed25519 AAAA`, slot.Node.HostKey)
	assert.Regexp(t, `^SHA256:`, slot.Node.Fingerprint)
	var other apitype.Slot
	require.Equal(t, 200, f.do(t, "GET", "/api/v1/slots/1", "", &other))
	assert.Nil(t, other.Node)
}

// TestFlashPrepareMultipart: repeated ssh_key fields and k3s_prep reach
// the job; an image with no OS bmcd knows fails at step prepare.
func TestFlashPrepareMultipart(t *testing.T) {
	t.Parallel()
	f := newFlashFixture(t)
	k1, k2 := sshKey(t), sshKey(t)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, kv := range [][2]string{{"hostname", "node1"}, {"ssh_key", k1}, {"ssh_key", k2}, {"k3s_prep", "true"}} {
		require.NoError(t, mw.WriteField(kv[0], kv[1]))
	}
	iw, err := mw.CreateFormFile("image", "blank.img")
	require.NoError(t, err)
	_, _ = iw.Write(make([]byte, 64<<10))
	require.NoError(t, mw.Close())
	resp := f.post(t, "/api/v1/slots/1/flash", mw.FormDataContentType(), &body)
	require.Equal(t, 200, resp.StatusCode)
	var job apitype.Job
	require.NoError(t, jsonDecode(resp.Body, &job))
	assert.Equal(t, "failed", job.State)
	assert.Equal(t, "prepare", job.Step)
	assert.Contains(t, job.Error, "partition table")
	assert.Equal(t, &apitype.JobPrepare{Hostname: "node1", User: "pi", SSHKeys: []string{k1, k2}, K3sPrep: true}, job.Prepare)
}

// TestFlashPrepareURL: the JSON form takes the fields too.
func TestFlashPrepareURL(t *testing.T) {
	t.Parallel()
	f := newFlashFixture(t)
	key := sshKey(t)
	body, err := json.Marshal(apitype.FlashURLRequest{URL: "https://example.com/os.img", Prepare: apitype.Prepare{Hostname: "node3", SSHKeys: []string{key}}})
	require.NoError(t, err)
	resp := f.post(t, "/api/v1/slots/3/flash", "application/json", bytes.NewReader(body))
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	var job apitype.Job
	require.NoError(t, jsonDecode(resp.Body, &job))
	require.NotNil(t, job.Prepare)
	assert.Equal(t, "node3", job.Prepare.Hostname)
}

// TestFlashPrepareBadInput: bad first-boot fields are a 400 naming the
// field, and no job is queued.
func TestFlashPrepareBadInput(t *testing.T) {
	t.Parallel()
	key := sshKey(t)
	for _, tc := range []struct {
		name, query, json, want string
	}{
		{name: "hostname not a DNS label", query: url.Values{"hostname": {"Node 2"}, "ssh_key": {key}}.Encode(), want: "not a DNS label"},
		{name: "not a public key", query: url.Values{"hostname": {"node2"}, "ssh_key": {"-----BEGIN OPENSSH PRIVATE KEY-----"}}.Encode(), want: "not an OpenSSH public key"},
		{name: "no key", query: "hostname=node2", want: "no SSH public key"},
		{name: "k3s_prep not a boolean", query: "hostname=node2&k3s_prep=maybe", want: "k3s_prep"},
		{name: "json bad hostname", json: `{"url":"https://example.com/os.img","hostname":"-node","ssh_keys":["` + key + `"]}`, want: "not a DNS label"},
		{name: "json private key", json: `{"url":"https://example.com/os.img","hostname":"node2","ssh_keys":["ssh-ed25519 notbase64"]}`, want: "not an OpenSSH public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFlashFixture(t)
			var resp *http.Response
			if tc.json != "" {
				resp = f.post(t, "/api/v1/slots/2/flash", "application/json", bytes.NewReader([]byte(tc.json)))
			} else {
				resp = f.post(t, "/api/v1/slots/2/flash?"+tc.query, "application/octet-stream", bytes.NewReader([]byte("image")))
			}
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			var eb apitype.ErrorBody
			require.NoError(t, jsonDecode(resp.Body, &eb))
			assert.Contains(t, eb.Error.Message, tc.want)
			var listed []apitype.Job
			require.Equal(t, 200, f.do(t, "GET", "/api/v1/jobs", "", &listed))
			assert.Empty(t, listed)
		})
	}
}
