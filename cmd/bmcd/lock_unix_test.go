//go:build unix

package main

import (
	"context"
	"os/exec"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// A process that starts children (bmcd runs xz, ssh, mkfs) must be able to
// take its lock again right after giving it up: a child between fork and
// exec still shares the lock's open file description.
func TestLockStateDirReleasedWhileForking(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("true"); err != nil {
		t.Skip("no true(1) to fork")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_ = exec.CommandContext(ctx, "true").Run()
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()

	dir := t.TempDir()
	for i := range 300 {
		unlock, err := lockStateDir(dir)
		require.NoError(t, err, "round %d", i)
		require.NoError(t, unlock(), "round %d", i)
	}
}
