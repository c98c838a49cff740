// Package logtest collects the logs of a test's goroutines, so that a test
// can search them for what must (or must not) have been logged, and print
// them when it fails.
package logtest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is an io.Writer safe for concurrent use: give it to zerolog.New.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Contains reports whether s was written.
func (l *Buffer) Contains(s string) bool { return strings.Contains(l.String(), s) }

// WaitFor polls until s was written, failing tb after timeout.
func (l *Buffer) WaitFor(tb testing.TB, s string, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !l.Contains(s) {
		if time.Now().After(deadline) {
			tb.Fatalf("no %q in the logs after %v", s, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
