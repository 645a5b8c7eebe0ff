package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

func newFlash(e *env) *cobra.Command {
	var (
		slot            int
		sum, bmapPath   string
		imageURL        string
		noVerify, power bool
		prep            apitype.Prepare
		keyArgs         []string
	)
	cmd := &cobra.Command{
		Use:   "flash --slot N (IMAGE | --url URL) [--sha256 HEX] [--bmap FILE] [--no-verify] [--power-on] [--hostname NAME --ssh-key FILE [--user USER] [--password-hash HASH] [--k3s-prep]]",
		Short: "Write an OS image to a slot's eMMC",
		Long: "Write an OS image (raw, .gz, .xz, .zst or .bz2; the format is found from its\n" +
			"content) to the eMMC of the module in a slot, with live progress. The image is\n" +
			"streamed to bmcd, or bmcd downloads it itself with --url. The slot ends powered\n" +
			"off, or on with --power-on after a successful flash. Exits non-zero if the job fails.\n\n" +
			"With --hostname, --ssh-key, --user, --password-hash, --k3s-prep or --prepare, bmcd\n" +
			"prepares the node for its first boot once the image is written: hostname, user,\n" +
			"authorized keys and an SSH host key bmcd generates and records (see\n" +
			"`bmcctl node known-hosts`). The board's config fills fields left out. Images bmcd\n" +
			"cannot prepare fail the job at step prepare.",
		Example: "  bmcctl flash --slot 1 ubuntu.img.xz\n  bmcctl flash --slot 2 --url https://example.com/os.img.zst --sha256 ab12...\n" +
			"  bmcctl flash --slot 2 raspios.img.xz --hostname node2 --ssh-key ~/.ssh/id_ed25519.pub",
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if slot == 0 {
				return usagef("flash: --slot is required")
			}
			if (len(args) == 1) == (imageURL != "") {
				return usagef("flash: give an IMAGE file or --url, not both and not neither")
			}
			if sum != "" {
				if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
					return usagef("flash: --sha256 %q: want 64 hex digits", sum)
				}
			}
			keys, err := readSSHKeys(keyArgs)
			if err != nil {
				return err
			}
			prep.SSHKeys = keys
			c, err := e.newClient()
			if err != nil {
				return err
			}
			var job apitype.Job
			if imageURL != "" {
				verify := !noVerify
				job, err = c.FlashURL(cmd.Context(), slot, apitype.FlashURLRequest{URL: imageURL, SHA256: sum, Verify: &verify, PowerOn: power, Prepare: prep})
				if err == nil {
					job, err = e.follow(cmd.Context(), c, job)
				}
			} else {
				job, err = e.upload(cmd.Context(), c, slot, args[0], bmapPath, client.FlashOptions{SHA256: sum, NoVerify: noVerify, PowerOn: power, Prepare: prep})
			}
			if err != nil {
				return e.explain(c, err)
			}
			return e.reportJob(job)
		},
	}
	cmd.Flags().IntVar(&slot, "slot", 0, "slot to flash")
	_ = cmd.RegisterFlagCompletionFunc("slot", e.completeSlotFlag)
	cmd.Flags().StringVar(&imageURL, "url", "", "http(s) URL bmcd downloads the image from")
	cmd.Flags().StringVar(&sum, "sha256", "", "expected SHA-256 of the image file as given")
	cmd.Flags().StringVar(&bmapPath, "bmap", "", "bmaptool block map of the image: write only mapped blocks")
	cmd.Flags().BoolVar(&noVerify, "no-verify", false, "skip reading the written image back")
	cmd.Flags().BoolVar(&power, "power-on", false, "switch the slot on after a successful flash")
	cmd.Flags().BoolVar(&prep.Prepare, "prepare", false, "prepare the node for its first boot with the board's configured defaults")
	cmd.Flags().StringVar(&prep.Hostname, "hostname", "", "prepare the node: its hostname (a DNS label)")
	cmd.Flags().StringArrayVar(&keyArgs, "ssh-key", nil, "prepare the node: an OpenSSH public key file (or key line) to authorize; repeatable")
	cmd.Flags().StringVar(&prep.User, "user", "", "prepare the node: the login user (default pi)")
	cmd.Flags().StringVar(&prep.PasswordHash, "password-hash", "", "prepare the node: a crypt(3) hash for the user's password (default: locked)")
	cmd.Flags().BoolVar(&prep.K3sPrep, "k3s-prep", false, "prepare the node for k3s: memory cgroup, time sync")
	return cmd
}

// readSSHKeys reads the public keys --ssh-key names: a key line as it is,
// else a file of key lines (blank lines and comments skipped).
func readSSHKeys(args []string) ([]string, error) {
	var keys []string
	for _, a := range args {
		if isKeyLine(a) {
			keys = append(keys, strings.TrimSpace(a))
			continue
		}
		path := a
		if rest, ok := strings.CutPrefix(a, "~/"); ok {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, err
			}
			path = filepath.Join(home, rest)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, usagef("flash: --ssh-key: %v", err)
		}
		if strings.Contains(string(data), "PRIVATE KEY") {
			return nil, usagef("flash: --ssh-key %s is a private key; give the public one (.pub)", a)
		}
		n := len(keys)
		for line := range strings.Lines(string(data)) {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				keys = append(keys, line)
			}
		}
		if len(keys) == n {
			return nil, usagef("flash: --ssh-key %s holds no key", a)
		}
	}
	return keys, nil
}

// isKeyLine tells a key line from a file name.
func isKeyLine(s string) bool {
	for _, p := range []string{"ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"} {
		if strings.HasPrefix(s, p) && strings.Contains(s, " ") {
			return true
		}
	}
	return false
}

// upload streams a local image with a progress line.
func (e *env) upload(ctx context.Context, c *client.Client, slot int, path, bmapPath string, opts client.FlashOptions) (apitype.Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return apitype.Job{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return apitype.Job{}, err
	}
	if bmapPath != "" {
		if opts.Bmap, err = os.ReadFile(bmapPath); err != nil {
			return apitype.Job{}, err
		}
	}
	opts.Name = filepath.Base(path)
	p := e.newProgress(slot, fi.Size())
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go p.watch(ctx, c)
	go p.render(ctx)
	job, err := c.FlashUpload(ctx, slot, &countingReader{r: f, n: &p.sent}, fi.Size(), opts)
	stop()
	p.finish()
	return job, err
}

// follow waits for a job bmcd runs on its own (URL downloads).
func (e *env) follow(ctx context.Context, c *client.Client, job apitype.Job) (apitype.Job, error) {
	p := e.newProgress(job.Slot, -1)
	defer p.finish()
	for !final(job.State) {
		p.set(job)
		p.draw()
		select {
		case <-ctx.Done():
			return job, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		var err error
		if job, err = c.Job(ctx, job.ID); err != nil {
			return job, err
		}
	}
	return job, nil
}

func final(state string) bool { return state != "queued" && state != "running" }

// reportJob prints the outcome; a job that did not succeed is an error.
func (e *env) reportJob(job apitype.Job) error {
	if e.output == "json" {
		if err := printJSON(e.stdout, job); err != nil {
			return err
		}
	}
	if job.State != "succeeded" {
		msg := fmt.Sprintf("flash job %d on slot %d %s", job.ID, job.Slot, job.State)
		if job.Step != "" {
			msg += " at step " + job.Step
		}
		if job.Error != "" {
			msg += ": " + job.Error
		}
		if job.CleanupError != "" {
			msg += " (and putting the slot back failed: " + job.CleanupError + ")"
		}
		return fmt.Errorf("%s", msg)
	}
	if e.output != "json" {
		state := "left off"
		if job.PowerOn {
			state = "powered on"
		}
		fmt.Fprintf(e.stdout, "slot %d flashed (job %d); slot %s\n", job.Slot, job.ID, state)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress draws one status line on stderr: what bmcd reports of the
// job (step, phase, bytes written) and, for uploads, what was sent.
type progress struct {
	e     *env
	slot  int
	total int64
	sent  atomic.Int64
	tty   bool
	start time.Time

	mu  sync.Mutex
	job apitype.Job
}

func (e *env) newProgress(slot int, total int64) *progress {
	tty := false
	if f, ok := e.stderr.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{e: e, slot: slot, total: total, tty: tty, start: time.Now()}
}

func (p *progress) set(j apitype.Job) {
	p.mu.Lock()
	p.job = j
	p.mu.Unlock()
}

// watch follows the event stream for this slot's job.
func (p *progress) watch(ctx context.Context, c *client.Client) {
	_ = c.Events(ctx, func(ev apitype.Event) error {
		if ev.Job != nil && ev.Job.Slot == p.slot && !final(ev.Job.State) {
			p.set(*ev.Job)
		}
		return nil
	})
}

func (p *progress) render(ctx context.Context) {
	interval := 200 * time.Millisecond
	if !p.tty {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.draw()
		}
	}
}

func (p *progress) draw() {
	if p.e.output == "json" {
		return
	}
	p.mu.Lock()
	j := p.job
	p.mu.Unlock()
	step := j.Step
	if step == "" {
		step = "queued"
	}
	if j.Progress.Phase != "" && step == "write" {
		step = j.Progress.Phase
	}
	line := fmt.Sprintf("slot %d: %-8s", p.slot, step)
	sent := p.sent.Load()
	elapsed := time.Since(p.start).Seconds()
	switch {
	case j.Progress.Phase == "verify" && j.Progress.Total > 0:
		// The upload is over; what is left is reading the image back.
		line += meter(j.Progress.BytesVerified, j.Progress)
	case j.Step != "write":
		// Queued, or the module is still being switched into USB boot
		// mode: the upload waits, so its rate says nothing.
		line += fmt.Sprintf(" %s", time.Since(p.start).Round(time.Second))
	case p.total > 0:
		pct := float64(sent) * 100 / float64(p.total)
		rate := float64(sent) / max(elapsed, 0.001)
		eta := "-"
		if rate > 0 && sent < p.total {
			eta = time.Duration(float64(p.total-sent) / rate * float64(time.Second)).Round(time.Second).String()
		}
		line += fmt.Sprintf(" %s %5.1f%% %s/%s %s/s ETA %s", bar(pct), pct, size(sent), size(p.total), size(int64(rate)), eta)
	case j.Progress.Phase == "write" && j.Progress.Total > 0:
		// bmcd downloads the image and knows its size.
		line += meter(j.Progress.BytesIn, j.Progress)
	case j.Progress.BytesWritten > 0:
		line += fmt.Sprintf(" %s written %s/s", size(j.Progress.BytesWritten), size(int64(j.Progress.Rate)))
	}
	if p.tty {
		fmt.Fprintf(p.e.stderr, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.e.stderr, line)
	}
}

// meter shows done of the phase's total with bmcd's rate and ETA.
func meter(done int64, jp apitype.JobProgress) string {
	pct := float64(done) * 100 / float64(jp.Total)
	return fmt.Sprintf(" %s %5.1f%% %s/%s %s/s ETA %s", bar(pct), pct, size(done), size(jp.Total),
		size(int64(jp.Rate)), time.Duration(jp.ETASeconds*float64(time.Second)).Round(time.Second))
}

func (p *progress) finish() {
	if p.tty && p.e.output != "json" {
		p.draw()
		fmt.Fprintln(p.e.stderr)
	}
}

func bar(pct float64) string {
	const width = 20
	n := int(pct / 100 * width)
	n = min(max(n, 0), width)
	b := make([]byte, width)
	for i := range b {
		b[i] = '.'
		if i < n {
			b[i] = '#'
		}
	}
	return "[" + string(b) + "]"
}

// size formats a byte count in binary units.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
