package workqueue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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

// While a consumer catches up on a backlog, its report does not warn that
// an entry has been pending too long: the oldest pending entry was
// published long ago, but it is delivered once and handled now.
func TestReportQuietOnBacklog(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client()
	kind := slackevent.TeamJoin
	opts := fastOptions("reporter")
	opts.HandlerTimeout, opts.ClaimIdle = time.Second, 2*time.Second
	opts.StatsInterval = 20 * time.Millisecond
	q, lb := newQueue(t, rdb, opts)
	old := fmt.Sprintf("%d-0", time.Now().Add(-time.Hour).UnixMilli())
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.StreamKey(kind), ID: old, Values: []any{"id", "EvOld", "body", "x"}}).Err(); err != nil {
		t.Fatal(err)
	}
	running, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	consume(t, q, []string{kind}, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		once.Do(func() { close(running) })
		<-release
		return nil
	}))
	<-running
	reports := strings.Count(lb.String(), `"message":"queue stats"`)
	waitUntil(t, "two reports while the hour-old entry is handled", func() bool {
		return strings.Count(lb.String(), `"message":"queue stats"`) >= reports+2
	})
	close(release)
	if strings.Contains(lb.String(), "an entry has been pending too long") {
		t.Errorf("the report warned about a backlog entry delivered once:\n%s", lb.String())
	}
}
