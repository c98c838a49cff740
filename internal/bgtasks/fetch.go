package bgtasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxBody bounds what we read from Gerrit, a feed or the live status.
const maxBody = 16 << 20

// userAgent names the bot to the services it polls.
const userAgent = "gopherbot (+https://github.com/gophers/gopherbot)"

// errTooBig is returned for an answer over maxBody.
var errTooBig = errors.New("answer too large")

// get fetches url and returns its body when the status is 200.
func (r *Runner) get(ctx context.Context, url, accept string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", url, err)
	}
	req.Header.Set("User-Agent", userAgent)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := r.httpc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return nil, fmt.Errorf("get %s: %s: %q", url, resp.Status, snippet)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", url, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("get %s: %w", url, errTooBig)
	}
	return body, nil
}
