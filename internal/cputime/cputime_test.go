//go:build unix

package cputime

import (
	"testing"
	"time"
)

// Spinning for a while shows up as CPU time.
func TestProcess(t *testing.T) {
	before := Process()
	if before <= 0 {
		t.Fatalf("Process() = %v before any work; want the time used to start the test", before)
	}
	var x uint64
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		x = x*6364136223846793005 + 1
	}
	_ = x
	if after := Process(); after <= before {
		t.Errorf("Process() = %v after 50ms of spinning, %v before; want more", after, before)
	}
}
