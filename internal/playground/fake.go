package playground

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fake is an in-process Go Playground that speaks the share protocol: POST
// /share stores the body and answers its ID, GET /p/<id> (or /p/<id>.go)
// shows it. It records every share so tests can check what the bot sent,
// and can be told to fail. The local all-in-one bot points its Client at a
// Fake so that nothing leaves the machine.
//
// Like the real playground, IDs are derived from the content: sharing the
// same code twice gives the same ID, as a redelivered event would.
type Fake struct {
	// URL is the base URL to give a Client, set by NewFake.
	URL string

	srv *http.Server
	ln  net.Listener

	mu       sync.Mutex
	snippets map[string][]byte
	shares   []Share
	status   int // when non-zero, /share answers this status
	retry    string
}

// Share is one recorded call to /share.
type Share struct {
	ID   string // empty when the share failed
	Code []byte
}

// NewFake starts a Fake on a free port of 127.0.0.1. Close stops it.
func NewFake() (*Fake, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("playground: fake: %w", err)
	}
	f := &Fake{URL: "http://" + ln.Addr().String(), ln: ln}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		// Serve returns ErrServerClosed after Close; nothing else to report.
		_ = f.srv.Serve(ln)
	}()
	return f, nil
}

// Close stops the server started by NewFake.
func (f *Fake) Close() error {
	if f.srv == nil {
		return nil
	}
	if err := f.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("playground: fake: %w", err)
	}
	return nil
}

// Fail makes every later share answer status (such as 500 or 413);
// Fail(0) makes shares succeed again.
func (f *Fake) Fail(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.retry = status, ""
}

// RateLimit makes every later share answer 429 with Retry-After in whole
// seconds (none when retryAfter is 0); Fail(0) ends it.
func (f *Fake) RateLimit(retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.retry = http.StatusTooManyRequests, ""
	if retryAfter > 0 {
		f.retry = strconv.Itoa(int(retryAfter.Seconds()))
	}
}

// Shares returns the shares received so far, in order.
func (f *Fake) Shares() []Share {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Share, len(f.shares))
	copy(out, f.shares)
	return out
}

// Snippet returns the code stored under id.
func (f *Fake) Snippet(id string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.snippets[id]
	return b, ok
}

// ServeHTTP serves the playground's share protocol, so a Fake can also be
// mounted on another server or an httptest.Server.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/share":
		f.share(w, r)
	case strings.HasPrefix(r.URL.Path, "/p/") && r.Method == http.MethodGet:
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/p/"), ".go")
		code, ok := f.Snippet(id)
		if !ok {
			http.Error(w, "Snippet not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(code)
	default:
		http.NotFound(w, r)
	}
}

func (f *Fake) share(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	code, err := io.ReadAll(io.LimitReader(r.Body, MaxSnippetSize+1))
	if err != nil {
		http.Error(w, "Cannot read the body", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status != 0 {
		f.shares = append(f.shares, Share{Code: code})
		if f.retry != "" {
			w.Header().Set("Retry-After", f.retry)
		}
		http.Error(w, http.StatusText(f.status), f.status)
		return
	}
	if len(code) > MaxSnippetSize {
		f.shares = append(f.shares, Share{Code: code})
		http.Error(w, "Snippet is too large", http.StatusRequestEntityTooLarge)
		return
	}
	sum := sha256.Sum256(code)
	id := base64.RawURLEncoding.EncodeToString(sum[:])[:11]
	if f.snippets == nil {
		f.snippets = make(map[string][]byte)
	}
	f.snippets[id] = code
	f.shares = append(f.shares, Share{ID: id, Code: code})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, id)
}
