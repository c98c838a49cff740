// Package playground shares code on the Go Playground, the way the
// playground's own "Share" button does: POST the code to {BaseURL}/share and
// get back a snippet ID.
//
// It also holds Fake, a small in-process playground that the tests and the
// local all-in-one bot use instead of the real one.
package playground

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultURL is the playground the bot shares to unless PLAYGROUND_URL says
// otherwise. play.golang.org still serves /share and redirects people to
// go.dev/play, which is where the links point.
const DefaultURL = "https://play.golang.org"

// MaxSnippetSize is the largest snippet the real playground stores (it
// answers 413 above it). Checking it here saves a round trip that cannot
// succeed.
const MaxSnippetSize = 64 << 10

// DefaultTimeout bounds one share when the caller's context has no earlier
// deadline. The playground normally answers in well under a second; waiting
// longer only holds up the chat handler.
const DefaultTimeout = 10 * time.Second

var (
	// ErrTooLarge is returned, without contacting the playground, for code
	// over MaxSnippetSize.
	ErrTooLarge = errors.New("playground: snippet too large")
	// ErrEmpty is returned for code that is only white space.
	ErrEmpty = errors.New("playground: empty snippet")
	// ErrRejected wraps a 3xx or 4xx answer (other than 408 and 429):
	// sending the same code again will not help. Any other error may be
	// temporary.
	ErrRejected = errors.New("playground: share rejected")
)

// RateLimitedError is the error of a share the playground turned away with
// 429; RetryAfter is the wait it asked for (Retry-After, in seconds or as an
// HTTP date; at most an hour), 0 when it named none in the future.
type RateLimitedError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *RateLimitedError) Error() string { return e.Err.Error() }
func (e *RateLimitedError) Unwrap() error { return e.Err }

// Client shares snippets. The zero value shares to DefaultURL.
type Client struct {
	// BaseURL is the playground's address without a trailing slash;
	// empty means DefaultURL.
	BaseURL string
	// HTTP sends the requests; nil means a client with DefaultTimeout.
	HTTP *http.Client
}

// defaultHTTP does not follow redirects: a POST redirected becomes a GET,
// and a playground address that redirects (go.dev/play/share goes to the
// playground's page) is a wrong address, better reported as such.
var defaultHTTP = &http.Client{
	Timeout:       DefaultTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// maxIDLen bounds the answer we accept as a snippet ID; real IDs are about
// ten characters.
const maxIDLen = 64

// Share stores code on the playground and returns the link to it.
//
// The link is https://go.dev/play/p/<id> when BaseURL is the real
// playground (DefaultURL, https://go.dev/play or https://play.golang.org),
// and {BaseURL}/p/<id> for any other playground, such as Fake or a
// self-hosted one, so the link always opens where the snippet lives.
func (c *Client) Share(ctx context.Context, code []byte) (string, error) {
	if len(bytes.TrimSpace(code)) == 0 {
		return "", ErrEmpty
	}
	if len(code) > MaxSnippetSize {
		return "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(code), MaxSnippetSize)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout) // or the caller's deadline, if earlier
	defer cancel()
	shareURL := c.base() + "/share"
	if IsDefault(c.base()) {
		// The real playground's every address shares at one place;
		// go.dev/play/share is not it.
		shareURL = DefaultURL + "/share"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, shareURL, bytes.NewReader(code))
	if err != nil {
		return "", fmt.Errorf("playground: share: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("User-Agent", "gopherbot (+https://github.com/gophers/gopherbot)")
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("playground: share: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return "", fmt.Errorf("playground: share: reading answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200]
		}
		err := fmt.Errorf("playground: share: %s: %q", resp.Status, msg)
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			return "", &RateLimitedError{RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()), Err: err}
		case resp.StatusCode == http.StatusRequestTimeout:
			// The playground, or a proxy before it, gave up waiting for
			// the request: a timeout, which a retry may get past.
		case resp.StatusCode >= 300 && resp.StatusCode < 500:
			err = fmt.Errorf("%w: %s: %q", ErrRejected, resp.Status, msg)
		}
		return "", err
	}
	id := strings.TrimSpace(string(body))
	if !validID(id) {
		return "", fmt.Errorf("playground: share: unexpected answer %q", truncate(id, 80))
	}
	return c.Link(id), nil
}

// Link returns the address at which people open snippet id.
func (c *Client) Link(id string) string {
	base := c.base()
	if IsDefault(base) {
		return "https://go.dev/play/p/" + id
	}
	return base + "/p/" + id
}

func (c *Client) base() string {
	b := strings.TrimRight(c.BaseURL, "/")
	if b == "" {
		return DefaultURL
	}
	return b
}

// IsDefault reports whether base is one of the addresses of the real
// playground.
func IsDefault(base string) bool {
	switch strings.TrimRight(base, "/") {
	case DefaultURL, "http://play.golang.org", "https://go.dev/play":
		return true
	}
	return false
}

// maxRetryAfter bounds the wait of a RateLimitedError: a playground that
// asks for longer gets this, so that a wrong header cannot park the event
// for days.
const maxRetryAfter = time.Hour

// retryAfter reads a Retry-After value, which RFC 9110 (section 10.2.3)
// allows as whole seconds or as an HTTP date, into a wait from now of
// whole seconds, at most maxRetryAfter. It is 0 for a value it cannot
// read and for a date that has passed.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// Digits only; too many of them for a uint64 is a very long wait.
		if n >= uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	// Rounded up: a retry a moment early would meet another 429.
	return min((d + time.Second - 1).Truncate(time.Second), maxRetryAfter)
}

func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
