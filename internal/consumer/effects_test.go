package consumer

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/handler"
	"github.com/gophers/gopherbot/internal/slackfake"
	"github.com/gophers/gopherbot/workqueue"
)

// TestEffectCutOff: a call that the handler's deadline cut off may have
// reached Slack. Its claim stays, so the retry does not make it again.
func TestEffectCutOff(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.identify()
	release := make(chan struct{})
	var once sync.Once
	stop := e.slack.OnCall(func(c slackfake.Call) {
		if c.Method == "chat.postMessage" {
			once.Do(func() { <-release })
		}
	})
	defer stop()

	ev := e.message(said{user: "alice", channel: "dm", text: "books"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err := e.c.Handle(ctx, &workqueue.Delivery{Event: ev.Event, EntryID: "1-0", Attempt: 1})
	cancel()
	close(release)
	if err == nil {
		t.Fatal("handle: no error for a call cut off by the deadline")
	}
	field := effectField("command books", 1)
	state := e.rdb.HGet(context.Background(), effectsPrefix+ev.ID, field).Val()
	if !strings.HasPrefix(state, effectInflight+" ") {
		t.Errorf("effect %s is %q after a cut-off call, want inflight", field, state)
	}
	if _, err := e.slack.WaitMethod(context.Background(), "chat.postMessage", 1); err != nil {
		t.Fatal(err)
	}
	if err := e.handle(ev, 2); err != nil {
		t.Fatal(err)
	}
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 1 {
		t.Errorf("%d chat.postMessage calls, want 1", n)
	}
}

// TestEffectsNumberedPerHandler: one handler of a message fails before its
// reply while another reacts; on the retry the reply is made and the
// reaction is not repeated.
func TestEffectsNumberedPerHandler(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.identify()
	var calls int
	e.c.Mux().Match("flaky", "Fails once, then answers.",
		func(m *handler.Message) bool { return strings.Contains(m.Text, "zzflaky") },
		handler.HandlerFunc(func(ctx context.Context, m *handler.Message, r handler.Responder) error {
			calls++
			if calls == 1 {
				return errors.New("a dependency is down")
			}
			return r.Reply(ctx, "flaky answer")
		}))
	ev := e.mention(said{user: "carol", channel: "general", text: "<@U0GOPHBOT> thanks zzflaky"})
	if err := e.handle(ev, 1); err == nil {
		t.Fatal("first handling: no error")
	}
	if err := e.handle(ev, 2); err != nil {
		t.Fatalf("second handling: %v", err)
	}
	want := []string{"chat.postMessage #general: flaky answer", "reactions.add #general :heart:"}
	var got []string
	for _, c := range e.slack.Calls() {
		got = append(got, e.slack.Render(c))
	}
	if diff := cmp.Diff(want, got, cmpSorted); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// resend runs every MULTI twice, as go-redis does when the connection
// breaks after Redis ran it and before its reply came back.
type resend struct{}

func (resend) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (resend) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (resend) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if err := next(ctx, cmds); err != nil {
			return err
		}
		return next(ctx, cmds)
	}
}

// TestLedgerClaimReplyLost: a claim whose reply was lost and which go-redis
// sent again is still ours; the effect is made, not skipped as if an
// earlier handling had made it.
func TestLedgerClaimReplyLost(t *testing.T) {
	e := newEnv(t, envOptions{})
	rdb := e.redis.Client()
	rdb.AddHook(resend{})
	l := newLedger(rdb)
	ctx := context.Background()
	ok, prev, err := l.claim(ctx, "Ev1", "r#1", "reply")
	if err != nil || !ok {
		t.Fatalf("claim sent twice = %v, %q, %v; want true", ok, prev, err)
	}
	if ok, _, _ := l.claim(ctx, "Ev1", "r#1", "reply"); ok {
		t.Fatal("another claim of the same effect = true, want false")
	}
}

// TestLedger checks the claim protocol on its own.
func TestLedger(t *testing.T) {
	e := newEnv(t, envOptions{})
	l := newLedger(e.rdb)
	ctx := context.Background()
	ok, _, err := l.claim(ctx, "Ev1", "r#1", "reply")
	if err != nil || !ok {
		t.Fatalf("first claim = %v, %v; want true", ok, err)
	}
	ok, prev, err := l.claim(ctx, "Ev1", "r#1", "reply")
	if err != nil || ok || !regexp.MustCompile(`^inflight [0-9a-f]{16} reply$`).MatchString(prev) {
		t.Fatalf("second claim = %v, %q, %v; want false, \"inflight <token> reply\"", ok, prev, err)
	}
	if err := l.release(ctx, "Ev1", "r#1"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := l.claim(ctx, "Ev1", "r#1", "reply"); !ok {
		t.Fatal("claim after release = false, want true")
	}
	if err := l.done(ctx, "Ev1", "r#1", "reply"); err != nil {
		t.Fatal(err)
	}
	if ok, prev, _ := l.claim(ctx, "Ev1", "r#1", "reply"); ok || prev != "done reply" {
		t.Fatalf("claim after done = %v, %q; want false, \"done reply\"", ok, prev)
	}
	// Another event, or another effect, is its own.
	if ok, _, _ := l.claim(ctx, "Ev2", "r#1", "reply"); !ok {
		t.Error("claim of another event = false")
	}
	if ok, _, _ := l.claim(ctx, "Ev1", "r#2", "reply"); !ok {
		t.Error("claim of another effect = false")
	}

	// Redis down: the claim fails, and so does the handling (to be retried).
	e.redis.Stop()
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, _, err := l.claim(dctx, "Ev3", "r#1", "reply"); err == nil {
		t.Error("claim with Redis down: no error")
	}
}

// TestLedgerClaimLostForGood: a claim whose reply was lost and which
// go-redis did not send again fails, though Redis wrote it; the retry of
// the same effect in this process finds its own claim and makes the effect,
// while another handling (another process) still skips it.
func TestLedgerClaimLostForGood(t *testing.T) {
	e := newEnv(t, envOptions{})
	proxy := e.redis.NewCutProxy(t)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	l := newLedger(rdb)
	ctx := context.Background()
	proxy.Arm("hsetnx", "Ev1")
	if ok, _, err := l.claim(ctx, "Ev1", "r#1", "reply"); err == nil || ok {
		t.Fatalf("claim with its reply cut = %v, %v; want an error", ok, err)
	}
	if proxy.Cuts() != 1 {
		t.Fatalf("%d replies cut; want 1", proxy.Cuts())
	}
	if v := e.rdb.HGet(ctx, effectsPrefix+"Ev1", "r#1").Val(); v == "" {
		t.Fatal("the cut claim was not written; the test shows nothing")
	}
	if ok, _, _ := newLedger(e.rdb).claim(ctx, "Ev1", "r#1", "reply"); ok {
		t.Fatal("another process's claim of the effect = true; want false")
	}
	ok, prev, err := l.claim(ctx, "Ev1", "r#1", "reply")
	if err != nil || !ok {
		t.Fatalf("the retry's claim = %v, %q, %v; want true (the claim is this process's)", ok, prev, err)
	}
}

// TestLedgerClaimMessage: of the events that carry one message, the first
// to claim it answers it; its retries (and a claim go-redis sent twice)
// still find it theirs.
func TestLedgerClaimMessage(t *testing.T) {
	e := newEnv(t, envOptions{})
	rdb := e.redis.Client()
	rdb.AddHook(resend{})
	l := newLedger(rdb)
	ctx := context.Background()
	if ok, owner, err := l.claimMessage(ctx, "C1", "1700000000.000100", "Ev1"); err != nil || !ok {
		t.Fatalf("first claim (sent twice) = %v, %q, %v; want true", ok, owner, err)
	}
	if ok, owner, err := l.claimMessage(ctx, "C1", "1700000000.000100", "Ev2"); err != nil || ok || owner != "Ev1" {
		t.Fatalf("the twin's claim = %v, %q, %v; want false, Ev1", ok, owner, err)
	}
	if ok, _, err := newLedger(e.rdb).claimMessage(ctx, "C1", "1700000000.000100", "Ev1"); err != nil || !ok {
		t.Fatalf("the retry's claim in another process = %v, %v; want true", ok, err)
	}
	if ok, _, _ := l.claimMessage(ctx, "C1", "1700000000.000200", "Ev2"); !ok {
		t.Error("claim of another message = false")
	}
	if ttl := e.rdb.TTL(ctx, messagePrefix+"C1:1700000000.000100").Val(); ttl < 23*time.Hour {
		t.Errorf("message claim TTL %v, want about %v", ttl, EffectsTTL)
	}
}
