package workqueue

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
)

// pruneScript removes only consumers that are idle, hold nothing and are
// not the caller.
func TestPruneScript(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		testPruneScript(t, redistest.Start(t).Client(), []string{"departed"})
	})
	// miniredis reports a consumer it has never seen claim anything as
	// idle -1, so the script there removes nothing: harmless, as the
	// all-in-one runs one consumer.
	t.Run("miniredis", func(t *testing.T) { testPruneScript(t, miniClient(t), nil) })
}

func testPruneScript(t *testing.T, rdb redis.UniversalClient, wantRemoved []string) {
	ctx := context.Background()
	const key, group = "test:prune", "g"
	if err := rdb.XGroupCreateMkStream(ctx, key, group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	// "holder" reads an entry and never acknowledges it.
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"id", "Ev1", "body", "x"}})
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "holder", Streams: []string{key, ">"}, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"departed", "self"} {
		if err := rdb.XGroupCreateConsumer(ctx, key, group, name).Err(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(600 * time.Millisecond)
	// "fresh" has just read: it is alive.
	if err := rdb.XGroupCreateConsumer(ctx, key, group, "fresh").Err(); err != nil {
		t.Fatal(err)
	}

	removed, err := pruneScript.Run(ctx, rdb, []string{key}, group, 300, "self").StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantRemoved, removed, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	var left []string
	for _, c := range rdb.XInfoConsumers(ctx, key, group).Val() {
		left = append(left, c.Name)
	}
	slices.Sort(left)
	want := slices.DeleteFunc([]string{"departed", "fresh", "holder", "self"},
		func(n string) bool { return slices.Contains(wantRemoved, n) })
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("consumers left (-want +got):\n%s", diff)
	}
	if n := rdb.XPending(ctx, key, group).Val().Count; n != 1 {
		t.Errorf("%d pending entries; want holder's one kept", n)
	}
}

// A consuming process removes a consumer gone for good, once its entries
// have been taken over, and says so.
func TestDepartedConsumerPruned(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	kind := slackevent.AppMention
	opts := fastOptions("alive")
	opts.HandlerTimeout, opts.ClaimIdle, opts.ClaimInterval = 100*time.Millisecond, 200*time.Millisecond, 50*time.Millisecond
	opts.ConsumerExpiry = 400 * time.Millisecond
	q, lb := newQueue(t, rdb, opts)
	key := q.StreamKey(kind)

	// A consumer that took an entry and died.
	mustPublish(t, q, Event{ID: "EvOrphan", Kind: kind, Body: []byte("x")})
	rdb.XGroupCreateMkStream(ctx, key, opts.withDefaults().Group, "0")
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "gopherbot", Consumer: "dead", Streams: []string{key, ">"}, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}

	rec := newRecorder(nil)
	consume(t, q, []string{kind}, rec)
	waitUntil(t, "the orphan is handled", func() bool { return rec.n() == 1 })
	waitUntil(t, "the dead consumer is removed", func() bool {
		for _, c := range rdb.XInfoConsumers(ctx, key, "gopherbot").Val() {
			if c.Name == "dead" {
				return false
			}
		}
		return true
	})
	names := rdb.XInfoConsumers(ctx, key, "gopherbot").Val()
	if len(names) != 1 || names[0].Name != "alive" {
		t.Errorf("consumers %+v; want only alive", names)
	}
	waitUntil(t, "the removal is counted", func() bool {
		s, err := q.Stats(ctx, []string{kind})
		return err == nil && s.Pruned == 1
	})
	if !strings.Contains(lb.String(), "removed departed consumers from the group") {
		t.Errorf("the removal was not logged")
	}
}
