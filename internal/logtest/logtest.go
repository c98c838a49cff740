// Package logtest collects the logs of a test's goroutines, so that a test
// can search them for what must (or must not) have been logged, and print
// them when it fails.
package logtest

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// DuplicateKeys lists, as "line N: key", every key that appears twice in
// one JSON object of the log lines written so far (zerolog appends a field
// again when a child logger repeats a key, and log stores keep only one of
// them). A line that is not JSON is listed as such.
func (l *Buffer) DuplicateKeys() []string {
	var out []string
	for i, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dups, err := duplicateKeys(dec)
		if err != nil {
			out = append(out, fmt.Sprintf("line %d: not JSON: %v", i+1, err))
		}
		for _, k := range dups {
			out = append(out, fmt.Sprintf("line %d: %s", i+1, k))
		}
	}
	return out
}

// duplicateKeys reads one JSON value from dec and returns the keys repeated
// within any object in it.
func duplicateKeys(dec *json.Decoder) ([]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	var dups []string
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return dups, err
			}
			key, _ := k.(string)
			if seen[key] {
				dups = append(dups, key)
			}
			seen[key] = true
			d, err := duplicateKeys(dec)
			dups = append(dups, d...)
			if err != nil {
				return dups, err
			}
		}
		_, err = dec.Token() // '}'
	case json.Delim('['):
		for dec.More() {
			d, err := duplicateKeys(dec)
			dups = append(dups, d...)
			if err != nil {
				return dups, err
			}
		}
		_, err = dec.Token() // ']'
	}
	return dups, err
}

// CheckKeys fails tb for every key repeated within one log line.
func (l *Buffer) CheckKeys(tb testing.TB) {
	tb.Helper()
	for _, d := range l.DuplicateKeys() {
		tb.Errorf("log key repeated: %s", d)
	}
}
