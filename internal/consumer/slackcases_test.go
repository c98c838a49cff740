package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gophers/gopherbot/handler"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/internal/slackfake"
	"github.com/gophers/gopherbot/internal/welcomed"
	"github.com/gophers/gopherbot/workqueue"
)

// edited returns the app_mention Slack sends again when someone edits a
// message that mentions the bot: a new event ID, the message's own ts, and
// an "edited" field.
func (e *env) edited(q queued, text string) queued {
	e.t.Helper()
	var env map[string]any
	if err := json.Unmarshal(q.Body, &env); err != nil {
		e.t.Fatal(err)
	}
	ev := env["event"].(map[string]any)
	ev["text"] = text
	now := time.Now()
	ev["edited"] = map[string]any{"user": ev["user"], "ts": fmt.Sprintf("%d.000000", now.Unix())}
	id := e.eventID()
	env["event_id"] = id
	env["event_time"] = now.Unix()
	b, err := json.Marshal(env)
	if err != nil {
		e.t.Fatal(err)
	}
	return queued{q.kind, workqueue.Event{ID: id, Kind: q.Kind, Body: b}}
}

// TestEditedMentionNotAnsweredAgain: fixing a typo in a message that
// mentions the bot makes Slack send a second app_mention for the same
// message, within seconds. The bot answered the first; it does not answer
// again.
func TestEditedMentionNotAnsweredAgain(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.start()
	first := e.mention(said{user: "carol", channel: "general", text: "<@U0GOPHBOT> books"})
	e.publish(first)
	e.waitIdle()
	e.publish(e.edited(first, "<@U0GOPHBOT> books!"))
	e.waitIdle()
	if diff := cmp.Diff([]string{"chat.postMessage #general"}, heads(e.seen())); diff != "" {
		t.Errorf("visible calls (-want +got):\n%s", diff)
	}
}

// TestReactionRepeatedAfterUnknownOutcome: Slack answered reactions.add
// with a 500 every time the client tried. Adding a reaction twice changes
// nothing (already_reacted), so the queue's retry adds it, instead of
// giving it up as a post whose outcome is unknown would be.
func TestReactionRepeatedAfterUnknownOutcome(t *testing.T) {
	e := failThenWork(t, "reactions.add", slackfake.Fault{Status: 500, Times: 2})
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 1 {
		t.Errorf("%d chat.postMessage calls, want 1", n)
	}
}

// TestWelcomeWhenOpeningTheDMFailed: conversations.open failed with 500s
// (Slack may have opened the DM, but nothing was posted). The welcome is
// not given up as one that may have gone out: the retry sends it. Slack
// never sends a team_join again, so a welcome given up is lost for good.
func TestWelcomeWhenOpeningTheDMFailed(t *testing.T) {
	e := newEnv(t, envOptions{slackOptions: []slackapi.Option{slackapi.WithMaxAttempts(2)}})
	e.identify()
	e.slack.Inject("conversations.open", slackfake.Fault{Status: 500, Times: 2})
	ev := e.teamJoin("dora", time.Now())
	err := e.handle(ev, 1)
	if err == nil || errors.Is(err, workqueue.ErrPermanent) {
		t.Fatalf("first handling: %v; want a transient error", err)
	}
	if errors.Is(err, slackapi.ErrOutcomeUnknown) {
		t.Errorf("first handling: %v; nothing was posted, so the outcome is known", err)
	}
	if err := e.handle(ev, 2); err != nil {
		t.Fatalf("second handling: %v", err)
	}
	if diff := cmp.Diff([]string{"chat.postMessage @dora"}, heads(e.seen())); diff != "" {
		t.Errorf("visible calls (-want +got):\n%s", diff)
	}
	if n, err := e.rdb.HLen(context.Background(), welcomed.Key).Result(); err != nil || n != 1 {
		t.Errorf("welcomed record has %d members (err %v), want 1", n, err)
	}
}

// runInBackground starts Run, whose ctx ends with the test, and returns
// where what Run returns arrives.
func (e *env) runInBackground() <-chan error {
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- e.c.Run(ctx) }()
	return done
}

// rejectToken has Slack reject the token and publishes ev, which meets the
// rejection. It returns what Run (started by runInBackground, returning
// on done) then returns, failing the test if Run runs on for 15s.
func (e *env) rejectToken(done <-chan error, ev queued) error {
	e.t.Helper()
	e.slack.RevokeToken()
	e.publish(ev)
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		e.t.Fatal("Run still running 15s after Slack rejected the token")
		return nil
	}
}

// A token Slack rejects mid-run stops the consumer with an error that says
// so, and the event that met it waits in the queue for a new token instead
// of going to the dead letters (as every event after it would).
func TestTokenRejectedMidRunStops(t *testing.T) {
	// One delivery allowed: the event that meets the rejection is on its
	// last attempt, and still not dead-lettered.
	e := newEnv(t, envOptions{settings: map[string]string{"QUEUE_MAX_DELIVERIES": "1"}})
	done := e.runInBackground()
	e.publish(e.message(said{user: "alice", channel: "dm", text: "define goroutine"}))
	e.waitIdle()
	err := e.rejectToken(done, e.message(said{user: "alice", channel: "dm", text: "define channel"}))
	if !errors.Is(err, slackapi.ErrTokenRejected) || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN") {
		t.Fatalf("Run = %v; want an error wrapping ErrTokenRejected that names SLACK_BOT_TOKEN", err)
	}
	st, serr := e.q.Stats(context.Background(), slackevent.All)
	if serr != nil {
		t.Fatal(serr)
	}
	if st.DeadLetters != 0 {
		t.Errorf("%d dead letters; want none, the event waits for a new token", st.DeadLetters)
	}
	var waiting int64
	for _, s := range st.Streams {
		waiting += s.Length
	}
	if waiting != 1 {
		t.Errorf("%d events in the streams; want the one that met the rejected token", waiting)
	}
}

// A rejection signalled before Run started (by a handling that ended after
// an earlier Run stopped) does not stop a Run whose token works.
func TestRunForgetsEarlierRejection(t *testing.T) {
	e := newEnv(t, envOptions{})
	notify(e.c.tokenRejected)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.c.Run(ctx) }()
	e.publish(e.message(said{user: "alice", channel: "dm", text: "define goroutine"}))
	e.waitIdle()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v; want nil after a cancel", err)
	}
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 1 {
		t.Errorf("%d posts; want the answer to define goroutine", n)
	}
}

// TestTokenRejectedBesideTransientFailure: Slack rejects the token for one
// handler of a message while another fails for a reason a retry may fix.
// The rejection still stops the consumer, and the event keeps its attempt
// (it waits for a new token), instead of being retried like any failure
// until it goes to the dead letters.
func TestTokenRejectedBesideTransientFailure(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.identify()
	e.c.Mux().Match("flaky", "Fails for a retry.",
		func(m *handler.Message) bool { return strings.Contains(m.Text, "zzflaky") },
		handler.HandlerFunc(func(ctx context.Context, m *handler.Message, r handler.Responder) error {
			return errors.New("a dependency is down")
		}))
	e.slack.RevokeToken()
	err := e.handle(e.message(said{user: "alice", channel: "dm", text: "thanks zzflaky"}), 1)
	if !errors.Is(err, workqueue.ErrNotAttempted) {
		t.Errorf("handle = %v; want an error wrapping workqueue.ErrNotAttempted", err)
	}
	select {
	case <-e.c.tokenRejected:
	default:
		t.Error("the rejected token was not signalled: Run would not stop")
	}
}

// TestStaleRedeliveryWarns: a message whose earlier handling failed (or
// whose consumer died) and that is too old when it comes round again is
// never answered: that is logged as a warning, not as the routine drop of
// a backlog.
func TestStaleRedeliveryWarns(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.identify()
	old := time.Now().Add(-time.Minute)
	if err := e.handle(e.message(said{user: "alice", channel: "dm", text: "books", at: old}), 1); err != nil {
		t.Fatal(err)
	}
	if err := e.handle(e.message(said{user: "bob", channel: "dm", text: "books", at: old}), 2); err != nil {
		t.Fatal(err)
	}
	if calls := e.slack.Calls(); len(calls) != 0 {
		t.Errorf("Slack calls for stale messages:\n%s", e.slack.RenderCalls(calls))
	}
	var levels []string
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var l struct{ Level, Message string }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(l.Message, "stale") || strings.Contains(l.Message, "too old") {
			levels = append(levels, l.Level)
		}
	}
	if diff := cmp.Diff([]string{"info", "warn"}, levels); diff != "" {
		t.Errorf("levels of the drops, first delivery then redelivery (-want +got):\n%s", diff)
	}
}

// TestWelcomeToDeactivatedMember: a member deactivated between joining and
// their welcome (a spam account removed while the consumer caught up)
// cannot be sent a DM (user_disabled). Nothing is left to do: no dead
// letter and no error for an operator to look into, an info line instead.
func TestWelcomeToDeactivatedMember(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.start()
	u, err := e.slack.AddUser(slackfake.User{Name: "spammer", Deleted: true})
	if err != nil {
		t.Fatal(err)
	}
	// The team_join was sent while the account was still active.
	ev := map[string]any{"type": "team_join", "user": map[string]any{"id": u.ID, "name": u.Name, "deleted": false}}
	id := e.eventID()
	e.publish(queued{slackevent.TeamJoin, workqueue.Event{ID: id, Kind: slackevent.TeamJoin, Body: e.envelope(id, time.Now(), ev)}})
	e.waitIdle()
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 0 {
		t.Errorf("%d chat.postMessage calls, want none", n)
	}
	st, err := e.q.Stats(context.Background(), slackevent.All)
	if err != nil {
		t.Fatal(err)
	}
	if st.DeadLetters != 0 {
		t.Errorf("%d dead letters; want none: there is nothing to retry or fix", st.DeadLetters)
	}
	if strings.Contains(e.logs.String(), `"level":"error"`) {
		t.Errorf("an error was logged for a member who is gone")
	}
	if !strings.Contains(e.logs.String(), "deactivated") {
		t.Errorf("no log line says the member is deactivated")
	}
}
