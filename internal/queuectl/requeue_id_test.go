package queuectl_test

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/workqueue"
)

// TestRequeueIncompleteID: two dead letters written in the same
// millisecond get IDs ms-0 and ms-1. Once ms-0 is gone, "requeue ms" (an ID
// without its sequence part) must not read ms-1 (XRANGE takes ms as the
// whole millisecond), publish it and delete ms-0 (XDEL takes ms as ms-0),
// reporting success; a later "requeue -all" would then publish the event a
// second time.
func TestRequeueIncompleteID(t *testing.T) {
	rdb := redistest.Start(t).Client()
	q := workqueue.New(rdb, workqueue.Options{Consumer: "c", Block: 50 * time.Millisecond, Log: zerolog.Nop()})
	t.Cleanup(func() { q.Close() })
	ctx := t.Context()
	for _, id := range []string{"1700000000000-0", "1700000000000-1"} {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.DeadLetterKey(), ID: id, Values: []any{
			"kind", slackevent.TeamJoin, "entry", "1-1", "id", "Ev" + id, "body", "{}",
			"reason", "test", "attempts", 5, "consumer", "c",
		}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := run(t, q, "discard", "1700000000000-0"); err != nil {
		t.Fatal(err)
	}

	out, errs, err := run(t, q, "requeue", "1700000000000")
	t.Logf("requeue 1700000000000: out %q, stderr %q, err %v", out, errs, err)
	left, _ := q.DeadLetters(ctx, 0)
	s, _ := q.Stats(ctx, slackevent.All)
	published := s.Streams[slackevent.TeamJoin].Length
	if err == nil && (len(left) != 0 || published != 1) {
		t.Errorf("requeue said %q and succeeded, but %d dead letters remain (%v) and %d entries were published: not atomic",
			strings.TrimSpace(out), len(left), left, published)
	}
	out, _, _ = run(t, q, "requeue", "-all")
	if s, _ := q.Stats(ctx, slackevent.All); s.Streams[slackevent.TeamJoin].Length > 1 {
		t.Errorf("after requeue -all (%q), event Ev1700000000000-1 is in its stream %d times", strings.TrimSpace(out), s.Streams[slackevent.TeamJoin].Length)
	}
}
