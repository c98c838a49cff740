package bgtasks

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/slackfake"
)

func TestGoTimeOncePerDay(t *testing.T) {
	e := newEnv(t)
	e.cfg.GoTimePollInterval = time.Minute
	r := e.runner("a", Options{Now: e.clock.Now})
	ctx := context.Background()
	round := func() {
		t.Helper()
		if err := r.RunTask(ctx, "gotime"); err != nil {
			t.Fatal(err)
		}
	}

	round() // off air
	e.live.SetLive("Go Time #300: Generics, two years on", "https://changelog.com/live", e.clock.Now())
	round()
	e.clock.Add(time.Minute)
	round() // still live: said already
	e.live.SetOffAir()
	e.clock.Add(time.Hour)
	round()
	e.live.SetLive("Go Time #300 (again, after a glitch)", "https://changelog.com/live", e.clock.Now())
	round() // back on air the same day: not again

	e.clock.Add(7 * 24 * time.Hour)
	e.live.SetLive("Go Time #301", "", e.clock.Now())
	round()

	want := []string{
		":studio_microphone: Go Time is live right now: Go Time #300: Generics, two years on\nCome listen along and chat with the panel: https://changelog.com/live",
		":studio_microphone: Go Time is live right now: Go Time #301\nCome listen along and chat with the panel.",
	}
	if diff := cmp.Diff(want, e.posts("gotimefm")); diff != "" {
		t.Errorf("posts (-want +got):\n%s", diff)
	}
}

// A post Slack refused gives the day's claim back, so the next poll
// announces; the earlier announcement's time is restored with it.
func TestGoTimeRefusedPostRetried(t *testing.T) {
	e := newEnv(t)
	e.cfg.GoTimePollInterval = time.Minute
	r := e.runner("a", Options{Now: e.clock.Now})
	ctx := context.Background()
	e.live.SetLive("Go Time #302", "https://changelog.com/live", e.clock.Now())
	e.slack.Inject("chat.postMessage", slackfake.Fault{Error: "channel_not_found"})
	if err := r.RunTask(ctx, "gotime"); err == nil {
		t.Fatal("RunTask with the post refused: want an error")
	}
	if got := e.posts("gotimefm"); len(got) != 0 {
		t.Fatalf("posts = %q; want none yet", got)
	}
	if err := r.RunTask(ctx, "gotime"); err != nil {
		t.Fatal(err)
	}
	if err := r.RunTask(ctx, "gotime"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("gotimefm"); len(got) != 1 {
		t.Fatalf("posts = %q; want one announcement", got)
	}
}

func TestGoTimeText(t *testing.T) {
	const sched = "https://changelog.com/live"
	for _, tc := range []struct {
		name     string
		st       liveStatus
		schedule string
		want     string
	}{
		{"stream and schedule", liveStatus{Live: true, Title: "Go Time 401", URL: "https://example.com/stream"}, sched,
			":studio_microphone: Go Time is live right now: Go Time 401\nCome listen along and chat with the panel: https://example.com/stream\nMissed it? The next shows are listed at " + sched},
		{"no stream link: the schedule page", liveStatus{Live: true}, sched,
			":studio_microphone: Go Time is live right now\nCome listen along and chat with the panel: " + sched},
		{"the same page once", liveStatus{Live: true, URL: sched}, sched,
			":studio_microphone: Go Time is live right now\nCome listen along and chat with the panel: " + sched},
		// The status is another site's answer: its link cannot open a
		// mention (<!channel>) or break the markup.
		{"stream link escaped", liveStatus{Live: true, URL: "https://example.com/live?a=1&b=<!channel>"}, sched,
			":studio_microphone: Go Time is live right now\nCome listen along and chat with the panel: https://example.com/live?a=1&amp;b=&lt;!channel&gt;\nMissed it? The next shows are listed at " + sched},
		{"neither", liveStatus{Live: true, Title: "a <b> & c"}, "",
			":studio_microphone: Go Time is live right now: a &lt;b&gt; &amp; c\nCome listen along and chat with the panel."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := goTimeText(tc.st, tc.schedule); got != tc.want {
				t.Errorf("goTimeText:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// The claim's reply is lost and go-redis runs the claim again: the retry
// finds the record the first run wrote, which is ours, and the show is
// announced; a refused post then puts the previous record back.
func TestGoTimeLostClaimReplyStillAnnounced(t *testing.T) {
	e := newEnv(t)
	e.cfg.GoTimePollInterval = time.Minute
	p := e.redis.NewCutProxy(t)
	r := New(e.cfg, e.logger("a"), p.Client(), e.slackClient(), Options{Now: e.clock.Now})
	ctx := context.Background()
	before := fmt.Sprint(e.clock.Now().Add(-48 * time.Hour).UnixMilli()) // written before claims had tokens
	if err := e.rdb.Set(ctx, goTimeKey, before, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := claimGoTime.Load(ctx, e.rdb).Err(); err != nil {
		t.Fatal(err)
	}
	e.live.SetLive("Go Time #304", "https://changelog.com/live", e.clock.Now())

	// First the post is refused: the claim, won on its retry, is released.
	e.slack.Inject("chat.postMessage", slackfake.Fault{Error: "not_in_channel"})
	p.Arm("evalsha", claimGoTime.Hash())
	if err := r.RunTask(ctx, "gotime"); err == nil {
		t.Fatal("round with the post refused: want an error")
	}
	if p.Cuts() != 1 {
		t.Fatalf("the proxy cut %d replies; want the claim's", p.Cuts())
	}
	if got := e.rdb.Get(ctx, goTimeKey).Val(); got != before {
		t.Errorf("record after the release = %q; want the previous one, %q", got, before)
	}

	// Then it goes out.
	p.Arm("evalsha", claimGoTime.Hash())
	if err := r.RunTask(ctx, "gotime"); err != nil {
		t.Fatalf("round with the claim's reply lost: %v", err)
	}
	if p.Cuts() != 2 {
		t.Fatalf("the proxy cut %d replies; want the claims'", p.Cuts())
	}
	e.clock.Add(time.Minute)
	if err := r.RunTask(ctx, "gotime"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("gotimefm"); len(got) != 1 {
		t.Errorf("posts = %q; want one announcement", got)
	}
}

// A record written before claims had tokens (the time alone) is read as
// before: within the quiet time nothing is announced, after it the show is.
func TestGoTimeOldFormatRecordHonoured(t *testing.T) {
	e := newEnv(t)
	e.cfg.GoTimePollInterval = time.Minute
	r := e.runner("a", Options{Now: e.clock.Now})
	ctx := context.Background()
	if err := e.rdb.Set(ctx, goTimeKey, fmt.Sprint(e.clock.Now().Add(-time.Hour).UnixMilli()), 0).Err(); err != nil {
		t.Fatal(err)
	}
	e.live.SetLive("Go Time #305", "https://changelog.com/live", e.clock.Now())
	if err := r.RunTask(ctx, "gotime"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("gotimefm"); len(got) != 0 {
		t.Fatalf("announced %q an hour after the last announcement; want nothing", got)
	}
	e.clock.Add(goTimeQuiet)
	if err := r.RunTask(ctx, "gotime"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("gotimefm"); len(got) != 1 {
		t.Fatalf("posts = %q; want one announcement after the quiet time", got)
	}
}

// A live announcement Slack refuses for what it says is not tried again
// that day, and the round goes on.
func TestGoTimeRefusedItemNotRetried(t *testing.T) {
	e := newEnv(t)
	e.cfg.GoTimePollInterval = time.Minute
	r := e.runner("a", Options{Now: e.clock.Now})
	ctx := context.Background()
	e.live.SetLive("Go Time #306", "https://changelog.com/live", e.clock.Now())
	e.slack.Inject("chat.postMessage", slackfake.Fault{Error: "msg_too_long"})
	for range 3 {
		if err := r.RunTask(ctx, "gotime"); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Minute)
	}
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 1 {
		t.Errorf("chat.postMessage called %d times; want the refused one once", n)
	}
	logged := e.logLines("a", "Slack refuses this item for good; skipping it for ever, to let the next ones through")
	if len(logged) != 1 || logged[0]["item"] != `live show "Go Time #306"` {
		t.Errorf("logged %v; want one error naming the show", logged)
	}
}

// The day's claim is made but its answer lost (go-redis gave up), or it
// cannot be given back after a post that went nowhere: the next poll
// finds the claim its own and announces the show, once.
func TestGoTimeClaimOutcomeUnknown(t *testing.T) {
	for _, tt := range []struct {
		name   string
		script *redis.Script
		fn     func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error
		fault  bool // Slack refuses the first post
	}{
		{"claim answer lost", claimGoTime, func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
			next(ctx, cmd)
			return errors.New("read tcp: connection reset by peer")
		}, false},
		{"release failed", releaseGoTime, func(context.Context, redis.Cmder, redis.ProcessHook) error {
			return errors.New("dial tcp: connection refused")
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.GoTimePollInterval = time.Minute
			for _, s := range []*redis.Script{claimGoTime, releaseGoTime} {
				if err := s.Load(context.Background(), e.rdb).Err(); err != nil {
					t.Fatal(err)
				}
			}
			rdb := redis.NewClient(&redis.Options{Addr: e.redis.Addr})
			t.Cleanup(func() { rdb.Close() })
			rdb.AddHook(&evalHook{script: tt.script, fn: tt.fn})
			r := New(e.cfg, e.logger("a"), rdb, e.slackClient(), Options{Now: e.clock.Now})
			if tt.fault {
				e.slack.Inject("chat.postMessage", slackfake.Fault{Error: "channel_not_found"})
			}
			e.live.SetLive("Go Time #303", "https://changelog.com/live", e.clock.Now())
			ctx := context.Background()
			if err := r.RunTask(ctx, "gotime"); err == nil {
				t.Fatal("first poll: want an error")
			}
			for range 2 {
				e.clock.Add(time.Minute)
				if err := r.RunTask(ctx, "gotime"); err != nil {
					t.Fatal(err)
				}
			}
			if got := e.posts("gotimefm"); len(got) != 1 {
				t.Errorf("posts = %q; want one announcement", got)
			}
		})
	}
}
