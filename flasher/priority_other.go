//go:build !linux

package flasher

import "errors"

var errNoIdlePolicy = errors.New("the idle scheduling policy is Linux's")

func idleThread() error { return errNoIdlePolicy }

func threadIsIdle() (bool, error) { return false, errNoIdlePolicy }

func atNormalPriority(fn func()) { fn() }
