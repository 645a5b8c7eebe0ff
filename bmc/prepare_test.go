package bmc_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/bmc/console"
	"github.com/turingpi-oss/bmcd/flasher/firstboot"
	fbt "github.com/turingpi-oss/bmcd/flasher/firstboot/firstboottest"
	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
)

// Small boot disks shaped like the OS images bmcd prepares.
var (
	bookwormLayout = fbt.Layout{DiskMiB: 12, StartMiB: 1, SizeMiB: 8, FATBits: 16, Cluster: 2, Label: "bootfs", Files: map[string]string{
		"config.txt": "arm_64bit=1\n", "cmdline.txt": "console=serial0,115200 root=PARTUUID=1-02 rootwait\n", "issue.txt": "Raspberry Pi reference 2025-05-13\n"}}
	unknownLayout = fbt.Layout{DiskMiB: 12, StartMiB: 1, SizeMiB: 8, FATBits: 16, Cluster: 2, Label: "DATA", Files: map[string]string{
		"readme.txt": "not an OS\n"}}
)

func userKey(t *testing.T) string {
	t.Helper()
	k, err := firstboot.GenerateHostKey(rand.Reader)
	require.NoError(t, err)
	return k.PublicLine() + " user@laptop"
}

func imageBytes(t *testing.T, l fbt.Layout) []byte {
	t.Helper()
	b, err := os.ReadFile(fbt.Build(t, l))
	require.NoError(t, err)
	return b
}

// TestFlashPreparesTheNode: a prepared flash through the simulated USB
// boot writes the image, then the seed (step prepare) to the eMMC file;
// the slot's record names the node and its generated host key, and is in
// the state file.
func TestFlashPreparesTheNode(t *testing.T) {
	t.Parallel()
	img := fbt.Build(t, bookwormLayout)
	r := newUSBRigSize(t, sim.USBMux, false, 16<<20)
	sub := r.board.Subscribe(0)
	defer sub.Close()
	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	key := userKey(t)
	job, done, err := r.board.FlashUpload(2, f, -1, bmc.ImageSpec{Name: "bookworm.img", Verify: true},
		bmc.FlashOptions{Prepare: &bmc.Prepare{Hostname: "node2", AuthorizedKeys: []string{key}}})
	require.NoError(t, err)
	require.Equal(t, "node2", job.Options.Prepare.Hostname)
	require.Equal(t, "pi", job.Options.Prepare.User, "the default user is recorded")
	<-done
	final, err := r.board.Jobs().Get(job.ID)
	require.NoError(t, err)
	require.Equal(t, bmc.JobSucceeded, final.State, final.Error)

	var steps []string
	for len(sub.C) > 0 {
		e := <-sub.C
		if e.Job != nil && e.Job.ID == job.ID && (len(steps) == 0 || steps[len(steps)-1] != e.Job.Step) && e.Job.Step != "" {
			steps = append(steps, e.Job.Step)
		}
	}
	assert.Equal(t, []string{"power-off", "usb-route", "usb-boot-strap", "power-on", "rpiboot", "usb-boot-release", "write", "prepare"}, steps)

	st, err := r.board.Slot(context.Background(), 2)
	require.NoError(t, err)
	rec := st.Prepared
	require.NotNil(t, rec)
	assert.Equal(t, "node2", rec.Hostname)
	assert.Equal(t, "pi", rec.User)
	assert.Equal(t, string(firstboot.RaspiosBookworm), rec.Family)
	assert.Equal(t, "node2.local", st.Address, "mDNS name until the console reports an address")

	plan, seed, err := firstboot.ReadSeedPath(filepath.Join(r.emmc, "slot2.img"))
	require.NoError(t, err)
	assert.Equal(t, firstboot.RaspiosBookworm, plan.Family)
	assert.Equal(t, "node2", seed.Hostname)
	assert.Equal(t, []string{key, r.board.ClusterKey()}, seed.AuthorizedKeys, "the user's key, then bmcd's own")
	assert.Equal(t, rec.HostKey, seed.HostKey.PublicLine(), "the recorded host key is the seeded one")
	assert.Equal(t, rec.Fingerprint, seed.HostKey.Fingerprint())
	assert.True(t, strings.HasPrefix(rec.HostKey, "ssh-ed25519 "), rec.HostKey)
}

// preparedFixture is a flash fixture whose slot 2 has been flashed with
// preparation, and whose consoles are pipes a test writes node output to.
type preparedFixture struct {
	*flashFixture
	rec     *bmc.Prepared
	console map[int]*io.PipeWriter
}

type pipePort struct {
	r    *io.PipeReader
	once sync.Once
}

func (p *pipePort) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipePort) Write(b []byte) (int, error) { return len(b), nil }
func (p *pipePort) Close() error                { p.once.Do(func() { p.r.Close() }); return nil }
func (p *pipePort) SetMode(console.Mode) error  { return nil }

var _ console.Port = (*pipePort)(nil)

func newPreparedFixture(t *testing.T, mod ...func(*bmc.Config)) *preparedFixture {
	t.Helper()
	var mu sync.Mutex
	writers := map[int]*io.PipeWriter{}
	ports := map[string]*pipePort{}
	for _, slot := range []int{1, 2} {
		pr, pw := io.Pipe()
		writers[slot] = pw
		ports["/dev/ttyS"+string(rune('0'+slot))] = &pipePort{r: pr}
	}
	cs, err := bmc.OpenConsoles(bmc.ConsoleConfig{
		Wiring: []hal.ConsolePort{{Slot: 1, Device: "/dev/ttyS1", Baud: 115200}, {Slot: 2, Device: "/dev/ttyS2", Baud: 115200}},
		Open: func(device string, _ console.Mode) (console.Port, error) {
			mu.Lock()
			defer mu.Unlock()
			return ports[device], nil
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, cs.Close()) })
	f := newFlashFixture(t, append([]func(*bmc.Config){func(c *bmc.Config) { c.Consoles = cs }}, mod...)...)
	job, err := f.board.Flash(2, &fakeImage{data: imageBytes(t, bookwormLayout)},
		bmc.FlashOptions{Prepare: &bmc.Prepare{Hostname: "node2", AuthorizedKeys: []string{userKey(t)}}})
	require.NoError(t, err)
	done := waitJob(t, f.board, job.ID)
	require.Equal(t, bmc.JobSucceeded, done.State, done.Error)
	st, err := f.board.Slot(context.Background(), 2)
	require.NoError(t, err)
	require.NotNil(t, st.Prepared)
	return &preparedFixture{flashFixture: f, rec: st.Prepared, console: writers}
}

// TestReflashWithoutPrepareClears: the next flash without preparation
// forgets the node, in the state file too.
func TestReflashWithoutPrepareClears(t *testing.T) {
	t.Parallel()
	f := newPreparedFixture(t)
	state, err := os.ReadFile(filepath.Join(f.dir, "state.json"))
	require.NoError(t, err)
	assert.Contains(t, string(state), f.rec.Fingerprint, "the record is persisted")

	job, err := f.board.Flash(2, &fakeImage{data: []byte("any image at all")}, bmc.FlashOptions{})
	require.NoError(t, err)
	done := waitJob(t, f.board, job.ID)
	require.Equal(t, bmc.JobSucceeded, done.State, done.Error)
	st, err := f.board.Slot(context.Background(), 2)
	require.NoError(t, err)
	assert.Nil(t, st.Prepared)
	assert.Empty(t, st.Address)
	state, err = os.ReadFile(filepath.Join(f.dir, "state.json"))
	require.NoError(t, err)
	assert.NotContains(t, string(state), "prepared")
}

// TestFlashRefusesUnknownOS: an image bmcd cannot prepare fails the job
// at step prepare, naming what it found; the slot is put back and keeps
// no record.
func TestFlashRefusesUnknownOS(t *testing.T) {
	t.Parallel()
	f := newPreparedFixture(t)
	job, err := f.board.Flash(2, &fakeImage{data: imageBytes(t, unknownLayout)},
		bmc.FlashOptions{PowerOn: true, Prepare: &bmc.Prepare{Hostname: "node2", AuthorizedKeys: []string{userKey(t)}}})
	require.NoError(t, err)
	done := waitJob(t, f.board, job.ID)
	require.Equal(t, bmc.JobFailed, done.State)
	assert.Equal(t, "prepare", done.Step)
	assert.Contains(t, done.Error, "unrecognised OS image")
	assert.Contains(t, done.Error, "DATA", "names the label it found")
	assertKnownState(t, f.flashFixture, 2, false)
	st, err := f.board.Slot(context.Background(), 2)
	require.NoError(t, err)
	assert.Nil(t, st.Prepared, "the old node's record went with its image")
}

// TestFlashPrepareInvalid: bad preparation input is ErrInvalid before
// anything is queued or touched.
func TestFlashPrepareInvalid(t *testing.T) {
	t.Parallel()
	key := userKey(t)
	for _, tc := range []struct {
		name string
		p    bmc.Prepare
		want string
	}{
		{"hostname not a DNS label", bmc.Prepare{Hostname: "node_2", AuthorizedKeys: []string{key}}, "not a DNS label"},
		{"hostname too long", bmc.Prepare{Hostname: strings.Repeat("a", 64), AuthorizedKeys: []string{key}}, "not a DNS label"},
		{"private key", bmc.Prepare{Hostname: "node2", AuthorizedKeys: []string{"-----BEGIN OPENSSH PRIVATE KEY-----"}}, "not an OpenSSH public key"},
		{"two keys in one line", bmc.Prepare{Hostname: "node2", AuthorizedKeys: []string{key + "\n" + key}}, "more than one line"},
		{"no key", bmc.Prepare{Hostname: "node2"}, "no SSH public key"},
		{"no hostname", bmc.Prepare{AuthorizedKeys: []string{key}}, "no hostname"},
		{"bad user", bmc.Prepare{Hostname: "node2", User: "Root!", AuthorizedKeys: []string{key}}, "not a valid account name"},
		{"bad password hash", bmc.Prepare{Hostname: "node2", PasswordHash: "hunter2", AuthorizedKeys: []string{key}}, "crypt(3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFlashFixture(t)
			_, err := f.board.Flash(2, &fakeImage{data: []byte("x")}, bmc.FlashOptions{Prepare: &tc.p})
			require.ErrorIs(t, err, bmc.ErrInvalid)
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, f.board.Jobs().List())
			assert.Empty(t, f.hw.Transitions(), "nothing touched")
		})
	}
}

// TestPrepareDefaults: the config's defaults fill a prepared flash, and a
// bad default is refused at start.
func TestPrepareDefaults(t *testing.T) {
	t.Parallel()
	key := userKey(t)
	f := newFlashFixture(t, func(c *bmc.Config) {
		c.Prepare = bmc.PrepareDefaults{AuthorizedKeys: []string{key}, User: "admin", Hostname: "node{slot}", K3sPrep: true, Addresses: map[int]string{3: "10.0.0.13"}}
	})
	job, err := f.board.Flash(3, &fakeImage{data: imageBytes(t, bookwormLayout)}, bmc.FlashOptions{Prepare: &bmc.Prepare{}})
	require.NoError(t, err)
	assert.Equal(t, &bmc.Prepare{Hostname: "node3", User: "admin", AuthorizedKeys: []string{key}, K3sPrep: true}, job.Options.Prepare)
	done := waitJob(t, f.board, job.ID)
	require.Equal(t, bmc.JobSucceeded, done.State, done.Error)
	st, err := f.board.Slot(context.Background(), 3)
	require.NoError(t, err)
	require.NotNil(t, st.Prepared)
	assert.Equal(t, "10.0.0.13", st.Address, "the configured address before the console reports one")

	for _, tc := range []struct {
		name string
		d    bmc.PrepareDefaults
	}{
		{"bad pattern", bmc.PrepareDefaults{Hostname: "node_{slot}"}},
		{"bad key", bmc.PrepareDefaults{AuthorizedKeys: []string{"ssh-rsa nonsense"}}},
		{"address for no slot", bmc.PrepareDefaults{Addresses: map[int]string{9: "10.0.0.9"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := bmc.New(bmc.Config{HW: newSim(t, dir, 4), StateDir: dir, Prepare: tc.d})
			require.Error(t, err)
		})
	}
}

// waitSlot waits for a slot event that satisfies ok.
func waitSlot(t *testing.T, sub *bmc.Subscription, slot int, ok func(bmc.SlotStatus) bool) bmc.SlotStatus {
	t.Helper()
	for e := range sub.C {
		if e.Type == bmc.EventSlot && e.Slot.Slot == slot && ok(e.Slot) {
			return e.Slot
		}
	}
	t.Fatal("event stream ended")
	return bmc.SlotStatus{}
}

// TestMarkerWatch: the marker a prepared node prints on its console gives
// bmcd its addresses; a marker with another host key is a warning on the
// slot and changes no address.
func TestMarkerWatch(t *testing.T) {
	t.Parallel()
	f := newPreparedFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- f.board.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-ran) }()
	sub := f.board.Subscribe(0)
	defer sub.Close()

	// Noise, a line split across writes, a kernel timestamp before the marker.
	write := func(s string) {
		_, err := f.console[2].Write([]byte(s))
		require.NoError(t, err)
	}
	write("Debian GNU/Linux 12 node2 ttyS0\r\n[   12.5] bmcd-firstboot v1 host=node2 ")
	write("key=" + f.rec.Fingerprint + " addr=10.0.0.2,fd00::2\r\n")
	st := waitSlot(t, sub, 2, func(s bmc.SlotStatus) bool { return s.Prepared != nil && len(s.Prepared.Addrs) > 0 })
	assert.Equal(t, []string{"10.0.0.2", "fd00::2"}, st.Prepared.Addrs)
	assert.Equal(t, "10.0.0.2", st.Address)
	assert.Empty(t, st.Prepared.Warning)

	other, err := firstboot.GenerateHostKey(rand.Reader)
	require.NoError(t, err)
	write("bmcd-firstboot v1 host=node2 key=" + other.Fingerprint() + " addr=10.9.9.9\n")
	st = waitSlot(t, sub, 2, func(s bmc.SlotStatus) bool { return s.Prepared != nil && s.Prepared.Warning != "" })
	assert.Contains(t, st.Prepared.Warning, other.Fingerprint())
	assert.Equal(t, []string{"10.0.0.2", "fd00::2"}, st.Prepared.Addrs, "a node with another key does not move the address")

	// A marker on a slot bmcd did not prepare records nothing.
	_, err = f.console[1].Write([]byte("bmcd-firstboot v1 host=node1 key=" + other.Fingerprint() + " addr=10.0.0.11\n"))
	require.NoError(t, err)
	write("bmcd-firstboot v1 host=node2 key=" + f.rec.Fingerprint + " addr=10.0.0.12\n")
	st = waitSlot(t, sub, 2, func(s bmc.SlotStatus) bool { return s.Prepared != nil && s.Prepared.Warning == "" })
	assert.Equal(t, "10.0.0.12", st.Address)

	// A simulated node on loopback names its SSH port.
	write("bmcd-firstboot v1 host=node2 key=" + f.rec.Fingerprint + " addr=127.0.1.2:2202,[fd00::2]:2202\n")
	st = waitSlot(t, sub, 2, func(s bmc.SlotStatus) bool { return s.Prepared != nil && len(s.Prepared.Addrs) == 2 })
	assert.Equal(t, []string{"127.0.1.2:2202", "[fd00::2]:2202"}, st.Prepared.Addrs)
	assert.Equal(t, "127.0.1.2:2202", st.Address)
	s1, err := f.board.Slot(ctx, 1)
	require.NoError(t, err)
	assert.Nil(t, s1.Prepared)
}

// TestFlashURLDetectsBeforeTouching: an image bmcd can read twice (a
// URL) whose OS it cannot prepare fails at step detect, before the slot
// is touched: the slot stays as it was, on.
func TestFlashURLDetectsBeforeTouching(t *testing.T) {
	t.Parallel()
	unknown, bookworm := imageBytes(t, unknownLayout), imageBytes(t, bookwormLayout)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/unknown.img":
			_, _ = w.Write(unknown)
		case "/bookworm.img":
			_, _ = w.Write(bookworm)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	f := newFlashFixture(t, func(c *bmc.Config) { c.Flash.Images = bmc.FlasherImages{} })
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "emmc2"), make([]byte, 16<<20), 0o600))
	_, err := f.board.Power(context.Background(), 2, bmc.On, bmc.PowerOpts{})
	require.NoError(t, err)
	before := len(f.hw.Transitions())
	prep := &bmc.Prepare{Hostname: "node2", AuthorizedKeys: []string{userKey(t)}}

	job, err := f.board.FlashURL(2, srv.URL+"/unknown.img", bmc.ImageSpec{Verify: true}, bmc.FlashOptions{Prepare: prep})
	require.NoError(t, err)
	done := waitJob(t, f.board, job.ID)
	require.Equal(t, bmc.JobFailed, done.State)
	assert.Equal(t, "detect", done.Step)
	assert.Contains(t, done.Error, "unrecognised OS image")
	assert.Len(t, f.hw.Transitions(), before, "the slot was not touched")
	p, err := f.hw.PowerState(context.Background(), 2)
	require.NoError(t, err)
	assert.Equal(t, hal.PowerOn, p)

	job, err = f.board.FlashURL(2, srv.URL+"/bookworm.img", bmc.ImageSpec{Verify: true}, bmc.FlashOptions{Prepare: prep})
	require.NoError(t, err)
	done = waitJob(t, f.board, job.ID)
	require.Equal(t, bmc.JobSucceeded, done.State, done.Error)
	_, seed, err := firstboot.ReadSeedPath(filepath.Join(f.dir, "emmc2"))
	require.NoError(t, err)
	assert.Equal(t, "node2", seed.Hostname)
}
