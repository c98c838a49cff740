package playground

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const hello = "package main\n\nfunc main() { println(\"hi\") }\n"

func newFake(t *testing.T) *Fake {
	t.Helper()
	f, err := NewFake()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestShareFake(t *testing.T) {
	f := newFake(t)
	c := &Client{BaseURL: f.URL + "/"} // a trailing slash is forgiven
	link, err := c.Share(t.Context(), []byte(hello))
	if err != nil {
		t.Fatal(err)
	}
	shares := f.Shares()
	if len(shares) != 1 {
		t.Fatalf("fake got %d shares, want 1", len(shares))
	}
	if want := f.URL + "/p/" + shares[0].ID; link != want {
		t.Errorf("link = %q, want %q", link, want)
	}
	if diff := cmp.Diff(hello, string(shares[0].Code)); diff != "" {
		t.Errorf("shared code (-want +got):\n%s", diff)
	}

	// The link opens the snippet.
	resp, err := http.Get(link + ".go")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != hello {
		t.Errorf("GET %s = %d %q, want 200 and the code", link, resp.StatusCode, body)
	}

	// Same code, same ID: a redelivered event shares to the same link.
	again, err := c.Share(t.Context(), []byte(hello))
	if err != nil {
		t.Fatal(err)
	}
	if again != link {
		t.Errorf("second share = %q, want %q", again, link)
	}
	other, err := c.Share(t.Context(), []byte(hello+"// changed\n"))
	if err != nil {
		t.Fatal(err)
	}
	if other == link {
		t.Errorf("different code got the same link %q", link)
	}
}

func TestShareRequest(t *testing.T) {
	var got struct {
		method, path, ctype string
		body                []byte
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.ctype = r.Method, r.URL.Path, r.Header.Get("Content-Type")
		got.body, _ = io.ReadAll(r.Body)
		io.WriteString(w, "abc_DEF-12\n")
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, HTTP: srv.Client()}
	link, err := c.Share(t.Context(), []byte(hello))
	if err != nil {
		t.Fatal(err)
	}
	if want := srv.URL + "/p/abc_DEF-12"; link != want {
		t.Errorf("link = %q, want %q", link, want)
	}
	if got.method != http.MethodPost || got.path != "/share" || !strings.HasPrefix(got.ctype, "text/plain") || string(got.body) != hello {
		t.Errorf("request = %s %s %q %q, want POST /share text/plain and the code", got.method, got.path, got.ctype, got.body)
	}
}

func TestLink(t *testing.T) {
	for _, tt := range []struct{ base, want string }{
		{"", "https://go.dev/play/p/X1"},
		{DefaultURL, "https://go.dev/play/p/X1"},
		{"https://play.golang.org/", "https://go.dev/play/p/X1"},
		{"https://go.dev/play", "https://go.dev/play/p/X1"},
		{"http://127.0.0.1:9999", "http://127.0.0.1:9999/p/X1"},
		{"https://play.example.com/", "https://play.example.com/p/X1"},
	} {
		c := &Client{BaseURL: tt.base}
		if got := c.Link("X1"); got != tt.want {
			t.Errorf("Client{BaseURL: %q}.Link = %q, want %q", tt.base, got, tt.want)
		}
	}
}

func TestShareErrors(t *testing.T) {
	f := newFake(t)
	c := &Client{BaseURL: f.URL}

	if _, err := c.Share(t.Context(), []byte(" \n\t")); !errors.Is(err, ErrEmpty) {
		t.Errorf("blank code: err = %v, want ErrEmpty", err)
	}
	big := bytes.Repeat([]byte("x"), MaxSnippetSize+1)
	if _, err := c.Share(t.Context(), big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("large code: err = %v, want ErrTooLarge", err)
	}
	if n := len(f.Shares()); n != 0 {
		t.Errorf("the fake got %d shares for code the client should refuse itself", n)
	}

	for _, tt := range []struct {
		status   int
		rejected bool
	}{
		{http.StatusInternalServerError, false},
		{http.StatusBadGateway, false},
		{http.StatusTooManyRequests, false},
		// The playground, or a proxy before it, gave up waiting for the
		// request: sending it again may well work.
		{http.StatusRequestTimeout, false},
		{http.StatusRequestEntityTooLarge, true},
		{http.StatusBadRequest, true},
	} {
		f.Fail(tt.status)
		_, err := c.Share(t.Context(), []byte(hello))
		if err == nil {
			t.Errorf("status %d: no error", tt.status)
			continue
		}
		if errors.Is(err, ErrRejected) != tt.rejected {
			t.Errorf("status %d: err = %v; errors.Is(err, ErrRejected) = %v, want %v", tt.status, err, !tt.rejected, tt.rejected)
		}
	}
	f.Fail(0)
	if _, err := c.Share(t.Context(), []byte(hello)); err != nil {
		t.Errorf("after Fail(0): %v", err)
	}
}

func TestShareBadAnswer(t *testing.T) {
	for _, answer := range []string{"", "<html>oops</html>", strings.Repeat("a", 100)} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, answer)
		}))
		c := &Client{BaseURL: srv.URL}
		link, err := c.Share(t.Context(), []byte(hello))
		srv.Close()
		if err == nil {
			t.Errorf("answer %q: link %q, want an error", answer, link)
		}
	}
}

func TestShareTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := &Client{BaseURL: srv.URL}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Share(ctx, []byte(hello)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestShareUnreachable(t *testing.T) {
	f := newFake(t)
	url := f.URL
	f.Close()
	c := &Client{BaseURL: url}
	if _, err := c.Share(t.Context(), []byte(hello)); err == nil || errors.Is(err, ErrRejected) {
		t.Errorf("err = %v, want a temporary error", err)
	}
}

func TestFakeRoutes(t *testing.T) {
	f := newFake(t)
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/share", http.StatusMethodNotAllowed},
		{http.MethodGet, "/p/nope", http.StatusNotFound},
		{http.MethodGet, "/elsewhere", http.StatusNotFound},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), tt.method, f.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
	}
	if n := len(f.Shares()); n != 0 {
		t.Errorf("%d shares recorded for requests that were not shares", n)
	}
}

// TestShareRetryAfter: a 429's Retry-After may be seconds or an HTTP date
// (RFC 9110, section 10.2.3); either becomes the wait the error carries.
func TestShareRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		name     string
		header   func() string
		min, max time.Duration
	}{
		{"seconds", func() string { return "7" }, 7 * time.Second, 7 * time.Second},
		{"none", func() string { return "" }, 0, 0},
		{"HTTP date", func() string { return time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat) }, 118 * time.Second, 120 * time.Second},
		{"HTTP date in the past", func() string { return time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat) }, 0, 0},
		{"too long", func() string { return "99999999999999999999" }, time.Hour, time.Hour},
		{"nonsense", func() string { return "soon" }, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if v := tt.header(); v != "" {
					w.Header().Set("Retry-After", v)
				}
				http.Error(w, "slow down", http.StatusTooManyRequests)
			}))
			defer srv.Close()
			c := &Client{BaseURL: srv.URL}
			_, err := c.Share(t.Context(), []byte(hello))
			rl, ok := errors.AsType[*RateLimitedError](err)
			if !ok {
				t.Fatalf("err = %v, want a *RateLimitedError", err)
			}
			if rl.RetryAfter < tt.min || rl.RetryAfter > tt.max {
				t.Errorf("RetryAfter = %v, want between %v and %v", rl.RetryAfter, tt.min, tt.max)
			}
		})
	}
}

func TestRetryAfterValue(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 400e6, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{" 30 ", 30 * time.Second},
		{"3600", time.Hour},
		{"86400", time.Hour},
		{"-5", 0},
		{"1.5", 0},
		{"Sat, 01 Mar 2025 12:01:00 GMT", 60 * time.Second}, // 59.6s, rounded up
		{"Saturday, 01-Mar-25 12:00:10 GMT", 10 * time.Second},
		{"Sat Mar  1 12:00:05 2025", 5 * time.Second},
		{"Sat, 01 Mar 2025 12:00:00 GMT", 0},
		{"Sat, 01 Mar 2025 11:00:00 GMT", 0},
		{"Sun, 02 Mar 2025 12:00:00 GMT", time.Hour},
		{"tomorrow", 0},
	} {
		if got := retryAfter(tt.v, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
