package api_test

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// TestFinalMessages pins the whole message a client sees on the main
// paths, so that no layer names the slot, the action or the device a
// second time: the callee names its own arguments, the caller adds only
// what the callee does not know, and several failures read as one line.
func TestFinalMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		setup              func(t *testing.T, f *flashFixture)
		method, path, body string
		status             int
		want               string
	}{
		{name: "reset of an off slot", method: "POST", path: "/api/v1/slots/3/power", body: `{"action":"reset"}`,
			status: 409, want: "reset slot 3: the slot is off"},
		{name: "no such slot", method: "POST", path: "/api/v1/slots/9/power", body: `{"action":"on"}`,
			status: 404, want: "slot 9: no such slot (the board has slots 1-4)"},
		{name: "hardware fault on power on", setup: func(t *testing.T, f *flashFixture) {
			f.hw.InjectFault(2, errors.New("i2c: nack"))
		}, method: "POST", path: "/api/v1/slots/2/power", body: `{"action":"on"}`,
			status: 500, want: "sim: power on slot 2: i2c: nack"},
		{name: "hardware fault in a cycle", setup: func(t *testing.T, f *flashFixture) {
			f.hw.InjectFault(2, errors.New("i2c: nack"))
		}, method: "POST", path: "/api/v1/slots/2/power", body: `{"action":"cycle"}`,
			status: 500, want: "power cycle: sim: power off slot 2: i2c: nack"},
		{name: "power all with two faults: one line", setup: func(t *testing.T, f *flashFixture) {
			f.hw.InjectFault(2, errors.New("i2c: nack"))
			f.hw.InjectFault(4, errors.New("i2c: timeout"))
		}, method: "POST", path: "/api/v1/power", body: `{"action":"off"}`,
			status: 500, want: "sim: power off slot 2: i2c: nack; sim: power off slot 4: i2c: timeout"},
		{name: "power on a slot being flashed", setup: holdSlotByUpload(1), method: "POST", path: "/api/v1/slots/1/power", body: `{"action":"on"}`,
			status: 409, want: "power on slot 1: the slot is busy: being flashed by job 1"},
		{name: "flash a URL that is not http", method: "POST", path: "/api/v1/slots/1/flash", body: `{"url":"ftp://host/a.img"}`,
			status: 400, want: `image URL "ftp://host/a.img": want an http or https URL`},
		{name: "flash with a bad digest", method: "POST", path: "/api/v1/slots/1/flash", body: `{"url":"https://host/a.img","sha256":"12"}`,
			status: 400, want: `sha256 "12": want 64 hex digits`},
		{name: "unknown job", method: "GET", path: "/api/v1/jobs/42",
			status: 404, want: "job 42: no such job"},
		{name: "wrong password", setup: func(t *testing.T, f *flashFixture) { f.token = "" },
			method: "POST", path: "/api/v1/auth/login", body: `{"username":"admin","password":"nope"}`,
			status: 401, want: "wrong user name or password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFlashFixture(t)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			var eb apitype.ErrorBody
			assert.Equal(t, tt.status, f.do(t, tt.method, tt.path, tt.body, &eb))
			assert.Equal(t, tt.want, eb.Error.Message)
		})
	}
}

// holdSlotByUpload starts an upload to slot whose body stays open until
// the test ends, and waits until the job holds the slot.
func holdSlotByUpload(slot int) func(t *testing.T, f *flashFixture) {
	return func(t *testing.T, f *flashFixture) {
		pr, pw := io.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			req, err := http.NewRequest("POST", f.srv.URL+"/api/v1/slots/"+string(rune('0'+slot))+"/flash", pr)
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "application/octet-stream")
			req.Header.Set("Authorization", "Bearer "+f.token)
			if resp, err := f.srv.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		t.Cleanup(func() {
			pw.Close()
			<-done
		})
		_, err := pw.Write([]byte("first bytes")) // read by the job's write step
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			jobs := f.board.Jobs().List()
			return len(jobs) == 1 && jobs[0].Step == "write"
		}, 10*time.Second, time.Millisecond)
	}
}
