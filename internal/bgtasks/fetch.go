package bgtasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/gophers/gopherbot/config"
)

// maxBody bounds what we read from Gerrit, a feed or the live status.
const maxBody = 16 << 20

// userAgent names the bot to the services it polls.
const userAgent = "gopherbot (+https://github.com/gophers/gopherbot)"

// errTooBig is returned for an answer over maxBody.
var errTooBig = errors.New("answer too large")

// get fetches rawURL and returns its body when the status is 200.
func (r *Runner) get(ctx context.Context, rawURL, accept string) ([]byte, error) {
	a, err := r.fetch(ctx, rawURL, accept)
	return a.body, err
}

// answer is what fetch got.
type answer struct {
	body []byte
	// url is where the body came from, after redirects: the body's
	// relative links resolve against it.
	url         *url.URL
	contentType string
}

// fetch is get that also returns where the body came from and its type.
func (r *Runner) fetch(ctx context.Context, rawURL, accept string) (answer, error) {
	// Errors name the address without its password (an authenticated
	// Gerrit's https://user:password@host/a) or a key in its query (a
	// private feed's ?token=): they are logged.
	shown := config.RedactURL(rawURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // its URL shows the password
		}
		return answer{}, fmt.Errorf("get %s: %w", shown, err)
	}
	req.Header.Set("User-Agent", userAgent)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := r.httpc.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // its URL shows the query
		}
		return answer{}, fmt.Errorf("get %s: %w", shown, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return answer{}, fmt.Errorf("get %s: %s: %q", shown, resp.Status, snippet)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return answer{}, fmt.Errorf("get %s: %w", shown, err)
	}
	if len(body) > maxBody {
		return answer{}, fmt.Errorf("get %s: %w", shown, errTooBig)
	}
	return answer{body: body, url: resp.Request.URL, contentType: resp.Header.Get("Content-Type")}, nil
}
