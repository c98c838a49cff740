package playground

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostsTransport serves requests with in-process handlers, by host: no
// network.
type hostsTransport map[string]http.Handler

func (t hostsTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h, ok := t[r.URL.Host]
	if !ok {
		return nil, fmt.Errorf("no such host %s", r.URL.Host)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// goDev routes as golang.org/x/website does (internal/play): /play/ and
// /play/p/... are the web page, any other /play/... path is a 302 to
// /play/, and the share endpoint is /_/share, proxied to play.golang.org.
func goDev(t *testing.T) http.Handler {
	fake := &Fake{}
	mux := http.NewServeMux()
	mux.HandleFunc("/play/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/play/" && !strings.HasPrefix(r.URL.Path, "/play/p/") {
			http.Redirect(w, r, "/play/", http.StatusFound)
			return
		}
		io.WriteString(w, "<!DOCTYPE html><html><title>Go Playground</title></html>")
	})
	mux.HandleFunc("/_/share", func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/share"
		fake.ServeHTTP(w, r)
	})
	return mux
}

// TestShareGoDevPlay: https://go.dev/play is an address of the real
// playground, but POST https://go.dev/play/share is not its share API (it
// redirects to the page); every address of the real playground shares at
// play.golang.org/share.
func TestShareGoDevPlay(t *testing.T) {
	c := &Client{BaseURL: "https://go.dev/play", HTTP: &http.Client{Transport: hostsTransport{
		"go.dev": goDev(t), "play.golang.org": &Fake{},
	}}}
	link, err := c.Share(t.Context(), []byte(hello))
	if err != nil {
		t.Fatalf("Share with BaseURL https://go.dev/play: %v", err)
	}
	if !strings.HasPrefix(link, "https://go.dev/play/p/") {
		t.Errorf("link = %q", link)
	}
}

type deadlineTransport struct {
	mu       sync.Mutex
	deadline time.Time
}

func (d *deadlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	d.mu.Lock()
	d.deadline, _ = r.Context().Deadline()
	d.mu.Unlock()
	return &http.Response{StatusCode: 200, Status: "200 OK", Body: io.NopCloser(strings.NewReader("abc123")), Request: r}, nil
}

// TestShareTimeoutWithLaterDeadline: DefaultTimeout bounds one share when
// the caller's deadline is later.
func TestShareTimeoutWithLaterDeadline(t *testing.T) {
	tr := &deadlineTransport{}
	c := &Client{BaseURL: "http://pg.test", HTTP: &http.Client{Transport: tr}}
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	start := time.Now()
	if _, err := c.Share(ctx, []byte(hello)); err != nil {
		t.Fatal(err)
	}
	if limit := start.Add(DefaultTimeout + time.Second); tr.deadline.After(limit) {
		t.Errorf("the share may wait until %v (%v from now), more than DefaultTimeout %v", tr.deadline.Format(time.TimeOnly), time.Until(tr.deadline).Round(time.Second), DefaultTimeout)
	}
}
