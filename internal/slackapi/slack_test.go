package slackapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/slackfake"
	"github.com/gophers/gopherbot/workqueue"
)

// These tests hold the client to what Slack really does, where the fake
// cannot say it: answers written by hand in a small server.

// scripted is a Web API that answers each call with the next of its
// answers (the last one again when they run out), and counts the calls.
type scripted struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	calls   []time.Time
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := min(len(s.calls), len(s.answers)-1)
	s.calls = append(s.calls, time.Now())
	answer := s.answers[i]
	s.mu.Unlock()
	answer(w)
}

func (s *scripted) n() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

func answerJSON(status int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

const postOK = `{"ok":true,"channel":"C1","ts":"1712345678.000200","message":{"text":"x","ts":"1712345678.000200"}}`

func scriptedClient(t *testing.T, log *logtest.Buffer, answers ...func(w http.ResponseWriter)) (*Client, *scripted) {
	t.Helper()
	s := &scripted{answers: answers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := New("xoxb-secret-token", srv.URL+"/api/", nil, zerolog.New(log), WithBackoff(10*time.Millisecond, 40*time.Millisecond))
	return c, s
}

// A token revoked or deactivated while the bot runs fails every call, not
// only auth.test: the error says the token was rejected, so that callers
// can stop instead of dead-lettering event after event, and the log says
// it at error level.
func TestTokenRejectedOnAnyCall(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t, WithPostInterval(0))
	ctx := ctxT(t, 10*time.Second)
	general := e.ws.Channels["general"]
	for _, code := range []string{"token_revoked", "account_inactive", "invalid_auth"} {
		e.fake.Reset()
		e.fake.Inject("chat.postMessage", slackfake.Fault{Error: code})
		_, err := c.PostMessage(ctx, general, "x", PostOptions{})
		if !errors.Is(err, ErrTokenRejected) || !errors.Is(err, workqueue.ErrPermanent) || Code(err) != code {
			t.Errorf("%s: err = %v, want ErrTokenRejected, permanent, %s", code, err, code)
		}
		if n := len(e.fake.Calls()); n != 1 {
			t.Errorf("%s: %d calls, want 1", code, n)
		}
	}
	if !e.log.Contains(`"level":"error"`) || !e.log.Contains("SLACK_BOT_TOKEN") {
		t.Errorf("a rejected token is not logged as an error naming SLACK_BOT_TOKEN:\n%s", e.log.String())
	}
	if e.log.Contains(e.fake.Token()) {
		t.Errorf("the token is in the log")
	}
	// Other permanent errors are not taken for a rejected token.
	if _, err := c.UserInfo(ctx, "U404"); errors.Is(err, ErrTokenRejected) {
		t.Errorf("user_not_found: %v wraps ErrTokenRejected", err)
	}
}

// Slack's warnings (a truncated message, a missing charset, a deprecated
// argument) come with ok true; they are logged with the method, a text
// Slack cut short (over 40,000 characters) as an error.
func TestWarningsLogged(t *testing.T) {
	t.Parallel()
	log := &logtest.Buffer{}
	c, _ := scriptedClient(t, log, answerJSON(200,
		`{"ok":true,"channel":"C1","ts":"1712345678.000200","warning":"missing_charset",`+
			`"response_metadata":{"warnings":["message_truncated"],"messages":["[WARN] Your message was truncated"]}}`))
	ts, err := c.PostMessage(ctxT(t, 5*time.Second), "C1", "x", PostOptions{})
	if err != nil || ts != "1712345678.000200" {
		t.Fatalf("PostMessage = %q, %v", ts, err)
	}
	for _, want := range []string{`"method":"chat.postMessage"`, "missing_charset", "message_truncated", `"level":"error"`} {
		if !log.Contains(want) {
			t.Errorf("no %s in the log:\n%s", want, log.String())
		}
	}
	log.CheckKeys(t)

	// Slack names a warning both in warning and in response_metadata:
	// logged once.
	log = &logtest.Buffer{}
	c, _ = scriptedClient(t, log, answerJSON(200,
		`{"ok":true,"channel":"C1","ts":"1712345678.000200","warning":"message_truncated",`+
			`"response_metadata":{"warnings":["message_truncated"]}}`))
	if _, err := c.PostMessage(ctxT(t, 5*time.Second), "C1", "x", PostOptions{}); err != nil {
		t.Fatal(err)
	}
	if !log.Contains(`"warnings":["message_truncated"]`) {
		t.Errorf("the warning is not logged once:\n%s", log.String())
	}

	log = &logtest.Buffer{}
	c, _ = scriptedClient(t, log, answerJSON(200, `{"ok":true,"user":{"id":"U1"},"warning":"superfluous_charset,missing_charset"}`))
	if _, err := c.UserInfo(ctxT(t, 5*time.Second), "U1"); err != nil {
		t.Fatal(err)
	}
	if !log.Contains(`"level":"warn"`) || !log.Contains(`"warnings":["superfluous_charset","missing_charset"]`) || !log.Contains(`"method":"users.info"`) {
		t.Errorf("the warning of users.info is not logged:\n%s", log.String())
	}
}

// A 429 whose Retry-After is not a number of seconds (an HTTP date, from a
// proxy) is still Slack turning the call away: the post is retried, not
// taken for one whose outcome is unknown.
func TestRetryAfterNotSeconds(t *testing.T) {
	t.Parallel()
	for _, value := range []string{"Wed, 21 Oct 2015 07:28:00 GMT", "soon", "1.5"} {
		log := &logtest.Buffer{}
		c, s := scriptedClient(t, log, func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", value)
			w.WriteHeader(http.StatusTooManyRequests)
		}, answerJSON(200, postOK))
		_, err := c.PostMessage(ctxT(t, 10*time.Second), "C1", "x", PostOptions{})
		if err != nil {
			t.Errorf("Retry-After %q: err = %v, want a retry that works", value, err)
		}
		if s.n() != 2 {
			t.Errorf("Retry-After %q: %d calls, want 2", value, s.n())
		}
		if !log.Contains(`"reason":"ratelimited"`) {
			t.Errorf("Retry-After %q: the 429 is not logged as a rate limit:\n%s", value, log.String())
		}
	}
}

// A 429 without Retry-After waits a second, as a rate limit, not the short
// backoff of a server error, which would only meet the limit again.
func Test429WithoutRetryAfterWaits(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t)
	e.fake.Inject("users.info", slackfake.Fault{Status: http.StatusTooManyRequests})
	if _, err := c.UserInfo(ctxT(t, 10*time.Second), e.ws.People["bob"]); err != nil {
		t.Fatal(err)
	}
	calls := e.fake.Calls()
	if len(calls) != 2 {
		t.Fatalf("calls:\n%s", e.fake.RenderCalls(calls))
	}
	if gap := calls[1].Time.Sub(calls[0].Time); gap < 950*time.Millisecond {
		t.Errorf("retried %s after a 429 without Retry-After, want about 1s", gap)
	}
}

// A 429 whose Retry-After is 0 waits a second, as one without it: an
// answer at once would only meet the limit again.
func Test429RetryAfterZeroWaits(t *testing.T) {
	t.Parallel()
	log := &logtest.Buffer{}
	c, s := scriptedClient(t, log, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
	}, answerJSON(200, `{"ok":true,"user":{"id":"U1","name":"alice"}}`))
	if _, err := c.UserInfo(ctxT(t, 10*time.Second), "U1"); err != nil {
		t.Fatal(err)
	}
	if s.n() != 2 {
		t.Fatalf("%d calls, want 2", s.n())
	}
	if gap := s.calls[1].Sub(s.calls[0]); gap < 950*time.Millisecond {
		t.Errorf("retried %s after a 429 with Retry-After: 0, want about 1s", gap)
	}
}

// A server error Slack's documents do not name (a 507, or a 520 or 524
// from the edge in front of the Web API) may come after the post was made,
// as a 500 may: it is not repeated. Only a 503 is Slack turning it away.
func TestUnknownServerErrorNotRepeated(t *testing.T) {
	t.Parallel()
	for _, status := range []int{501, 507, 520, 524, 599} {
		log := &logtest.Buffer{}
		c, s := scriptedClient(t, log, answerJSON(status, `{}`), answerJSON(200, postOK))
		_, err := c.PostMessage(ctxT(t, 5*time.Second), "C1", "once", PostOptions{})
		if !errors.Is(err, ErrOutcomeUnknown) || s.n() != 1 {
			t.Errorf("HTTP %d: %v after %d calls; want ErrOutcomeUnknown after 1", status, err, s.n())
		}
	}
}

// An answer that is not JSON (a proxy's or a load balancer's HTML page,
// with a 200) is logged as such. A read is retried; a post is not repeated,
// since whatever answered may have passed it on to Slack.
func TestAnswerNotJSON(t *testing.T) {
	t.Parallel()
	html := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body>Service temporarily unavailable</body></html>")
	}
	log := &logtest.Buffer{}
	c, s := scriptedClient(t, log, html, answerJSON(200, `{"ok":true,"user":{"id":"U1","name":"alice"}}`))
	u, err := c.UserInfo(ctxT(t, 5*time.Second), "U1")
	if err != nil || u.Name != "alice" || s.n() != 2 {
		t.Errorf("UserInfo = %+v, %v after %d calls; want alice after a retry", u, err, s.n())
	}
	if !log.Contains("not JSON") || !log.Contains("text/html") {
		t.Errorf("the log does not say the answer was not JSON:\n%s", log.String())
	}

	c, s = scriptedClient(t, log, html, answerJSON(200, postOK))
	_, err = c.PostMessage(ctxT(t, 5*time.Second), "C1", "x", PostOptions{})
	if !errors.Is(err, ErrOutcomeUnknown) || s.n() != 1 {
		t.Errorf("PostMessage: %v after %d calls; want ErrOutcomeUnknown after 1", err, s.n())
	}
	if strings.Contains(log.String(), "xoxb-secret-token") {
		t.Errorf("the token is in the log")
	}
}

// Slack's rate limits are per method: after a 429 the calls of that method
// this process makes meanwhile wait out its Retry-After instead of meeting
// the limit again, one after the other. Posts are held per channel instead
// (TestPost429Shared).
func TestRateLimitHeldForTheMethod(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t)
	ctx := ctxT(t, 10*time.Second)
	e.fake.RateLimit("users.info", 1, 1)
	done := make(chan error, 1)
	go func() { _, err := c.UserInfo(ctx, e.ws.People["alice"]); done <- err }()
	e.log.WaitFor(t, "slack call failed; retrying", 5*time.Second) // the hold is in place
	if _, err := c.UserInfo(ctx, e.ws.People["bob"]); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	calls := e.fake.CallsTo("users.info")
	if len(calls) != 3 || calls[0].Status != 429 {
		t.Fatalf("calls:\n%s", e.fake.RenderCalls(calls))
	}
	for _, call := range calls[1:] {
		if gap := call.Time.Sub(calls[0].Time); gap < 950*time.Millisecond {
			t.Errorf("a call %s after the 429, want its Retry-After of 1s:\n%s", gap, e.fake.RenderCalls(calls))
		}
	}
	// Other methods are not held.
	start := time.Now()
	e.fake.RateLimit("conversations.info", 5, 1)
	if _, err := c.ChannelInfo(ctxT(t, time.Second), e.ws.Channels["general"]); RetryAfter(err) != 5*time.Second {
		t.Fatalf("err = %v, want RetryAfter 5s", err)
	}
	if _, err := c.UserInfo(ctx, e.ws.People["bob"]); err != nil || time.Since(start) > 900*time.Millisecond {
		t.Errorf("users.info held by a 429 of conversations.info: %v after %s", err, time.Since(start))
	}
	// A hold past the deadline fails at once, without a call.
	n := len(e.fake.Calls())
	_, err := c.ChannelInfo(ctxT(t, time.Second), e.ws.Channels["general"])
	if RetryAfter(err) <= 3*time.Second || errors.Is(err, workqueue.ErrPermanent) || len(e.fake.Calls()) != n {
		t.Errorf("during the hold: err = %v, %d calls; want a transient error with the wait, no call", err, len(e.fake.Calls())-n)
	}
}

// A call whose wait to retry is cut short by its ctx (a shutdown, a caller
// giving up) still says what Slack answered: the method, Slack's code, the
// Retry-After, and whether Slack may have acted, along with ctx's error.
func TestCanceledWhileWaitingKeepsSlacksAnswer(t *testing.T) {
	t.Parallel()
	e := setup(t)
	bob := e.ws.People["bob"]

	// Waiting out a 429's Retry-After.
	c := e.client(t)
	e.fake.RateLimit("users.info", 5, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.UserInfo(ctx, bob); done <- err }()
	e.log.WaitFor(t, `"method":"users.info","reason":"ratelimited","attempt":1`, 5*time.Second)
	cancel()
	err := <-done
	if se, ok := errors.AsType[*Error](err); !ok || se.Method != "users.info" || se.Code != "ratelimited" ||
		se.RetryAfter != 5*time.Second || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled while waiting out a 429: %#v; want users.info, ratelimited, RetryAfter 5s, canceled", err)
	}

	// Waiting out the hold that 429 left on the method.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	n := len(e.fake.Calls())
	_, err = c.UserInfo(ctx, bob)
	if se, ok := errors.AsType[*Error](err); !ok || se.Method != "users.info" || se.Code != "ratelimited" ||
		se.RetryAfter <= 0 || !errors.Is(err, context.Canceled) || len(e.fake.Calls()) != n {
		t.Errorf("canceled while the method is held: %#v; want users.info, ratelimited, the wait left, canceled, no call", err)
	}

	// Waiting to repeat a reaction Slack may have added.
	c = e.client(t, WithBackoff(10*time.Second, 10*time.Second), WithHTTPClient(&http.Client{
		Transport: &lostAnswer{base: http.DefaultTransport.(*http.Transport).Clone(), method: "reactions.add"}}))
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- c.AddReaction(ctx, e.ws.Channels["general"], "1.2", "gopher") }()
	e.log.WaitFor(t, `"method":"reactions.add"`, 5*time.Second)
	cancel()
	if err := <-done; !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.Canceled) || Code(err) != "" {
		t.Errorf("canceled while waiting to repeat a reaction: %v; want ErrOutcomeUnknown and canceled", err)
	}
}

// A download Slack answers 429 without a usable Retry-After waits a second,
// as every other call does, not the short backoff of a server error.
func TestDownload429WithoutRetryAfterWaits(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t)
	f := e.fake.AddFile("main.go", []byte("package main\n"))
	e.fake.Inject("files.download", slackfake.Fault{Status: http.StatusTooManyRequests})
	if _, err := c.DownloadFile(ctxT(t, 10*time.Second), f.URLPrivate, 1<<20); err != nil {
		t.Fatal(err)
	}
	calls := e.fake.CallsTo("files.download")
	if len(calls) != 2 || calls[0].Status != http.StatusTooManyRequests {
		t.Fatalf("calls:\n%s", e.fake.RenderCalls(calls))
	}
	if gap := calls[1].Time.Sub(calls[0].Time); gap < 950*time.Millisecond {
		t.Errorf("retried %s after a 429 without Retry-After, want about 1s", gap)
	}
}
