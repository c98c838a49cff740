package workqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/slackevent"
)

// The all-in-one runs the queue on miniredis: the whole life of an entry
// must work there too, with the commands it implements.
func TestMiniredis(t *testing.T) {
	rdb := miniClient(t)
	ctx := context.Background()
	kinds := []string{slackevent.AppMention, slackevent.TeamJoin}
	opts := fastOptions("local")
	opts.HandlerTimeout, opts.ClaimIdle = 100*time.Millisecond, 300*time.Millisecond
	opts.MaxDeliveries = 3
	q, lb := newQueue(t, rdb, opts)

	// Publish and dedup.
	for _, e := range []Event{
		{ID: "EvOK", Kind: slackevent.AppMention, Body: []byte("ok")},
		{ID: "EvFlaky", Kind: slackevent.AppMention, Body: []byte("flaky")},
		{ID: "EvBad", Kind: slackevent.TeamJoin, Body: []byte("bad")},
	} {
		mustPublish(t, q, e)
	}
	if added, err := q.Publish(ctx, Event{ID: "EvOK", Kind: slackevent.AppMention}); added || err != nil {
		t.Errorf("duplicate Publish = %v, %v; want false, nil", added, err)
	}
	s, err := q.Stats(ctx, kinds)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Streams[slackevent.AppMention], (StreamStats{Length: 2, Lag: 2}); got != want {
		t.Errorf("before consuming: %+v; want %+v", got, want)
	}

	// Two entries of a dead consumer: one to reclaim, one deleted while
	// pending.
	key := q.StreamKey(slackevent.TeamJoin)
	rdb.XGroupCreateMkStream(ctx, key, "gopherbot", "0")
	rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "gopherbot", Consumer: "ghost", Streams: []string{key, ">"}, Block: -1})
	mustPublish(t, q, Event{ID: "EvOrphan", Kind: slackevent.TeamJoin, Body: []byte("orphan")})
	mustPublish(t, q, Event{ID: "EvGone", Kind: slackevent.TeamJoin, Body: []byte("gone")})
	read := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "gopherbot", Consumer: "ghost", Streams: []string{key, ">"}, Count: 2, Block: -1}).Val()
	if len(read) != 1 || len(read[0].Messages) != 2 {
		t.Fatalf("ghost read %+v", read)
	}
	rdb.XDel(ctx, key, read[0].Messages[1].ID)
	// EvBad was read by the ghost too; it is reclaimed and fails for good.

	rec := newRecorder(func(ctx context.Context, d *Delivery) error {
		switch d.ID {
		case "EvFlaky":
			// Its wait exceeds ClaimIdle: touched meanwhile, it is not
			// reclaimed (which would count a third delivery).
			if d.Attempt < 2 {
				return RetryAfter(errors.New("try again"), 500*time.Millisecond)
			}
		case "EvBad":
			return Permanent(errors.New("cannot parse"))
		}
		return nil
	})
	consume(t, q, kinds, rec)
	waitUntil(t, "every entry is settled", func() bool {
		s, err = q.Stats(ctx, kinds)
		if err != nil {
			t.Fatal(err)
		}
		// The counters move just after Redis does: wait for them too.
		return s.Idle() && s.DeadLetters == 1 && s.Vanished == 1 && s.DeadLettered == 1 && s.Acked == 3
	})

	var got []string
	for _, d := range rec.deliveries() {
		got = append(got, fmt.Sprintf("%s#%d", d.ID, d.Attempt))
	}
	slices.Sort(got)
	want := []string{"EvBad#2", "EvFlaky#1", "EvFlaky#2", "EvOK#1", "EvOrphan#2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	dl, err := q.DeadLetters(ctx, 10)
	if err != nil || len(dl) != 1 {
		t.Fatalf("DeadLetters = %+v, %v; want one", dl, err)
	}
	if d := dl[0]; d.EventID != "EvBad" || d.Kind != slackevent.TeamJoin || string(d.Body) != "bad" ||
		d.Attempts != 2 || !strings.Contains(d.Reason, "cannot parse") {
		t.Errorf("dead letter %+v", d)
	}
	for _, k := range kinds {
		if st := s.Streams[k]; st != (StreamStats{}) {
			t.Errorf("%s at the end: %+v; want all zero", k, st)
		}
	}
	if s.Acked != 3 || s.Retried != 1 || s.Vanished != 1 || s.DeadLettered != 1 {
		t.Errorf("counters %+v; want 3 acked, 1 retried, 1 vanished, 1 dead-lettered", s)
	}
	if !strings.Contains(lb.String(), "reclaimed an entry") {
		t.Errorf("no log line about the reclaimed entries")
	}
}

// The batched publish script works on miniredis too, failures included.
func TestMiniredisPublishBatch(t *testing.T) {
	rdb := miniClient(t)
	testPublishBatch(t, rdb)
}
