package workqueue

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
)

// A consumer reports the queue's state now and then, and warns about new
// dead letters and about entries pending for too long.
func TestConsumeReportsStats(t *testing.T) {
	rdb := redistest.Start(t).Client()
	kind := slackevent.TeamJoin
	opts := fastOptions("reporter")
	opts.HandlerTimeout, opts.ClaimIdle = 100*time.Millisecond, 300*time.Millisecond
	opts.StatsInterval = 50 * time.Millisecond
	opts.MaxDeliveries = 1000
	opts.Backoff = func(int) time.Duration { return 50 * time.Millisecond }
	q, lb := newQueue(t, rdb, opts)
	rec := newRecorder(func(ctx context.Context, d *Delivery) error {
		switch d.ID {
		case "EvPoison":
			return Permanent(errors.New("cannot parse"))
		case "EvFlaky":
			return errors.New("Slack is down")
		}
		return nil
	})
	consume(t, q, []string{kind}, rec)
	waitUntil(t, "a first report", func() bool { return strings.Contains(lb.String(), `"message":"queue stats"`) })

	mustPublish(t, q, Event{ID: "EvPoison", Kind: kind, Body: []byte("x")})
	waitUntil(t, "a warning about the dead letter", func() bool {
		return strings.Contains(lb.String(), `"new":1,"dead_letters":1`) &&
			strings.Contains(lb.String(), "new dead letters since the last report")
	})
	if !strings.Contains(lb.String(), `"streams":{"team_join":{"length":`) {
		t.Errorf("the report lacks the stream's backlog:\n%s", lb.String())
	}

	mustPublish(t, q, Event{ID: "EvFlaky", Kind: kind, Body: []byte("x")})
	waitUntil(t, "a warning about the entry retried too long", func() bool {
		return strings.Contains(lb.String(), "an entry has been pending too long")
	})
	if n := strings.Count(lb.String(), "new dead letters since the last report"); n != 1 {
		t.Errorf("%d dead-letter warnings; want 1 (one dead letter)", n)
	}
}
