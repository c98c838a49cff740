package slackapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackfake"
	"github.com/gophers/gopherbot/workqueue"
)

type env struct {
	fake *slackfake.Server
	ws   slackfake.Workspace
	rs   *redistest.Server
	log  *logtest.Buffer
}

func setup(t *testing.T, opts ...slackfake.Option) *env {
	t.Helper()
	fake := slackfake.New(opts...)
	t.Cleanup(fake.Close)
	ws, err := fake.Seed()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{fake: fake, ws: ws, rs: redistest.Start(t), log: &logtest.Buffer{}}
	t.Cleanup(func() {
		e.log.CheckKeys(t)
		if t.Failed() {
			t.Logf("the client's log:\n%s", e.log.String())
		}
	})
	return e
}

// client returns a client of the fake with quick backoffs for tests.
func (e *env) client(t *testing.T, opts ...Option) *Client {
	opts = append([]Option{WithBackoff(10*time.Millisecond, 40*time.Millisecond)}, opts...)
	return New(e.fake.Token(), e.fake.APIURL(), e.rs.Client(), zerolog.New(e.log), opts...)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestMethods(t *testing.T) {
	t.Parallel()
	e := setup(t, slackfake.WithPageSize(3))
	c := e.client(t)
	ctx := ctxT(t, 10*time.Second)
	general, alice := e.ws.Channels["general"], e.ws.People["alice"]

	id, err := c.AuthTest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantID := Identity{UserID: slackfake.DefaultBotUser, BotID: slackfake.DefaultBotID, TeamID: slackfake.DefaultTeamID,
		User: slackfake.DefaultBotName, Team: slackfake.DefaultTeam, URL: "https://gophers.slack.com/"}
	if diff := cmp.Diff(wantID, id); diff != "" {
		t.Errorf("AuthTest (-want +got):\n%s", diff)
	}

	ts, err := c.PostMessage(ctx, general, "hello <@"+alice+">", PostOptions{ThreadTS: "1712345678.000100"})
	if err != nil || ts == "" {
		t.Fatalf("PostMessage = %q, %v", ts, err)
	}
	if _, err := c.PostMessage(ctx, e.ws.Channels["random"], "see https://go.dev", PostOptions{Unfurl: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.PostEphemeral(ctx, general, alice, "only you", "1712345678.000100"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second is already_reacted: a success
		if err := c.AddReaction(ctx, general, ts, ":gopher:"); err != nil {
			t.Fatal(err)
		}
	}
	dm, err := c.OpenDM(ctx, alice)
	if err != nil || !strings.HasPrefix(dm, "D") {
		t.Fatalf("OpenDM = %q, %v", dm, err)
	}
	if _, err := c.PostMessage(ctx, dm, "welcome", PostOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "chat.postMessage #general (thread 1712345678.000100): hello <@alice>\n" +
		"chat.postMessage #random (unfurl): see https://go.dev\n" +
		"chat.postEphemeral #general (thread 1712345678.000100) to @alice: only you\n" +
		"reactions.add #general :gopher:\n" +
		"reactions.add #general :gopher: [error already_reacted]\n" +
		"conversations.open @alice\n" +
		"chat.postMessage @alice: welcome\n"
	if diff := cmp.Diff(want, e.fake.RenderCalls(e.fake.Calls()[1:])); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if p := e.fake.CallsTo("chat.postMessage")[0].Params; p["unfurl_links"] != "false" || p["unfurl_media"] != "false" {
		t.Errorf("a message without Unfurl asked for previews: %v", p)
	}

	ch, err := c.ChannelInfo(ctx, general)
	if diff := cmp.Diff(Channel{ID: general, Name: "general", IsMember: true}, ch); diff != "" || err != nil {
		t.Errorf("ChannelInfo (-want +got):\n%s%v", diff, err)
	}
	ch, err = c.ChannelInfo(ctx, dm)
	if err != nil || !ch.IsIM || ch.User != alice {
		t.Errorf("ChannelInfo of a DM = %+v, %v", ch, err)
	}
	u, err := c.UserInfo(ctx, alice)
	if diff := cmp.Diff(User{ID: alice, Name: "alice", RealName: "Alice Archer", DisplayName: "alice"}, u); diff != "" || err != nil {
		t.Errorf("UserInfo (-want +got):\n%s%v", diff, err)
	}

	names, pages := pageAll(t, func(cur string) ([]string, string, error) {
		chans, next, err := c.ListChannels(ctx, cur, 100)
		return channelNames(chans), next, err
	})
	if diff := cmp.Diff(slackfake.DefaultChannels, names); diff != "" || pages != 3 {
		t.Errorf("ListChannels in %d pages, want 3 (-want +got):\n%s", pages, diff)
	}
	names, _ = pageAll(t, func(cur string) ([]string, string, error) {
		users, next, err := c.ListUsers(ctx, cur, 0)
		var out []string
		for _, u := range users {
			out = append(out, u.Name)
		}
		return out, next, err
	})
	if diff := cmp.Diff([]string{"gopherbot", "alice", "bob", "carol"}, names); diff != "" {
		t.Errorf("ListUsers (-want +got):\n%s", diff)
	}
}

func TestDownloadFile(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t)
	ctx := ctxT(t, 10*time.Second)
	f := e.fake.AddFile("main.go", []byte("package main\n\nfunc main() {}\n"))

	got, err := c.DownloadFile(ctx, f.URLPrivate, 1<<20)
	if err != nil || string(got) != string(f.Content) {
		t.Fatalf("DownloadFile = %q, %v", got, err)
	}
	if _, err := c.DownloadFile(ctx, f.URLPrivate, 10); !errors.Is(err, ErrTooLarge) || !errors.Is(err, workqueue.ErrPermanent) {
		t.Errorf("over the limit: %v, want ErrTooLarge, permanent", err)
	}
	if _, err := c.DownloadFile(ctx, f.URLPrivate+"x", 1<<20); !errors.Is(err, workqueue.ErrPermanent) {
		t.Errorf("missing file: %v, want permanent", err)
	}
	e.fake.Inject("files.download", slackfake.Fault{Status: 502})
	if got, err := c.DownloadFile(ctx, f.URLPrivate, 1<<20); err != nil || len(got) == 0 {
		t.Errorf("after a 502: %q, %v", got, err)
	}
	n := len(e.fake.CallsTo("files.download"))
	if _, err := c.DownloadFile(ctx, "http://example.invalid/files/F1/main.go", 1<<20); err == nil || !errors.Is(err, workqueue.ErrPermanent) {
		t.Errorf("a foreign host: %v, want a permanent refusal", err)
	}
	if got := len(e.fake.CallsTo("files.download")); got != n {
		t.Errorf("the foreign download reached the fake")
	}
	for _, call := range e.fake.CallsTo("files.download") {
		if call.Params["id"] != f.ID {
			t.Errorf("download of %v", call.Params)
		}
	}
}

func TestTokenRejected(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := New("xoxb-not-the-one", e.fake.APIURL(), nil, zerolog.New(e.log))
	_, err := c.AuthTest(ctxT(t, 10*time.Second))
	if !errors.Is(err, ErrTokenRejected) || !errors.Is(err, workqueue.ErrPermanent) || Code(err) != "invalid_auth" {
		t.Fatalf("err = %v, want ErrTokenRejected, permanent, invalid_auth", err)
	}
	if !strings.Contains(err.Error(), "SLACK_BOT_TOKEN") {
		t.Errorf("the error does not say what to fix: %v", err)
	}
	if n := len(e.fake.Calls()); n != 1 {
		t.Errorf("%d calls, want 1: a rejected token is not retried", n)
	}
	log := e.log.String()
	if !strings.Contains(log, `"method":"auth.test"`) || !strings.Contains(log, `"reason":"invalid_auth"`) {
		t.Errorf("the failure is not logged with method and reason:\n%s", log)
	}
	if strings.Contains(log, "xoxb-not-the-one") {
		t.Errorf("the token is in the log:\n%s", log)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t)
	e.fake.RateLimit("chat.postMessage", 1, 1)
	if _, err := c.PostMessage(ctxT(t, 10*time.Second), e.ws.Channels["general"], "hi", PostOptions{}); err != nil {
		t.Fatal(err)
	}
	calls := e.fake.Calls()
	if len(calls) != 2 || calls[0].Status != 429 || !calls[1].OK() {
		t.Fatalf("calls:\n%s", e.fake.RenderCalls(calls))
	}
	if gap := calls[1].Time.Sub(calls[0].Time); gap < time.Second {
		t.Errorf("retried %s after the 429, want at least its Retry-After of 1s", gap)
	}
	if !strings.Contains(e.log.String(), `"reason":"ratelimited"`) {
		t.Errorf("the 429 is not logged:\n%s", e.log.String())
	}
}

func TestServerErrorRetried(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t)
	e.fake.Inject("reactions.add", slackfake.Fault{Status: 500, Times: 2})
	if err := c.AddReaction(ctxT(t, 10*time.Second), e.ws.Channels["general"], "1.2", "gopher"); err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for _, call := range e.fake.Calls() {
		statuses = append(statuses, call.Status)
	}
	if diff := cmp.Diff([]int{500, 500, 200}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}

	// Without a deadline, attempts are bounded.
	e.fake.Reset()
	e.fake.Inject("users.info", slackfake.Fault{Status: 503, Times: 100})
	c = e.client(t, WithMaxAttempts(3))
	_, err := c.UserInfo(context.Background(), e.ws.People["bob"])
	var se *Error
	if !errors.As(err, &se) || se.Status != 503 || se.Permanent || errors.Is(err, workqueue.ErrPermanent) {
		t.Errorf("err = %v, want a transient 503", err)
	}
	if n := len(e.fake.Calls()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t, WithPostInterval(0))
	ctx := ctxT(t, 10*time.Second)
	old, _ := e.fake.AddChannel(slackfake.Channel{Name: "old"})
	e.fake.ArchiveChannel(old.ID)
	tests := []struct {
		name string
		do   func() error
		code string
	}{
		{"channel_not_found", func() error { _, err := c.PostMessage(ctx, "C404", "x", PostOptions{}); return err }, "channel_not_found"},
		{"is_archived", func() error { _, err := c.PostMessage(ctx, old.ID, "x", PostOptions{}); return err }, "is_archived"},
		{"msg_too_long", func() error {
			// A text over MaxTextLen is cut before it is sent
			// (TestLongTextCut); Slack has been seen to refuse shorter ones.
			e.fake.Inject("chat.postMessage", slackfake.Fault{Error: "msg_too_long"})
			_, err := c.PostMessage(ctx, e.ws.Channels["general"], "x", PostOptions{})
			return err
		}, "msg_too_long"},
		{"user_not_found", func() error { _, err := c.UserInfo(ctx, "U404"); return err }, "user_not_found"},
		{"injected not_in_channel", func() error {
			e.fake.Inject("chat.postEphemeral", slackfake.Fault{Error: "not_in_channel"})
			return c.PostEphemeral(ctx, e.ws.Channels["general"], e.ws.People["bob"], "x", "")
		}, "not_in_channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.Reset()
			err := tt.do()
			if !errors.Is(err, workqueue.ErrPermanent) || Code(err) != tt.code {
				t.Errorf("err = %v (code %q), want permanent %s", err, Code(err), tt.code)
			}
			if n := len(e.fake.Calls()); n != 1 {
				t.Errorf("%d calls, want 1: no retry", n)
			}
		})
	}

	// Codes Slack documents for these methods that the same call meets
	// again (a member the bot may not see, a DM the app's Messages tab
	// refuses, a network the token may not call from, ...): not retried,
	// so that a welcome is not tried again on every sweep.
	documented := []struct{ method, code string }{
		{"conversations.open", "user_not_visible"},
		{"conversations.open", "invalid_user_combination"},
		{"conversations.open", "method_not_supported_for_channel_type"},
		{"chat.postMessage", "messages_tab_disabled"},
		{"chat.postEphemeral", "messages_tab_disabled"},
		{"chat.postMessage", "access_denied"},
		{"chat.postMessage", "accesslimited"},
		{"chat.postMessage", "enterprise_is_restricted"},
		{"chat.postMessage", "two_factor_setup_required"},
		{"chat.postMessage", "markdown_text_conflict"},
		{"reactions.add", "not_reactable"},
		{"users.list", "limit_required"},
		{"conversations.list", "missing_argument"},
	}
	calls := map[string]func() error{
		"conversations.open": func() error { _, err := c.OpenDM(ctx, e.ws.People["bob"]); return err },
		"chat.postMessage": func() error {
			_, err := c.PostMessage(ctx, e.ws.Channels["general"], "x", PostOptions{})
			return err
		},
		"chat.postEphemeral": func() error { return c.PostEphemeral(ctx, e.ws.Channels["general"], e.ws.People["bob"], "x", "") },
		"reactions.add":      func() error { return c.AddReaction(ctx, e.ws.Channels["general"], "1.2", "gopher") },
		"users.list":         func() error { _, _, err := c.ListUsers(ctx, "", 0); return err },
		"conversations.list": func() error { _, _, err := c.ListChannels(ctx, "", 0); return err },
	}
	for _, d := range documented {
		e.fake.Reset()
		e.fake.Inject(d.method, slackfake.Fault{Error: d.code})
		if err := calls[d.method](); !errors.Is(err, workqueue.ErrPermanent) || Code(err) != d.code {
			t.Errorf("%s %s: err = %v, want permanent", d.method, d.code, err)
		}
		if n := len(e.fake.Calls()); n != 1 {
			t.Errorf("%s %s: %d calls, want 1: no retry", d.method, d.code, n)
		}
	}

	// A Slack error we do not know is transient, and retried; so are the
	// ones Slack says last while a workspace moves into an organization.
	for _, code := range []string{"team_added_to_org", "org_login_required", "some_new_error"} {
		e.fake.Reset()
		e.fake.Inject("chat.postMessage", slackfake.Fault{Error: code})
		if _, err := c.PostMessage(ctx, e.ws.Channels["general"], "x", PostOptions{}); err != nil {
			t.Errorf("after %s: %v, want a retry that works", code, err)
		}
	}

	// A 429 without Retry-After is still a rate limit: retried.
	e.fake.Reset()
	e.fake.Inject("users.info", slackfake.Fault{Status: http.StatusTooManyRequests})
	if _, err := c.UserInfo(ctx, e.ws.People["bob"]); err != nil {
		t.Errorf("after a 429 without Retry-After: %v, want a retry that works", err)
	}

	// A 4xx other than 429 is the same on every try.
	e.fake.Reset()
	e.fake.Inject("users.info", slackfake.Fault{Status: http.StatusNotFound})
	if _, err := c.UserInfo(ctx, e.ws.People["bob"]); !errors.Is(err, workqueue.ErrPermanent) {
		t.Errorf("after a 404: %v, want a permanent error", err)
	}
	if n := len(e.fake.Calls()); n != 1 {
		t.Errorf("%d calls after a 404, want 1: no retry", n)
	}
}

// lostAnswer lets the first request to method reach Slack, then loses
// Slack's answer as a connection reset would.
type lostAnswer struct {
	base   http.RoundTripper
	method string
	done   atomic.Bool
}

func (l *lostAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(req)
	if err == nil && strings.HasSuffix(req.URL.Path, "/"+l.method) && l.done.CompareAndSwap(false, true) {
		resp.Body.Close()
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	return resp, err
}

// A post Slack may have made is not repeated: its error says the outcome
// is unknown. Reads and repeatable writes are retried as before.
func TestOutcomeUnknown(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := ctxT(t, 10*time.Second)
	general := e.ws.Channels["general"]
	transport := func(method string) Option {
		return WithHTTPClient(&http.Client{Timeout: 30 * time.Second,
			Transport: &lostAnswer{base: http.DefaultTransport.(*http.Transport).Clone(), method: method}})
	}
	tests := []struct {
		name  string
		setup func() *Client
		do    func(c *Client) error
		calls int  // made, with Slack acting on each
		lost  bool // the error wraps ErrOutcomeUnknown
	}{
		{"post, answer lost", func() *Client { return e.client(t, transport("chat.postMessage"), WithPostInterval(0)) },
			func(c *Client) error { _, err := c.PostMessage(ctx, general, "once", PostOptions{}); return err }, 1, true},
		{"ephemeral, answer lost", func() *Client { return e.client(t, transport("chat.postEphemeral")) },
			func(c *Client) error { return c.PostEphemeral(ctx, general, e.ws.People["bob"], "once", "") }, 1, true},
		{"reaction, answer lost", func() *Client { return e.client(t, transport("reactions.add")) },
			func(c *Client) error { return c.AddReaction(ctx, general, "1.2", "gopher") }, 2, false},
		{"post, 500", func() *Client {
			e.fake.Inject("chat.postMessage", slackfake.Fault{Status: 500})
			return e.client(t, WithPostInterval(0))
		}, func(c *Client) error { _, err := c.PostMessage(ctx, general, "x", PostOptions{}); return err }, 1, true},
		{"post, 504", func() *Client {
			e.fake.Inject("chat.postMessage", slackfake.Fault{Status: 504})
			return e.client(t, WithPostInterval(0))
		}, func(c *Client) error { _, err := c.PostMessage(ctx, general, "x", PostOptions{}); return err }, 1, true},
		{"post, internal_error", func() *Client {
			e.fake.Inject("chat.postMessage", slackfake.Fault{Error: "internal_error"})
			return e.client(t, WithPostInterval(0))
		}, func(c *Client) error { _, err := c.PostMessage(ctx, general, "x", PostOptions{}); return err }, 1, true},
		{"post, 503 turned away", func() *Client {
			e.fake.Inject("chat.postMessage", slackfake.Fault{Status: 503})
			return e.client(t, WithPostInterval(0))
		}, func(c *Client) error { _, err := c.PostMessage(ctx, general, "x", PostOptions{}); return err }, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.Reset()
			err := tt.do(tt.setup())
			if tt.lost {
				if !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, workqueue.ErrPermanent) {
					t.Errorf("err = %v; want a transient error wrapping ErrOutcomeUnknown", err)
				}
			} else if err != nil {
				t.Errorf("err = %v; want success after a retry", err)
			}
			if n := len(e.fake.Calls()); n != tt.calls {
				t.Errorf("%d calls, want %d:\n%s", n, tt.calls, e.fake.RenderCalls(e.fake.Calls()))
			}
		})
	}
	if !strings.Contains(e.log.String(), "not repeating it") {
		t.Errorf("the unrepeated post is not logged:\n%s", e.log.String())
	}
}

// The client's own timeout firing after the post went out leaves the
// outcome unknown: Slack may answer late, having posted.
func TestOutcomeUnknownAfterClientTimeout(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var first atomic.Bool
	stop := e.fake.OnCall(func(call slackfake.Call) {
		if call.Method == "chat.postMessage" && first.CompareAndSwap(false, true) {
			time.Sleep(300 * time.Millisecond)
		}
	})
	defer stop()
	c := e.client(t, WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}), WithPostInterval(0))
	_, err := c.PostMessage(ctxT(t, 10*time.Second), e.ws.Channels["general"], "once", PostOptions{})
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v; want ErrOutcomeUnknown", err)
	}
	time.Sleep(400 * time.Millisecond) // the slow answer is recorded after it
	if n := len(e.fake.CallsTo("chat.postMessage")); n != 1 {
		t.Errorf("%d posts, want 1: the post was repeated", n)
	}
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t)
	e.fake.RateLimit("users.info", 5, 1)
	start := time.Now()
	_, err := c.UserInfo(ctxT(t, time.Second), e.ws.People["bob"])
	var se *Error
	if !errors.As(err, &se) || se.Permanent || errors.Is(err, workqueue.ErrPermanent) || se.RetryAfter != 5*time.Second {
		t.Fatalf("err = %#v, want a transient error with RetryAfter 5s", err)
	}
	if RetryAfter(err) != 5*time.Second || RetryAfter(errors.New("x")) != 0 {
		t.Errorf("RetryAfter(err) = %s", RetryAfter(err))
	}
	// It gave up at once rather than sleeping to the deadline or past it.
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("returned after %s", d)
	}
	if n := len(e.fake.Calls()); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}

	// 5xx forever: retries until the next backoff and call do not fit, then
	// a transient error. A call much slower than the one before it (on a
	// loaded machine) may still run into the deadline, so the test asks only
	// that it does not hang.
	e.fake.Reset()
	e.fake.Inject("users.info", slackfake.Fault{Status: 500, Times: 1000})
	ctx := ctxT(t, 300*time.Millisecond)
	c = e.client(t, WithBackoff(20*time.Millisecond, 100*time.Millisecond), WithMaxAttempts(1000))
	start = time.Now()
	_, err = c.UserInfo(ctx, e.ws.People["bob"])
	if err == nil || errors.Is(err, workqueue.ErrPermanent) {
		t.Errorf("err = %v, want transient", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned %s after a 300ms deadline", d)
	}
	if n := len(e.fake.Calls()); n < 2 {
		t.Errorf("%d calls, want retries", n)
	}
}

// TestDeadlineLeavesRoomForTheCall: a retry is made only when its wait and a
// call as slow as the last one fit before the deadline. Calls take 200ms;
// after the second there is about 180ms left, enough for the 20ms wait but
// not for the call, so the client stops there instead of starting a call the
// deadline would cut off.
func TestDeadlineLeavesRoomForTheCall(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.Inject("users.info", slackfake.Fault{Status: 500, Times: 1000, Delay: 200 * time.Millisecond})
	ctx := ctxT(t, 600*time.Millisecond)
	c := e.client(t, WithBackoff(20*time.Millisecond, 20*time.Millisecond), WithMaxAttempts(1000))
	_, err := c.UserInfo(ctx, e.ws.People["bob"])
	var se *Error
	if !errors.As(err, &se) || se.Permanent || se.Status != 500 {
		t.Fatalf("err = %#v, want the transient 500", err)
	}
	if ctx.Err() != nil {
		t.Errorf("started a call the deadline cut off: %v", err)
	}
	if n := len(e.fake.Calls()); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
	if !e.log.Contains("no time left to wait and try again") {
		t.Errorf("no log of why it stopped:\n%s", e.log.String())
	}
}

func TestNetworkError(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	log := &logtest.Buffer{}
	c := New("xoxb-secret-token", "http://"+addr+"/api/", nil, zerolog.New(log),
		WithBackoff(time.Millisecond, 5*time.Millisecond), WithMaxAttempts(3))
	_, err = c.PostMessage(ctxT(t, 10*time.Second), "C1", "x", PostOptions{})
	if err == nil || errors.Is(err, workqueue.ErrPermanent) {
		t.Fatalf("err = %v, want transient", err)
	}
	if n := strings.Count(log.String(), `"method":"chat.postMessage"`); n != 3 {
		t.Errorf("%d failures logged, want 3:\n%s", n, log.String())
	}
	if strings.Contains(log.String(), "xoxb-secret-token") {
		t.Errorf("the token is in the log")
	}
}

func TestPostBudget(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.client(t), e.client(t)
	ctx := ctxT(t, 20*time.Second)

	// Posts to different channels are not held back by each other.
	var wg sync.WaitGroup
	for i, name := range []string{"general", "random", "reviews", "newbies"} {
		c := []*Client{a, b}[i%2]
		wg.Go(func() {
			if _, err := c.PostMessage(ctx, e.ws.Channels[name], "hi "+name, PostOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	calls := e.fake.Calls()
	if spread := calls[len(calls)-1].Time.Sub(calls[0].Time); spread > 500*time.Millisecond {
		t.Errorf("posts to 4 channels took %s, want no pacing between channels", spread)
	}

	// Three posts to one channel from two processes are a slot apart.
	e.fake.Reset()
	general := e.ws.Channels["gotimefm"]
	for i := range 3 {
		c := []*Client{a, b, a}[i]
		wg.Go(func() {
			if _, err := c.PostMessage(ctx, general, "paced", PostOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var times []time.Time
	for _, call := range e.fake.CallsTo("chat.postMessage") {
		times = append(times, call.Time)
	}
	slices.SortFunc(times, func(x, y time.Time) int { return x.Compare(y) })
	if len(times) != 3 {
		t.Fatalf("%d posts", len(times))
	}
	for i := 1; i < len(times); i++ {
		// Slots are 1s apart on Redis's clock; allow a little for the
		// trip from the script to the fake.
		if gap := times[i].Sub(times[i-1]); gap < 950*time.Millisecond {
			t.Errorf("posts %d and %d are %s apart, want about 1s", i, i+1, gap)
		}
	}

	// A slot past the deadline is not waited for, nor taken from others.
	e.fake.Reset()
	jobs := e.ws.Channels["golang-jobs"]
	if _, err := a.PostMessage(ctx, jobs, "first", PostOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := b.PostMessage(ctxT(t, 300*time.Millisecond), jobs, "late", PostOptions{})
	var se *Error
	if !errors.As(err, &se) || se.Permanent || se.RetryAfter < 300*time.Millisecond {
		t.Errorf("err = %v, want transient with the wait", err)
	}
	if n := len(e.fake.Calls()); n != 1 {
		t.Errorf("%d posts, want only the first", n)
	}
}

// A file Slack will not give the token comes back as its sign-in page,
// with a 200: that is not the file.
func TestDownloadSignInPage(t *testing.T) {
	t.Parallel()
	e := setup(t)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<html><body>Sign in to your workspace</body></html>")
	}))
	defer page.Close()
	c := New(e.fake.Token(), page.URL+"/api/", nil, zerolog.New(e.log))
	_, err := c.DownloadFile(ctxT(t, 5*time.Second), page.URL+"/files-pri/T1-F1/main.go", 1000)
	if !errors.Is(err, workqueue.ErrPermanent) || !strings.Contains(err.Error(), "web page") {
		t.Errorf("err = %v; want a permanent error naming the web page", err)
	}
}

// A slot that leaves the post too little time before its deadline is not
// taken: the call would be cut off mid-way, its outcome unknown.
func TestPostSlotLeavesTimeForTheCall(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t)
	ch := e.ws.Channels["general"]
	if _, err := c.PostMessage(ctxT(t, 10*time.Second), ch, "first", PostOptions{}); err != nil {
		t.Fatal(err)
	}
	// The next slot is about 1s away; 1.4s is left, and the call needs a
	// reserve of 700ms (half of it).
	_, err := c.PostMessage(ctxT(t, 1400*time.Millisecond), ch, "second", PostOptions{})
	if RetryAfter(err) == 0 || errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v, want no slot, with the wait", err)
	}
	if n := len(e.fake.CallsTo("chat.postMessage")); n != 1 {
		t.Errorf("%d posts, want only the first", n)
	}
}

// The wait for a posting slot is not part of the call: a post Slack turned
// away after a long wait for its slot is tried again when the backoff and
// a call as slow as the last one fit, however long the slot took. Here the
// channel is held 2s (another process met a 429), the post is answered
// 503 at once, and under 2s is left: plenty for a retry, not for another
// 2s.
func TestSlotWaitIsNotTheCall(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t, WithPostInterval(10*time.Millisecond))
	ch := e.ws.Channels["general"]
	ctx := ctxT(t, 4*time.Second)
	c.holdPosts(ctx, ch, 2*time.Second)
	e.fake.Inject("chat.postMessage", slackfake.Fault{Status: http.StatusServiceUnavailable})
	if _, err := c.PostMessage(ctx, ch, "after the hold", PostOptions{}); err != nil {
		t.Fatalf("err = %v, want a retry that works", err)
	}
	if calls := e.fake.CallsTo("chat.postMessage"); len(calls) != 2 || calls[0].Status != 503 || !calls[1].OK() {
		t.Errorf("calls:\n%s", e.fake.RenderCalls(calls))
	}
}

// A post given up while it waits for its slot (the consumer stopping) was
// never sent: the log says it was not made, not that the call failed, and
// the error is not an unknown outcome.
func TestCanceledWaitingForSlot(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t)
	ch := e.ws.Channels["general"]
	c.holdPosts(ctxT(t, 5*time.Second), ch, 5*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := c.PostMessage(ctx, ch, "never", PostOptions{}); done <- err }()
	// The slot is taken once the key lives past the hold (5s, plus 1s).
	for deadline := time.Now().Add(5 * time.Second); e.rs.Client().PTTL(ctxT(t, time.Second), PostBudgetKeyPrefix+ch).Val() < 6500*time.Millisecond; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the post took no slot")
		}
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v, want canceled, not an unknown outcome", err)
	}
	if n := len(e.fake.Calls()); n != 0 {
		t.Errorf("%d calls, want none", n)
	}
	if !e.log.Contains(`"reason":"canceled"`) || !e.log.Contains("slack call not made") || e.log.Contains("slack call failed") {
		t.Errorf("the log does not say the post was not made:\n%s", e.log.String())
	}
}

// A 429 on a post holds every process's next post to that channel for its
// Retry-After, not only the one that met it. So does the error code
// ratelimited or rate_limited in an answer with a 200, which Slack
// documents for chat.postMessage, for the second Slack's windows last.
func TestPost429Shared(t *testing.T) {
	t.Parallel()
	for _, f := range []slackfake.Fault{{Status: 429, RetryAfter: 1}, {Error: "rate_limited"}, {Error: "ratelimited"}} {
		t.Run(fmt.Sprintf("%d %s", f.Status, f.Error), func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			a, b := e.client(t, WithPostInterval(10*time.Millisecond)), e.client(t, WithPostInterval(10*time.Millisecond))
			ch := e.ws.Channels["general"]
			ctx := ctxT(t, 10*time.Second)
			e.fake.Inject("chat.postMessage", f)
			done := make(chan error, 1)
			go func() { _, err := a.PostMessage(ctx, ch, "a", PostOptions{}); done <- err }()
			var limited time.Time
			for deadline := time.Now().Add(5 * time.Second); limited.IsZero(); time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no hold after the rate limit:\n%s", e.fake.RenderCalls(e.fake.Calls()))
				}
				// The hold is in place once the slot's key lives past the usual
				// interval (its expiry is the hold plus 1s).
				calls := e.fake.CallsTo("chat.postMessage")
				if len(calls) > 0 && !calls[0].OK() && e.rs.Client().PTTL(ctx, PostBudgetKeyPrefix+ch).Val() > 1500*time.Millisecond {
					limited = calls[0].Time
				}
			}
			if _, err := b.PostMessage(ctx, ch, "b", PostOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			calls := e.fake.CallsTo("chat.postMessage")
			if len(calls) != 3 {
				t.Fatalf("calls:\n%s", e.fake.RenderCalls(calls))
			}
			for _, call := range calls[1:] {
				if gap := call.Time.Sub(limited); gap < 950*time.Millisecond {
					t.Errorf("a post %s after the rate limit, want its Retry-After of 1s:\n%s", gap, e.fake.RenderCalls(calls))
				}
			}
		})
	}
}

func TestListingResumesAfter429(t *testing.T) {
	t.Parallel()
	e := setup(t, slackfake.WithPageSize(3))
	c := e.client(t)
	e.fake.Inject("conversations.list", slackfake.Fault{Status: 429, RetryAfter: 1, Skip: 1})
	ctx := ctxT(t, 10*time.Second)
	names, _ := pageAll(t, func(cur string) ([]string, string, error) {
		chans, next, err := c.ListChannels(ctx, cur, 200)
		return channelNames(chans), next, err
	})
	if diff := cmp.Diff(slackfake.DefaultChannels, names); diff != "" {
		t.Errorf("every channel once (-want +got):\n%s", diff)
	}
	calls := e.fake.Calls()
	if len(calls) != 4 || calls[1].Status != 429 || !calls[2].OK() {
		t.Fatalf("calls:\n%s", e.fake.RenderCalls(calls))
	}
	if calls[1].Params["cursor"] == "" || calls[2].Params["cursor"] != calls[1].Params["cursor"] {
		t.Errorf("page 2 was retried with cursor %q, failed with %q", calls[2].Params["cursor"], calls[1].Params["cursor"])
	}
	if gap := calls[2].Time.Sub(calls[1].Time); gap < time.Second {
		t.Errorf("page 2 retried after %s, want its Retry-After of 1s", gap)
	}
}

// pageAll follows a paged listing from the first cursor to the last,
// returning every name and the number of pages.
func pageAll(t *testing.T, page func(cursor string) ([]string, string, error)) (names []string, pages int) {
	t.Helper()
	for cur := ""; ; {
		got, next, err := page(cur)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		names = append(names, got...)
		if cur = next; cur == "" {
			return names, pages
		}
	}
}

func channelNames(chans []Channel) []string {
	var out []string
	for _, ch := range chans {
		out = append(out, ch.Name)
	}
	return out
}
