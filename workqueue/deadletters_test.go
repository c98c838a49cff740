package workqueue

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
)

// A dead letter, once its cause is fixed, is requeued and handled; one that
// was undecodable is refused and can be discarded.
func TestRequeue(t *testing.T) { onRedisAndMiniredis(t, testRequeue) }

func testRequeue(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	kind := slackevent.TeamJoin
	q, lb := newQueue(t, rdb, fastOptions("c"))
	var broken atomic.Bool
	broken.Store(true)
	rec := newRecorder(func(ctx context.Context, d *Delivery) error {
		if broken.Load() {
			return Permanent(errors.New("welcome template missing"))
		}
		return nil
	})
	consume(t, q, []string{kind}, rec)
	mustPublish(t, q, Event{ID: "EvJoin", Kind: kind, Body: []byte(`{"user":"U1"}`)})
	var dl []DeadLetter
	waitUntil(t, "the event is dead-lettered", func() bool {
		var err error
		dl, err = q.DeadLetters(ctx, 10)
		return err == nil && len(dl) == 1
	})
	got, err := q.DeadLetter(ctx, dl[0].ID)
	if err != nil || got.EventID != "EvJoin" || got.Kind != kind || string(got.Body) != `{"user":"U1"}` {
		t.Fatalf("DeadLetter(%s) = %+v, %v", dl[0].ID, got, err)
	}

	broken.Store(false)
	requeued, entry, err := q.Requeue(ctx, dl[0].ID)
	if err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	if requeued.ID != dl[0].ID || requeued.EventID != "EvJoin" {
		t.Errorf("Requeue returned the dead letter %+v; want %s", requeued, dl[0].ID)
	}
	if entry == "" || entry == dl[0].EntryID {
		t.Errorf("Requeue = %q; want a new entry ID (the old one was %s)", entry, dl[0].EntryID)
	}
	waitUntil(t, "the requeued event is handled", func() bool { return rec.n() == 2 })
	last := rec.deliveries()[1]
	if last.ID != "EvJoin" || last.EntryID != entry || last.Attempt != 1 || string(last.Body) != `{"user":"U1"}` {
		t.Errorf("requeued delivery %+v", last)
	}
	waitIdle(t, q, []string{kind})
	if dl, _ := q.DeadLetters(ctx, 10); len(dl) != 0 {
		t.Errorf("dead letters after requeueing: %+v", dl)
	}
	if _, _, err := q.Requeue(ctx, dl[0].ID); !errors.Is(err, ErrNoDeadLetter) {
		t.Errorf("second Requeue = %v; want ErrNoDeadLetter", err)
	}
	if !strings.Contains(lb.String(), "dead letter requeued") {
		t.Errorf("the requeue was not logged")
	}

	// An undecodable entry's dead letter has no body: refused, then
	// discarded.
	bad, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.DeadLetterKey(), Values: []any{
		"kind", kind, "entry", "1-1", "id", "", "body", "", "reason", "undecodable entry", "attempts", "1", "consumer", "c",
	}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := q.Requeue(ctx, bad); err == nil || errors.Is(err, ErrNoDeadLetter) || !strings.Contains(err.Error(), "no body") {
		t.Errorf("Requeue(undecodable) = %v; want a refusal", err)
	}
	if err := q.Discard(ctx, bad); err != nil {
		t.Errorf("Discard: %v", err)
	}
	if err := q.Discard(ctx, bad); !errors.Is(err, ErrNoDeadLetter) {
		t.Errorf("second Discard = %v; want ErrNoDeadLetter", err)
	}
	if _, err := q.DeadLetter(ctx, bad); !errors.Is(err, ErrNoDeadLetter) {
		t.Errorf("DeadLetter(discarded) = %v; want ErrNoDeadLetter", err)
	}
	if rec.n() != 2 {
		t.Errorf("%d deliveries; want 2", rec.n())
	}
}

// An ID without its sequence part is refused: Redis would read it as the
// whole millisecond in XRANGE but as ms-0 in XDEL, so a requeue could read
// one dead letter and delete another.
func TestDeadLetterPartialID(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client()
	q, _ := newQueue(t, rdb, fastOptions("c"))
	for _, id := range []string{"1700000000000-0", "1700000000000-1"} {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.DeadLetterKey(), ID: id, Values: []any{
			"kind", slackevent.TeamJoin, "entry", "1-1", "id", "Ev" + id, "body", "{}",
			"reason", "test", "attempts", 5, "consumer", "c",
		}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Discard(ctx, "1700000000000-0"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1700000000000", "1700000000000-", "-1", "x-1", ""} {
		if _, _, err := q.Requeue(ctx, id); !errors.Is(err, ErrNoDeadLetter) || !strings.Contains(err.Error(), "not a dead letter ID") {
			t.Errorf("Requeue(%q) = %v; want the ID refused", id, err)
		}
		if err := q.Discard(ctx, id); !errors.Is(err, ErrNoDeadLetter) {
			t.Errorf("Discard(%q) = %v; want the ID refused", id, err)
		}
	}
	if dl, err := q.DeadLetters(ctx, 0); err != nil || len(dl) != 1 || dl[0].ID != "1700000000000-1" {
		t.Errorf("dead letters = %+v, %v; want 1700000000000-1 untouched", dl, err)
	}
	if n := rdb.XLen(ctx, q.StreamKey(slackevent.TeamJoin)).Val(); n != 0 {
		t.Errorf("%d entries published by refused requeues", n)
	}
	if _, _, err := q.Requeue(ctx, "1700000000000-1"); err != nil {
		t.Errorf("Requeue(whole ID) = %v", err)
	}
}

// A requeue into a stream at its length cap counts and logs what the guard
// dropped, as a publish does, instead of trimming unhandled entries
// silently.
func TestRequeueTrimCounted(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client()
	kind := slackevent.TeamJoin
	opts := fastOptions("c")
	opts.MaxLen = 10
	q, lb := newQueue(t, rdb, opts)
	stop := consume(t, q, []string{kind}, newRecorder(func(ctx context.Context, d *Delivery) error {
		return Permanent(errors.New("welcome template missing"))
	}))
	mustPublish(t, q, Event{ID: "EvJoin", Kind: kind, Body: []byte(`{"user":"U1"}`)})
	var dl []DeadLetter
	waitUntil(t, "the event is dead-lettered", func() bool {
		var err error
		dl, err = q.DeadLetters(ctx, 10)
		return err == nil && len(dl) == 1
	})
	stop()
	// A backlog far over the cap, written without trimming.
	for i := range 300 {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.StreamKey(kind), Values: []any{"id", "", "body", i}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := q.Requeue(ctx, dl[0].ID); err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	s, err := q.Stats(ctx, []string{kind})
	if err != nil {
		t.Fatal(err)
	}
	if s.Trimmed == 0 {
		t.Errorf("Stats.Trimmed = 0 after the requeue trimmed the stream to about %d of 301 entries", opts.MaxLen)
	}
	if !strings.Contains(lb.String(), "dropped by the stream length guard") {
		t.Errorf("no warning about the trimmed entries:\n%s", lb.String())
	}
}

// An entry another consumer has taken over is not dead-lettered by its
// former holder: the new owner runs it and decides. The owner's own call
// moves it, and a dead-letter stream over its cap says what it dropped.
func TestDeadLetterOwnerChecked(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client()
	kind := slackevent.TeamJoin
	opts := fastOptions("old")
	opts.MaxLen = 10
	q, lb := newQueue(t, rdb, opts)
	key := q.StreamKey(kind)
	mustPublish(t, q, Event{ID: "EvPoison", Kind: kind, Body: []byte(`{}`)})
	id := readOne(t, rdb, q, key, "old")
	// "new" takes the entry over, as a reclaim after ClaimIdle does.
	if err := rdb.XClaim(ctx, &redis.XClaimArgs{Stream: key, Group: q.opts.Group, Consumer: "new", Messages: []string{id}}).Err(); err != nil {
		t.Fatal(err)
	}
	old := &consumer{q: q, log: q.log}
	e := Event{ID: "EvPoison", Kind: kind, Body: []byte(`{}`)}
	old.deadLetter(ctx, old.log, key, id, e, 6, "delivered 6 times")
	if n := rdb.XLen(ctx, q.DeadLetterKey()).Val(); n != 0 {
		t.Fatalf("%d dead letters after the former holder's call; want none, the entry is new's", n)
	}
	if p := rdb.XPending(ctx, key, q.opts.Group).Val(); p.Count != 1 || p.Consumers["new"] != 1 {
		t.Fatalf("pending %+v; want the entry still pending under new", p)
	}
	if !strings.Contains(lb.String(), "taken over by another consumer") {
		t.Errorf("no log line says why it was not dead-lettered:\n%s", lb.String())
	}

	// The owner's own call moves it; over the cap, old dead letters go
	// with a warning.
	for i := range 300 {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.DeadLetterKey(), Values: []any{"kind", kind, "reason", i}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	qNew, lbNew := newQueue(t, rdb, func() Options { o := opts; o.Consumer = "new"; return o }())
	owner := &consumer{q: qNew, log: qNew.log}
	owner.deadLetter(ctx, owner.log, key, id, e, 6, "delivered 6 times")
	if p := rdb.XPending(ctx, key, q.opts.Group).Val(); p.Count != 0 {
		t.Errorf("pending %+v after the owner dead-lettered it; want none", p)
	}
	if !strings.Contains(lbNew.String(), "entry moved to the dead-letter stream") ||
		!strings.Contains(lbNew.String(), "the oldest dead letters were dropped") {
		t.Errorf("the owner's logs do not say it moved the entry and dropped old dead letters:\n%s", lbNew.String())
	}
}

// A dead letter that cannot be written (here the dead-letter key holds a
// string: WRONGTYPE) leaves its entry pending, to be tried again, instead
// of acknowledging it with no dead letter: a script's writes before its
// error are not undone.
func TestDeadLetterWriteFailsKeepsEntry(t *testing.T) {
	for name, rdb := range map[string]redis.UniversalClient{
		"redis":     redistest.Start(t).Client(),
		"miniredis": miniClient(t),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			kind := slackevent.TeamJoin
			q, lb := newQueue(t, rdb, fastOptions("c"))
			key := q.StreamKey(kind)
			if err := rdb.Set(ctx, q.DeadLetterKey(), "not a stream", 0).Err(); err != nil {
				t.Fatal(err)
			}
			e := Event{ID: "EvPoison", Kind: kind, Body: []byte(`{}`)}
			mustPublish(t, q, e)
			id := readOne(t, rdb, q, key, "c")
			c := &consumer{q: q, log: q.log}
			c.deadLetter(ctx, c.log, key, id, e, 5, "failed 5 attempts")
			if p := rdb.XPending(ctx, key, q.opts.Group).Val(); p.Count != 1 || p.Consumers["c"] != 1 {
				t.Errorf("pending %+v after a dead letter that could not be written; want the entry still pending under c", p)
			}
			if n := rdb.XLen(ctx, key).Val(); n != 1 {
				t.Errorf("stream length %d; want the entry kept", n)
			}
			if q.deadLettered.Load() != 0 || !strings.Contains(lb.String(), "cannot dead-letter the entry") {
				t.Errorf("DeadLettered = %d, logs:\n%s\nwant 0 and the failure logged", q.deadLettered.Load(), lb.String())
			}
		})
	}
}

// After SCRIPT FLUSH (or a restart of Redis that kept its data) every
// script is loaded again where it is needed: acknowledging, retrying,
// dead-lettering, reclaiming and requeueing go on without a failure.
func TestScriptsFlushed(t *testing.T) {
	for name, rdb := range map[string]redis.UniversalClient{
		"redis":     redistest.Start(t).Client(),
		"miniredis": miniClient(t),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			kinds := []string{slackevent.TeamJoin}
			q, lb := newQueue(t, rdb, fastOptions("c"))
			var broken atomic.Bool
			broken.Store(true)
			rec := newRecorder(func(ctx context.Context, d *Delivery) error {
				switch {
				case d.ID == "EvFlaky" && d.Attempt == 1:
					return errors.New("slack answered 500")
				case d.ID == "EvBad" && broken.Load():
					return Permanent(errors.New("no such template"))
				}
				return nil
			})
			consume(t, q, kinds, rec)
			mustPublish(t, q, Event{ID: "EvWarm", Kind: kinds[0], Body: []byte("x")})
			waitIdle(t, q, kinds)
			if err := rdb.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"EvOK", "EvFlaky", "EvBad"} {
				mustPublish(t, q, Event{ID: id, Kind: kinds[0], Body: []byte("x")})
			}
			waitUntil(t, "every entry is settled", func() bool {
				s := mustStats(t, q, kinds)
				return s.Idle() && s.Acked == 3 && s.DeadLettered == 1
			})
			dl, err := q.DeadLetters(ctx, 10)
			if err != nil || len(dl) != 1 {
				t.Fatalf("DeadLetters = %v, %v; want EvBad's", dl, err)
			}
			if err := rdb.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			broken.Store(false)
			if _, _, err := q.Requeue(ctx, dl[0].ID); err != nil {
				t.Fatalf("Requeue after SCRIPT FLUSH: %v", err)
			}
			waitUntil(t, "the requeued entry is handled", func() bool {
				s := mustStats(t, q, kinds)
				return s.Idle() && s.Acked == 4
			})
			if logs := lb.String(); strings.Contains(logs, "NOSCRIPT") || strings.Contains(logs, "cannot") {
				t.Errorf("a script was not loaded again:\n%s", logs)
			}
		})
	}
}
