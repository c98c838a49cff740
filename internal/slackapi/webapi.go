package slackapi

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// errNotJSON is wrapped when an answer with a 200 is not JSON: a proxy's or
// a load balancer's page, not Slack's answer.
var errNotJSON = errors.New("the answer is not JSON")

// webAPI is the HTTP client slack-go calls the Web API with. It reads each
// answer before slack-go does, to log Slack's warnings (which slack-go
// drops), to name an answer that is not JSON for what it is, and to turn a
// 429's Retry-After that is not a whole number of seconds into one slack-go
// reads (it would fail on it, and the post would look as if it might have
// been made).
type webAPI struct{ c *Client }

func (w webAPI) Do(req *http.Request) (*http.Response, error) {
	resp, err := w.c.http.Do(req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		fixRetryAfter(resp.Header, time.Now())
		return resp, nil
	case http.StatusOK:
	default:
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		// Cut off mid-way: Slack had the request.
		return nil, err
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		return nil, fmt.Errorf("%w (%s, %d bytes)", errNotJSON, cmp.Or(ct, "no Content-Type"), len(body))
	}
	if bytes.Contains(body, []byte(`warning`)) {
		w.c.logWarnings(path.Base(req.URL.Path), body)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// logWarnings logs the warning and response_metadata.warnings of an answer
// (Slack's own way of saying that it did the call, but not quite as asked:
// message_truncated, missing_charset, superfluous_charset, ...).
func (c *Client) logWarnings(method string, body []byte) {
	v, err := fastjson.ParseBytes(body)
	if err != nil {
		return // slack-go will say why
	}
	var warnings, messages []string
	add := func(w string) {
		if w = strings.TrimSpace(w); w != "" && !slices.Contains(warnings, w) {
			warnings = append(warnings, w)
		}
	}
	// Slack names each warning twice: in warning (comma-separated when
	// there are several) and in response_metadata.warnings.
	for w := range strings.SplitSeq(string(v.GetStringBytes("warning")), ",") {
		add(w)
	}
	for _, w := range v.GetArray("response_metadata", "warnings") {
		add(string(w.GetStringBytes()))
	}
	for _, m := range v.GetArray("response_metadata", "messages") {
		if s := m.GetStringBytes(); len(s) > 0 {
			messages = append(messages, string(s))
		}
	}
	if len(warnings) == 0 {
		return
	}
	ev, msg := c.log.Warn(), "Slack did the call with a warning"
	if slices.Contains(warnings, "message_truncated") {
		// Slack posted the text cut at 40,000 characters: the rest is lost.
		ev, msg = c.log.Error(), "Slack posted the message cut short: its text was too long"
	}
	ev = ev.Str("method", method).Strs("warnings", warnings)
	if len(messages) > 0 {
		ev = ev.Strs("messages", messages)
	}
	ev.Msg(msg)
}

// fixRetryAfter makes h's Retry-After whole seconds, at least one (a
// second is Slack's shortest window: trying again at once would only meet
// the limit again), or removes it when it says nothing usable (a 429
// without it waits a second).
func fixRetryAfter(h http.Header, now time.Time) {
	v := h.Get("Retry-After")
	if v == "" {
		return
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 1 {
		return
	}
	var secs float64
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && !math.IsInf(f, 0) {
		secs = f
	} else if t, err := http.ParseTime(v); err == nil {
		secs = t.Sub(now).Seconds()
	} else {
		h.Del("Retry-After")
		return
	}
	h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(min(max(secs, 1), 3600))), 10))
}
