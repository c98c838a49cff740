package bgtasks

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
