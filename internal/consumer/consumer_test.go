package consumer

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackfake"
	"github.com/gophers/gopherbot/internal/welcomed"
	"github.com/gophers/gopherbot/workqueue"
)

// heads are the visible calls without their texts: method, where, thread.
func heads(lines []string) []string {
	var out []string
	for _, l := range lines {
		first, _, _ := strings.Cut(l, "\n")
		if !strings.HasPrefix(first, "reactions.add") {
			if h, _, ok := strings.Cut(first, ": "); ok {
				first = h
			} else {
				first = strings.TrimSuffix(first, ":")
			}
		}
		out = append(out, first)
	}
	return out
}

func TestAnswersThroughTheQueue(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.start()

	thread := e.message(said{user: "bob", channel: "general", text: "anyone know a good Go book?"})
	e.publish(
		// A DM, and a mention in a channel (as Slack sends it: twice).
		e.message(said{user: "alice", channel: "dm", text: "books"}),
		e.message(said{user: "alice", channel: "general", text: "<@U0GOPHBOT> books"}),
		e.mention(said{user: "alice", channel: "general", text: "<@U0GOPHBOT> books"}),
		// A question asked in a thread is answered in the thread.
		e.mention(said{user: "carol", channel: "general", text: "<@U0GOPHBOT> books", threadTS: "1700000000.000100"}),
		// Nothing for these.
		thread,
		e.message(said{user: "bot", channel: "general", text: "books"}),
		e.message(said{user: "U0OTHERBOT", channel: "general", text: "<@U0GOPHBOT> books", botID: "B0OTHER"}),
		e.message(said{user: "alice", channel: "general", text: "<@U0GOPHBOT> books", subtype: "message_changed"}),
	)
	e.waitIdle()

	want := []string{
		"chat.postMessage @alice",
		"chat.postMessage #general",
		"chat.postMessage #general (thread 1700000000.000100)",
	}
	got := heads(e.seen())
	// The order across streams is not fixed.
	if diff := cmp.Diff(want, got, cmpSorted); diff != "" {
		t.Errorf("visible calls (-want +got):\n%s", diff)
	}
	for _, c := range e.slack.CallsTo("chat.postMessage") {
		if c.Params["unfurl_links"] != "false" || c.Params["unfurl_media"] != "false" {
			t.Errorf("postMessage params %v: want unfurl_links and unfurl_media false", c.Params)
		}
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func TestStale(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.start()
	old := time.Now().Add(-time.Minute)
	e.publish(
		e.message(said{user: "alice", channel: "dm", text: "books", at: old}),
		e.mention(said{user: "alice", channel: "general", text: "<@U0GOPHBOT> books", at: old}),
		// A welcome is still welcome an hour late.
		e.teamJoin("dora", time.Now().Add(-time.Hour)),
		e.joined("alice", "newbies", time.Now().Add(-time.Hour)),
		// A fresh one goes through.
		e.message(said{user: "bob", channel: "dm", text: "books"}),
	)
	e.waitIdle()
	want := []string{
		"chat.postMessage @bob",
		"chat.postMessage @dora",
		"chat.postEphemeral #newbies to @alice",
	}
	if diff := cmp.Diff(want, heads(e.seen()), cmpSorted); diff != "" {
		t.Errorf("visible calls (-want +got):\n%s", diff)
	}
	if !strings.Contains(e.logs.String(), "dropped a stale message") {
		t.Errorf("no log of the dropped messages")
	}
}

func TestShadowMode(t *testing.T) {
	e := newEnv(t, envOptions{settings: map[string]string{"GOPHERBOT_ENV": "staging"}})
	e.start()
	code := "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tsum := 0\n\tfor i := 0; i < 3; i++ {\n\t\tsum += i\n\t\tfmt.Println(i)\n\t}\n\tfmt.Println(\"done\", sum)\n\t// end\n}\n"
	e.publish(
		// Unaddressed: a table flip, a long paste, a join, a channel join.
		e.message(said{user: "bob", channel: "general", text: "(╯°□°)╯︵ ┻━┻"}),
		e.message(said{user: "bob", channel: "general", text: "```" + code + "```"}),
		e.teamJoin("dora", time.Now()),
		e.joined("alice", "newbies", time.Now()),
		// Addressed: answered, reaction included.
		e.message(said{user: "alice", channel: "dm", text: "books"}),
		e.mention(said{user: "carol", channel: "general", text: "<@U0GOPHBOT> thanks! ┻━┻"}),
	)
	e.waitIdle()
	want := []string{
		"chat.postMessage @alice",
		"chat.postMessage #general",
		"reactions.add #general :heart:",
	}
	if diff := cmp.Diff(want, heads(e.seen()), cmpSorted); diff != "" {
		t.Errorf("visible calls (-want +got):\n%s", diff)
	}
	for _, c := range e.slack.Calls() {
		if c.Method == "conversations.open" {
			t.Errorf("shadow mode opened a DM: %s", e.slack.Render(c))
		}
	}
	logs := e.logs.String()
	for _, w := range []string{"shadow: would send reply in", "shadow: would welcome", "shadow: would share the code on the Go Playground"} {
		if !strings.Contains(logs, w) {
			t.Errorf("logs lack %q", w)
		}
	}
	// Nobody was recorded as welcomed: production must still greet them.
	if n, err := e.rdb.HLen(context.Background(), welcomed.Key).Result(); err != nil || n != 0 {
		t.Errorf("shadow mode recorded %d welcomed members (err %v), want 0", n, err)
	}
	if n := len(e.play.Shares()); n != 0 {
		// Sharing publishes the code, though the bot says nothing.
		t.Errorf("shadow mode shared %d pastes on the Go Playground; want none, only a log line", n)
	}
}

// TestEffectsOnce hands the same delivery to the consumer twice, as a
// redelivery after a crash would: the second makes no Slack call.
func TestEffectsOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.identify()
	ev := e.mention(said{user: "carol", channel: "general", text: "<@U0GOPHBOT> thanks! ┻━┻"})
	for attempt := 1; attempt <= 2; attempt++ {
		if err := e.handle(ev, attempt); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
	}
	want := []string{"chat.postMessage #general", "reactions.add #general :heart:"}
	if diff := cmp.Diff(want, heads(e.seen()), cmpSorted); diff != "" {
		t.Errorf("visible calls (-want +got):\n%s", diff)
	}
	if n := len(e.slack.Calls()); n != 2 {
		t.Errorf("%d Slack calls, want 2:\n%s", n, e.slack.RenderCalls(e.slack.Calls()))
	}
	got, err := e.rdb.HGetAll(context.Background(), effectsPrefix+ev.ID).Result()
	if err != nil {
		t.Fatal(err)
	}
	for f, v := range got {
		if !strings.HasPrefix(v, effectDone+" ") {
			t.Errorf("effect %s is %q, want done", f, v)
		}
	}
	if len(got) != 2 {
		t.Errorf("effects record %v, want 2 effects", got)
	}
	if ttl := e.rdb.TTL(context.Background(), effectsPrefix+ev.ID).Val(); ttl < 23*time.Hour {
		t.Errorf("effects record TTL %v, want about %v", ttl, EffectsTTL)
	}
}

// TestEffectInflightSkipped: a consumer died after claiming an effect and
// before Slack answered. The redelivery does not make it again.
func TestEffectInflightSkipped(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.identify()
	ev := e.message(said{user: "alice", channel: "dm", text: "books"})
	field := effectField("command books", 1)
	if err := e.rdb.HSet(context.Background(), effectsPrefix+ev.ID, field, effectInflight+" reply in D").Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.handle(ev, 2); err != nil {
		t.Fatal(err)
	}
	if calls := e.slack.Calls(); len(calls) != 0 {
		t.Errorf("Slack calls for an inflight effect:\n%s", e.slack.RenderCalls(calls))
	}
}

// TestSlackFailsThenWorks: Slack turns chat.postMessage away (503) past the
// client's retries, so the handling fails and the queue retries it; the
// claim was given back, so the retry posts, once.
func TestSlackFailsThenWorks(t *testing.T) {
	e := failThenWork(t, "chat.postMessage", slackfake.Fault{Status: 503, Times: 2})
	if n := len(e.slack.CallsTo("reactions.add")); n != 1 {
		t.Errorf("%d reactions.add calls, want 1: the reaction made on the first attempt was repeated", n)
	}
	if !strings.Contains(e.logs.String(), "Slack call failed") {
		t.Errorf("the failed call was not logged")
	}
}

// failThenWork hands a thanked mention to the consumer while Slack fails
// method with fault past the client's two attempts: the first handling
// fails for a retry, the second makes the reply and the reaction.
func failThenWork(t *testing.T, method string, fault slackfake.Fault) *env {
	t.Helper()
	e := newEnv(t, envOptions{slackOptions: []slackapi.Option{slackapi.WithMaxAttempts(2)}})
	e.identify()
	e.slack.Inject(method, fault)
	ev := e.mention(said{user: "carol", channel: "general", text: "<@U0GOPHBOT> thanks! ┻━┻"})
	err := e.handle(ev, 1)
	if err == nil || errors.Is(err, workqueue.ErrPermanent) {
		t.Fatalf("first handling: %v; want a transient error", err)
	}
	if err := e.handle(ev, 2); err != nil {
		t.Fatalf("second handling: %v", err)
	}
	want := []string{"chat.postMessage #general", "reactions.add #general :heart:"}
	if diff := cmp.Diff(want, heads(e.seen()), cmpSorted); diff != "" {
		t.Errorf("visible calls (-want +got):\n%s", diff)
	}
	return e
}

// TestSlack503Once: one 503 is retried inside the call.
func TestSlack503Once(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.start()
	e.slack.Inject("chat.postMessage", slackfake.Fault{Status: 503})
	e.publish(e.message(said{user: "alice", channel: "dm", text: "books"}))
	e.waitIdle()
	if diff := cmp.Diff([]string{"chat.postMessage @alice"}, heads(e.seen())); diff != "" {
		t.Errorf("visible calls (-want +got):\n%s", diff)
	}
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 2 {
		t.Errorf("%d chat.postMessage calls, want 2 (a 503, then the post)", n)
	}
}

// TestOutcomeUnknownNotRepeated: Slack may have posted a reply it answered
// with a 500, or whose answer was lost; neither the client nor the queue's
// retry posts it again. The other effects of the event are made.
func TestOutcomeUnknownNotRepeated(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault func(e *env)
		opts  []slackapi.Option
	}{
		{"500", func(e *env) { e.slack.Inject("chat.postMessage", slackfake.Fault{Status: 500}) }, nil},
		{"answer lost", func(*env) {}, []slackapi.Option{slackapi.WithHTTPClient(&http.Client{
			Timeout: 30 * time.Second, Transport: &lostAnswer{base: http.DefaultTransport.(*http.Transport).Clone()},
		})}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{slackOptions: tt.opts})
			e.identify()
			tt.fault(e)
			ev := e.mention(said{user: "carol", channel: "general", text: "<@U0GOPHBOT> thanks! ┻━┻"})
			err := e.handle(ev, 1)
			if !errors.Is(err, slackapi.ErrOutcomeUnknown) || errors.Is(err, workqueue.ErrPermanent) {
				t.Fatalf("first handling: %v; want a transient error with an unknown outcome", err)
			}
			if err := e.handle(ev, 2); err != nil {
				t.Fatalf("second handling: %v", err)
			}
			if n := len(e.slack.CallsTo("chat.postMessage")); n != 1 {
				t.Errorf("%d chat.postMessage calls, want 1: a post that may have gone out was repeated", n)
			}
			if n := len(e.slack.CallsTo("reactions.add")); n != 1 {
				t.Errorf("%d reactions.add calls, want 1", n)
			}
			if !strings.Contains(e.logs.String(), "outcome unknown") {
				t.Errorf("the unknown outcome was not logged")
			}
		})
	}
}

// lostAnswer lets the first chat.postMessage reach Slack, then loses
// Slack's answer as a connection reset would.
type lostAnswer struct {
	base http.RoundTripper
	done atomic.Bool
}

func (l *lostAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(req)
	if err == nil && strings.HasSuffix(req.URL.Path, "/chat.postMessage") && l.done.CompareAndSwap(false, true) {
		resp.Body.Close()
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	return resp, err
}

// TestPermanentDoesNotMaskTransient: one handler of a message fails for
// good (a reaction Slack refuses for want of a permission) while another fails for a reason a retry
// fixes (Slack turns the reply away). The event is retried, not
// dead-lettered at once: the reply goes out on the retry.
func TestPermanentDoesNotMaskTransient(t *testing.T) {
	e := newEnv(t, envOptions{slackOptions: []slackapi.Option{slackapi.WithMaxAttempts(1)}})
	e.slack.Inject("reactions.add", slackfake.Fault{Error: "no_permission", Times: 100})
	e.slack.Inject("chat.postMessage", slackfake.Fault{Status: 503})
	e.start()
	e.publish(e.mention(said{user: "carol", channel: "general", text: "<@U0GOPHBOT> thanks! ┻━┻"}))
	e.waitIdle()
	if diff := cmp.Diff([]string{"chat.postMessage #general"}, heads(e.seen())); diff != "" {
		t.Errorf("visible calls (-want +got):\n%s\nthe turned-away reply was not retried", diff)
	}
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 2 {
		t.Errorf("%d chat.postMessage calls, want 2 (a 503, then the post on the queue's retry)", n)
	}
	// The reaction keeps failing for good: once the reply is out, the
	// event goes to the dead letters with that reason.
	dead, err := e.q.DeadLetters(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || !strings.Contains(dead[0].Reason, "no_permission") {
		t.Errorf("dead letters = %+v; want the event, for no_permission", dead)
	}
}

// TestRetryAfterPassedToQueue: a 429 whose Retry-After does not fit the
// handler's deadline fails the handling at once, and the queue's retry
// waits out the Retry-After instead of its own, shorter backoff.
func TestRetryAfterPassedToQueue(t *testing.T) {
	e := newEnv(t, envOptions{settings: map[string]string{"HANDLER_TIMEOUT": "1s", "QUEUE_CLAIM_IDLE": "3s"}})
	e.slack.RateLimit("conversations.open", 2, 1)
	e.start()
	e.publish(e.teamJoin("dora", time.Now()))
	e.waitIdle()
	calls := e.slack.CallsTo("conversations.open")
	if len(calls) != 2 || calls[0].Status != 429 || !calls[1].OK() {
		t.Fatalf("calls:\n%s\nwant a 429, then the open", e.slack.RenderCalls(calls))
	}
	if gap := calls[1].Time.Sub(calls[0].Time); gap < 2*time.Second {
		t.Errorf("conversations.open called again %s after a 429 with Retry-After 2s", gap)
	}
	if diff := cmp.Diff([]string{"chat.postMessage @dora"}, heads(e.seen())); diff != "" {
		t.Errorf("visible calls (-want +got):\n%s", diff)
	}
}

// TestRateLimited: a 429 is waited out as Retry-After says.
func TestRateLimited(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.start()
	e.slack.RateLimit("chat.postMessage", 1, 1)
	e.publish(e.message(said{user: "alice", channel: "dm", text: "books"}))
	e.waitIdle()
	calls := e.slack.CallsTo("chat.postMessage")
	if len(calls) != 2 || calls[0].Status != 429 || !calls[1].OK() {
		t.Fatalf("calls:\n%s\nwant a 429, then the post", e.slack.RenderCalls(calls))
	}
	if gap := calls[1].Time.Sub(calls[0].Time); gap < time.Second {
		t.Errorf("retried after %v, before the Retry-After of 1s", gap)
	}
}

// TestPermanentSlackError: what Slack will refuse again is not retried.
func TestPermanentSlackError(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.identify()
	e.slack.Inject("chat.postMessage", slackfake.Fault{Error: "is_archived"})
	ev := e.message(said{user: "alice", channel: "dm", text: "books"})
	if err := e.handle(ev, 1); !errors.Is(err, workqueue.ErrPermanent) {
		t.Errorf("handle: %v; want an error wrapping ErrPermanent", err)
	}
}

func TestUndecodableIsDeadLettered(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.start()
	e.publish(queued{Event: workqueue.Event{ID: "EvBAD", Kind: "message.channel", Body: []byte(`{"type":"event_callback","event":`)}})
	e.waitIdle()
	st, err := e.q.Stats(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.DeadLetters != 1 {
		t.Errorf("%d dead letters, want 1", st.DeadLetters)
	}
}

func TestTokenRejected(t *testing.T) {
	e := newEnv(t, envOptions{})
	// A token the fake does not know.
	e.c.slack = slackapi.New("xoxb-wrong", e.cfg.SlackAPIURL, e.rdb, e.c.base)
	err := e.c.Run(context.Background())
	if !errors.Is(err, slackapi.ErrTokenRejected) || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN") {
		t.Errorf("Run = %v; want ErrTokenRejected naming SLACK_BOT_TOKEN", err)
	}
}

// TestUnaddableReactionSkipped: a reaction with an emoji the workspace does
// not have (invalid_name), or on a message deleted before it came
// (message_not_found), is skipped with a log line; the event's other effects
// are made and nothing goes to the dead letters.
func TestUnaddableReactionSkipped(t *testing.T) {
	for _, tc := range []struct{ code, logged string }{
		{"invalid_name", "no such emoji"},
		{"message_not_found", "the message is gone"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.slack.Inject("reactions.add", slackfake.Fault{Error: tc.code, Times: 100})
			e.start()
			e.publish(e.mention(said{user: "carol", channel: "general", text: "<@U0GOPHBOT> thanks! ┻━┻"}))
			e.waitIdle()
			if diff := cmp.Diff([]string{"chat.postMessage #general"}, heads(e.seen())); diff != "" {
				t.Errorf("visible calls (-want +got):\n%s", diff)
			}
			if n := len(e.slack.CallsTo("reactions.add")); n != 1 {
				t.Errorf("%d reactions.add calls, want 1: not retried", n)
			}
			if dead, err := e.q.DeadLetters(context.Background(), 0); err != nil || len(dead) != 0 {
				t.Errorf("dead letters = %+v, %v; want none", dead, err)
			}
			if !strings.Contains(e.logs.String(), tc.logged) {
				t.Errorf("the skipped reaction was not logged as %q", tc.logged)
			}
		})
	}
}

// TestShadowChannelJoins: shadow mode logs what production would do with a
// channel join: an ephemeral welcome in the newbies channel, and nothing
// for a join anywhere else (production welcomes nobody there).
func TestShadowChannelJoins(t *testing.T) {
	e := newEnv(t, envOptions{settings: map[string]string{"GOPHERBOT_ENV": "staging"}})
	e.identify()
	if err := e.handle(e.joined("alice", "general", time.Now()), 1); err != nil {
		t.Fatal(err)
	}
	if logs := e.logs.String(); strings.Contains(logs, "shadow: would") {
		t.Errorf("a join to #general logged as a welcome production would send:\n%s", logs)
	}
	if err := e.handle(e.joined("bob", "newbies", time.Now()), 1); err != nil {
		t.Fatal(err)
	}
	if want := "shadow: would send ephemeral to " + e.userID("bob"); !strings.Contains(e.logs.String(), want) {
		t.Errorf("logs lack %q", want)
	}
	for _, c := range e.slack.Calls() {
		if effects[c.Method] {
			t.Errorf("shadow mode sent %s", e.slack.Render(c))
		}
	}
}
