//go:build !linux

package loadgen

import "errors"

// SplitCores needs Linux's CPU affinity; elsewhere it only explains that.
func SplitCores(pid int) (placement string, restore func() error, err error) {
	return "", nil, errors.New("loadgen: -split needs Linux (CPU affinity)")
}

// listensOn needs Linux's /proc; elsewhere no process is known to be Redis.
func listensOn(pid, port int) bool { return false }

// pinnedNote needs Linux's CPU affinity; elsewhere it says nothing.
func pinnedNote(pid int) string { return "" }
