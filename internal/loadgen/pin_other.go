//go:build !linux

package loadgen

import "errors"

// SplitCores needs Linux's CPU affinity; elsewhere it only explains that.
func SplitCores(pid int) (placement string, restore func() error, err error) {
	return "", nil, errors.New("loadgen: -split needs Linux (CPU affinity)")
}
