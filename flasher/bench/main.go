package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"time"

	"github.com/turingpi-oss/bmcd/flasher"
	"github.com/turingpi-oss/bmcd/flasher/bmap"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench gen|flash [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "flash":
		err = flash(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// gen writes a sparse image of runs of 1–32 MiB: 35 % zeros (holes in
// the file, so bmaptool maps them out), 45 % text-like data that
// compresses about as well as a root file system, 20 % random bytes.
func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	size := fs.Int("size", 768, "image size in MiB")
	out := fs.String("o", "", "output file")
	seed := fs.Uint64("seed", 1, "random seed")
	fs.Parse(args)
	if *out == "" {
		return errors.New("gen: -o is required")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	total := int64(*size) << 20
	if err := f.Truncate(total); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(*seed, 2))
	words := []string{"kernel", "module", "systemd", "libc.so.6", "/usr/lib", "turing", "pi", "eMMC",
		"\x00\x00\x00\x00", "\x7fELF\x02\x01\x01", "config", "0x0000ffff", "firmware", "\n", "  "}
	buf := make([]byte, 1<<20)
	for pos := int64(0); pos < total; {
		n := min(int64(1+r.IntN(32))<<20, total-pos)
		kind := r.IntN(100)
		for done := int64(0); done < n; done += int64(len(buf)) {
			chunk := buf[:min(int64(len(buf)), n-done)]
			switch {
			case kind < 35:
				continue // hole
			case kind < 80:
				for i := 0; i < len(chunk); {
					w := words[r.IntN(len(words))]
					i += copy(chunk[i:], w)
				}
			default:
				for i := range chunk {
					chunk[i] = byte(r.Uint32())
				}
			}
			if _, err := f.WriteAt(chunk, pos+done); err != nil {
				return err
			}
		}
		pos += n
	}
	return f.Close()
}

func flash(args []string) error {
	fs := flag.NewFlagSet("flash", flag.ExitOnError)
	src := fs.String("src", "", "image file")
	dst := fs.String("dst", "", "target block device or file")
	bmapPath := fs.String("bmap", "", "bmap file")
	sum := fs.String("sha256", "", "expected SHA-256 of the image file")
	verify := fs.Bool("verify", false, "read back and verify")
	xz := fs.String("xz", "auto", "xz decoder: auto, external or internal")
	buffers := fs.Int("buffers", 0, "number of buffers (0: default)")
	bufSize := fs.Int("buffer-size", 0, "buffer size in bytes (0: default)")
	debug := fs.Bool("v", false, "log")
	fs.Parse(args)

	opts := flasher.Options{SkipVerify: !*verify, Buffers: *buffers, BufferSize: *bufSize}
	switch *xz {
	case "auto":
	case "external":
		opts.XZ = flasher.XZExternal
	case "internal":
		opts.XZ = flasher.XZInternal
	default:
		return fmt.Errorf("-xz %q: want auto, external or internal", *xz)
	}
	if *debug {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if *bmapPath != "" {
		data, err := os.ReadFile(*bmapPath)
		if err != nil {
			return err
		}
		if opts.Bmap, err = bmap.Parse(data); err != nil {
			return err
		}
	}
	if *sum != "" {
		var err error
		if opts.SHA256, err = hex.DecodeString(*sum); err != nil {
			return fmt.Errorf("-sha256: %w", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	t, err := flasher.OpenTarget(*dst)
	if err != nil {
		return err
	}
	res, err := flasher.Flash(ctx, flasher.FileSource{Path: *src}, t, opts)
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Printf("%.4f %d %d\n", time.Since(start).Seconds(), res.BytesIn, res.BytesWritten)
	return nil
}
