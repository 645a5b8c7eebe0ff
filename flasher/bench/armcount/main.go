package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// stage is one armstage run: a primitive, or a flash of one encoding.
type stage struct {
	name string
	// args for armstage, before the images.
	args []string
	// ext picks the images' encoding ("" raw).
	ext string
	// flash: a flasher.Flash run, whose regions are the write phase and
	// the read-back (with -verify, which armcount adds for a second run).
	flash bool
	// producer names the no-verify flash whose count stands for the
	// producer goroutine (read, decode, copy into the buffers) of this
	// one's write phase; "" for none.
	producer string
	note     string
}

var stages = []stage{
	{name: "sha256", args: []string{"-stage", "sha256"}, note: "crypto/sha256, 4 MiB writes"},
	{name: "xxhash64", args: []string{"-stage", "xxhash"}, note: "github.com/cespare/xxhash/v2, 4 MiB writes"},
	{name: "bytes.Equal", args: []string{"-stage", "equal"}, note: "direct comparison of two copies"},
	{name: "memmove", args: []string{"-stage", "memmove"}, note: "copy, 4 MiB at a time"},

	{name: "raw", args: flashArgs(), flash: true, producer: "raw", note: "the copy loop: source → buffers → target"},
	{name: "raw --sha256", args: flashArgs("-sha256"), flash: true, producer: "raw --sha256", note: "plus SHA-256 of the source, in the producer"},
	{name: "bmap", ext: "", args: flashArgs("-bmap"), flash: true, producer: "raw", note: "bmap range checksums (SHA-256) on the mapped bytes"},
	{name: "zstd", ext: "zst", args: flashArgs(), flash: true, producer: "zstd"},
	{name: "gzip", ext: "gz", args: flashArgs(), flash: true, producer: "gzip"},
	{name: "bzip2", ext: "bz2", args: flashArgs(), flash: true, producer: "bzip2"},
	{name: "xz (Go)", ext: "xz", args: flashArgs("-xz", "internal"), flash: true, producer: "xz (Go)"},
	{name: "xz (xz process)", ext: "xz", args: flashArgs("-xz", "external"), flash: true, producer: "xz (xz process)",
		note: "bmcd's side only: feeding xz and reading its output; xz's own work is not counted"},
}

// flashArgs returns armstage's arguments for a flash stage; "-bmap" is
// completed with the image's bmap when run.
func flashArgs(extra ...string) []string {
	return append([]string{"-stage", "flash"}, extra...)
}

func main() {
	ipc := flag.Float64("ipc", 0.75, "instructions per cycle assumed for the Cortex-A7")
	mhz := flag.Float64("mhz", 1200, "clock of the Cortex-A7 in MHz")
	mib := flag.Int("mib", 4, "size of the smaller image in MiB (the larger is twice that)")
	dir := flag.String("dir", "", "work directory (default: a temporary one, removed after)")
	only := flag.String("stages", "", "comma-separated stage names to run (default all)")
	jobs := flag.Int("j", 2, "qemu-arm runs at a time")
	flag.Parse()
	if err := run(os.Stdout, *ipc, *mhz, *mib, *dir, *only, *jobs); err != nil {
		fmt.Fprintln(os.Stderr, "armcount:", err)
		os.Exit(1)
	}
}

// result is a stage's cost per image byte.
type result struct {
	write, verify float64 // instructions per byte; verify 0 without
}

func run(w io.Writer, ipc, mhz float64, mib int, dir, only string, jobs int) error {
	if ipc <= 0 || mhz <= 0 || mib <= 0 || jobs <= 0 {
		return errors.New("-ipc, -mhz, -mib and -j must be positive")
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "armcount-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	plugin, err := buildPlugin(dir)
	if err != nil {
		return err
	}
	guest := filepath.Join(dir, "armstage")
	if err := buildGuest("./flasher/bench/armstage", guest); err != nil {
		return err
	}
	ims, err := genImages(dir, mib)
	if err != nil {
		return err
	}

	todo := stages
	if only != "" {
		todo = nil
		for _, s := range stages {
			for _, n := range strings.Split(only, ",") {
				if n == s.name {
					todo = append(todo, s)
				}
			}
		}
	}
	type job struct {
		name string
		args []string
	}
	var list []job
	for _, s := range todo {
		list = append(list, job{s.name, s.args})
		if s.flash {
			list = append(list, job{s.name + "+verify", append(append([]string{}, s.args...), "-verify")})
		}
	}
	results := make(map[string]result)
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for _, j := range list {
		s := todo[0]
		for _, t := range todo {
			if j.name == t.name || j.name == t.name+"+verify" {
				s = t
			}
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := runStage(plugin, guest, s, j.args, ims)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", j.name, err)
				}
				return
			}
			results[j.name] = r
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	report(w, todo, results, ipc, mhz, mib)
	return nil
}

// runStage runs armstage for one stage on both images and returns the
// cost per byte of the difference.
func runStage(plugin, guest string, s stage, args []string, ims [2]image) (result, error) {
	var a []string
	verify, withBmap := false, false
	for _, arg := range args {
		switch arg {
		case "-verify":
			verify = true
		case "-bmap":
			withBmap = true
			continue
		}
		a = append(a, arg)
	}
	if withBmap {
		// One bmap per image: armstage takes one, so run per image.
		return runBmap(plugin, guest, a, ims, verify, s.flash)
	}
	if s.flash {
		a = append(a, "-size", strconv.FormatInt(ims[1].size, 10))
	}
	regs, err := count(plugin, guest, append(a, ims[0].path(s.ext), ims[1].path(s.ext))...)
	if err != nil {
		return result{}, err
	}
	return perByte(regs, s.flash, verify, ims)
}

// runBmap runs a bmap flash per image, each with its own bmap.
func runBmap(plugin, guest string, args []string, ims [2]image, verify, flash bool) (result, error) {
	var regs []region
	for _, im := range ims {
		a := append(append([]string{}, args...), "-bmap", im.path("bmap"), "-size", strconv.FormatInt(ims[1].size, 10), im.path(""))
		r, err := count(plugin, guest, a...)
		if err != nil {
			return result{}, err
		}
		for _, g := range r {
			g.index += len(regs)
			regs = append(regs, g)
		}
	}
	return perByte(regs, flash, verify, ims)
}

// perByte turns the regions of the two images into the cost per byte
// of the bytes the larger one has more. A flash has two regions per
// image, the write phase and the read-back (empty without verify).
func perByte(regs []region, flash, verify bool, ims [2]image) (result, error) {
	per := 1
	if flash {
		per = 2
	}
	if len(regs) != 2*per {
		return result{}, fmt.Errorf("%d regions counted, want %d", len(regs), 2*per)
	}
	d := float64(ims[1].size - ims[0].size)
	diff := func(i int) float64 {
		// The runtime's timer-driven work (progress reports, sysmon)
		// adds a few thousand instructions to either run: a stage that
		// costs nothing per byte can come out a hair below zero.
		return max(0, (float64(regs[per+i].insns)-float64(regs[i].insns))/d)
	}
	r := result{write: diff(0)}
	if flash && verify {
		r.verify = diff(1)
	}
	return r, nil
}

func report(w io.Writer, todo []stage, res map[string]result, ipc, mhz float64, mib int) {
	rate := func(insns float64) string { // MB/s, 10^6 bytes
		if r := mhz * ipc / insns; r < 1000 {
			return fmt.Sprintf("%.0f", r)
		}
		return "> 1000"
	}
	fmt.Fprintf(w, "armv7 (GOARM=7) instructions per image byte, counted under qemu-arm: the %d MiB image's count\n", 2*mib)
	fmt.Fprintf(w, "minus the %d MiB one's, per byte of the difference (repeatable to ±0.01: the scheduler's preemption checks\n", mib)
	fmt.Fprintf(w, "follow the host's clock). MB/s (10^6 bytes): %.0f MHz × IPC %.2f / instructions per byte, one core.\n\n", mhz, ipc)
	fmt.Fprintln(w, "| stage | instructions/byte | MB/s on one core | |")
	fmt.Fprintln(w, "|---|---:|---:|---|")
	for _, s := range todo {
		if s.flash {
			continue
		}
		r := res[s.name]
		fmt.Fprintf(w, "| %s | %.1f | %s | %s |\n", s.name, r.write, rate(r.write), s.note)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "flasher.Flash (GOMAXPROCS=1, every goroutine counted; the source's and the target's copies, the kernel's on the")
	fmt.Fprintln(w, "controller, not counted). Write phase on two cores: the producer (read, decode, copy into the buffers) on one,")
	fmt.Fprintln(w, "the rest (hashing what is written, bmap checksums) on the other; verify: the read-back check. The phases run")
	fmt.Fprintln(w, "one after the other, so the critical path is the write phase's busier core plus the verify phase's.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| flash | write, all | write: producer | write: other core | verify | critical path | MB/s | |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---|")
	for _, s := range todo {
		if !s.flash {
			continue
		}
		for _, v := range []bool{false, true} {
			name := s.name
			if v {
				name += "+verify"
			}
			r, ok := res[name]
			if !ok {
				continue
			}
			producer := r.write
			if p, ok := res[s.producer]; ok && s.producer != "" {
				producer = min(p.write, r.write)
			}
			other := r.write - producer
			path := max(producer, other) + r.verify
			fmt.Fprintf(w, "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %s | %s |\n",
				name, r.write, producer, other, r.verify, path, rate(path), s.note)
		}
	}
}
