package workqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
)

// liveMax is the latest lapse time (Redis clock, Unix ms) among the
// liveness records under name, or 0 when there is none.
func liveMax(t *testing.T, rdb redis.UniversalClient, q *Queue) float64 {
	t.Helper()
	zs, err := rdb.ZRangeWithScores(context.Background(), q.liveKey(), 0, -1).Result()
	if err != nil {
		t.Fatalf("reading the liveness records: %v", err)
	}
	var m float64
	for _, z := range zs {
		m = max(m, z.Score)
	}
	return m
}

// redisNow is the Redis server's clock.
func redisNow(t *testing.T, rdb redis.UniversalClient) time.Time {
	t.Helper()
	now, err := rdb.Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return now
}

// attempts lists the deliveries r handled as "ID#attempt", sorted.
func attempts(r *recorder) []string {
	var out []string
	for _, d := range r.deliveries() {
		out = append(out, fmt.Sprintf("%s#%d", d.ID, d.Attempt))
	}
	slices.Sort(out)
	return out
}

// noReclaimOptions are fastOptions for consumer with reclaiming out of the
// way: a handler may run 10s, and an entry is reclaimed only once it has
// been idle a minute. Entries left pending then run again only when a
// consumer of the same name picks them up.
func noReclaimOptions(consumer string) Options {
	opts := fastOptions(consumer)
	opts.HandlerTimeout, opts.ClaimIdle = 10*time.Second, time.Minute
	return opts
}

// A consumer restarted under the same name while its predecessor still
// drains (Heroku starts the new dyno while the old one has its 30 seconds
// after SIGTERM) reads new entries at once but leaves the predecessor's to
// it, and picks up what the predecessor left pending once it is gone: each
// entry runs once, and no delivery is counted twice.
func TestPredecessorDraining(t *testing.T) { onRedisAndMiniredis(t, testPredecessorDraining) }

func testPredecessorDraining(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	kinds := []string{slackevent.AppMention}
	opts := noReclaimOptions("dyno.1")
	opts.Drain = 15 * time.Second
	opts.LiveTTL = 300 * time.Millisecond

	// The predecessor: three handlers that run until released, and an
	// entry that waits for its retry when the predecessor is stopped.
	o1 := opts
	o1.Backoff = func(int) time.Duration { return time.Minute }
	q1, _ := newQueue(t, rdb, o1)
	release := make(chan struct{})
	started := make(chan string, 3)
	failed := make(chan struct{})
	first := newRecorder(func(ctx context.Context, d *Delivery) error {
		if d.ID == "EvRetry" {
			close(failed)
			return errors.New("slack answered 500")
		}
		started <- d.ID
		<-release
		return nil
	})
	stop1 := consume(t, q1, kinds, first)
	for _, id := range []string{"Ev1", "Ev2", "Ev3", "EvRetry"} {
		mustPublish(t, q1, Event{ID: id, Kind: kinds[0], Body: []byte("x")})
	}
	for range 3 {
		receive(t, started)
	}
	receive(t, failed)
	waitUntil(t, "EvRetry waits for its retry", func() bool { return q1.retried.Load() == 1 })

	// SIGTERM: the predecessor stops reading and drains. Its record stays
	// fresh meanwhile, for longer than its TTL.
	before := liveMax(t, rdb, q1)
	stopped1 := make(chan struct{})
	go func() { stop1(); close(stopped1) }()
	waitUntil(t, "the draining predecessor refreshed its record for 3 TTLs", func() bool {
		return liveMax(t, rdb, q1) >= before+float64(3*opts.LiveTTL.Milliseconds())
	})

	// The successor starts under the same name, and reads new entries at
	// once.
	q2, lb2 := newQueue(t, rdb, opts)
	ev4Started, ev4Release := make(chan struct{}), make(chan struct{})
	second := newRecorder(func(ctx context.Context, d *Delivery) error {
		if d.ID == "Ev4" && d.Attempt == 1 {
			close(ev4Started)
			<-ev4Release
			return errors.New("slack answered 500")
		}
		return nil
	})
	consume(t, q2, kinds, second)
	lb2.WaitFor(t, "still running under this name", 20*time.Second)
	mustPublish(t, q1, Event{ID: "Ev4", Kind: kinds[0], Body: []byte("x")})
	receive(t, ev4Started)

	// The predecessor finishes and leaves; the successor then runs what it
	// left pending (EvRetry), but not Ev4, which it is running itself.
	close(release)
	receive(t, stopped1)
	waitUntil(t, "the successor ran EvRetry", func() bool { return second.counts()["EvRetry"] == 1 })
	// EvRetry's handler has returned, but its ack may still be on its
	// way: wait until Ev4, whose first run goes on, is all that is pending.
	var pe []redis.XPendingExt
	waitUntil(t, "only Ev4 pending", func() bool {
		pe = rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: q2.StreamKey(kinds[0]), Group: "gopherbot", Start: "-", End: "+", Count: 10}).Val()
		return len(pe) == 1
	})
	if pe[0].RetryCount != 1 {
		t.Errorf("pending %+v while its first run goes on; want it delivered once", pe[0])
	}
	close(ev4Release)
	waitUntil(t, "Ev4 retried", func() bool { return second.counts()["Ev4"] == 2 })
	waitIdle(t, q2, kinds)

	if diff := cmp.Diff([]string{"Ev1#1", "Ev2#1", "Ev3#1", "EvRetry#1"}, attempts(first)); diff != "" {
		t.Errorf("predecessor's runs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Ev4#1", "Ev4#2", "EvRetry#2"}, attempts(second)); diff != "" {
		t.Errorf("successor's runs (-want +got):\n%s", diff)
	}
	if !lb2.Contains("picked up the entries left pending under this name") {
		t.Errorf("the successor did not log that it picked up its predecessor's entries")
	}
}

// A predecessor killed without a chance to clean up (SIGKILL) leaves its
// record to lapse: its entries are run once it has, not before, and new
// entries meanwhile at once.
func TestPredecessorKilled(t *testing.T) { onRedisAndMiniredis(t, testPredecessorKilled) }

func testPredecessorKilled(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	kinds := []string{slackevent.TeamJoin}
	opts := noReclaimOptions("dyno.2")
	q, lb := newQueue(t, rdb, opts)
	mustPublish(t, q, Event{ID: "EvOld", Kind: kinds[0], Body: []byte("x")})
	readOne(t, rdb, q, q.StreamKey(kinds[0]), "dyno.2") // the killed one's entry

	// What a predecessor killed just now leaves: its record, lapsing by
	// itself.
	lapse := redisNow(t, rdb).Add(3 * time.Second)
	if err := rdb.ZAdd(ctx, q.liveKey(), redis.Z{Score: float64(lapse.UnixMilli()), Member: "killed"}).Err(); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	ran := map[string]time.Time{}
	rec := newRecorder(func(ctx context.Context, d *Delivery) error {
		mu.Lock()
		ran[d.ID] = time.Now()
		mu.Unlock()
		return nil
	})
	consume(t, q, kinds, rec)
	mustPublish(t, q, Event{ID: "EvNew", Kind: kinds[0], Body: []byte("x")})
	waitUntil(t, "EvNew handled", func() bool { return rec.counts()["EvNew"] == 1 })
	waitUntil(t, "EvOld handled", func() bool { return rec.counts()["EvOld"] == 1 })
	waitIdle(t, q, kinds)
	mu.Lock()
	defer mu.Unlock()
	if ran["EvNew"].After(lapse) {
		t.Logf("EvNew ran only after the killed one's record lapsed; too slow a machine to tell")
	}
	if ran["EvOld"].Before(lapse) {
		t.Errorf("EvOld ran at %v, %v before the killed consumer's record lapsed", ran["EvOld"], lapse.Sub(ran["EvOld"]))
	}
	if diff := cmp.Diff([]string{"EvNew#1", "EvOld#2"}, attempts(rec)); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	// The pick-up is logged once its entries are dispatched, which may be
	// after their handlers returned.
	for _, s := range []string{"still running under this name", "picked up the entries left pending under this name"} {
		lb.WaitFor(t, s, 5*time.Second)
	}
}

// A consumer that stopped leaves no record behind: restarted under the same
// name, it runs its own pending entries at once, however long its records
// would take to lapse.
func TestRestartLeavesNoRecord(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	kinds := []string{slackevent.MessagePrivate}
	opts := noReclaimOptions("worker")
	opts.Drain = 100 * time.Millisecond
	opts.LiveTTL = time.Hour

	q1, _ := newQueue(t, rdb, opts)
	started := make(chan struct{})
	stop := consume(t, q1, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		close(started)
		<-ctx.Done() // ends at the drain deadline
		return ctx.Err()
	}))
	mustPublish(t, q1, Event{ID: "EvCut", Kind: kinds[0], Body: []byte("x")})
	receive(t, started)
	stop()
	if n := rdb.Exists(ctx, q1.liveKey()).Val(); n != 0 {
		t.Errorf("after Consume returned, its liveness record is still there")
	}

	q2, lb := newQueue(t, rdb, opts)
	rec := newRecorder(nil)
	consume(t, q2, kinds, rec)
	waitIdle(t, q2, kinds)
	if diff := cmp.Diff([]string{"EvCut#1"}, attempts(rec)); diff != "" {
		t.Errorf("runs after the restart (-want +got):\n%s", diff)
	}
	if strings.Contains(lb.String(), "still running under this name") {
		t.Errorf("the restarted consumer waited for a predecessor that had stopped")
	}
}

// The liveness records of the Consume calls under one name: each call sees
// the others that are live, and whether its own had lapsed, on Redis and on
// miniredis alike (which counts TTLs down only when told to: the records
// lapse by Redis's clock).
func TestLiveScript(t *testing.T) { onRedisAndMiniredis(t, testLiveScript) }

func testLiveScript(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	q, _ := newQueue(t, rdb, fastOptions("dyno.3"))
	refresh := func(token string, ttl time.Duration) (others int, was bool) {
		t.Helper()
		c := &consumer{q: q, token: token}
		c.q.opts.LiveTTL = ttl
		others, was, err := c.refreshLive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return others, was
	}
	type got struct {
		Others int
		Was    bool
	}
	check := func(what string, want, g got) {
		t.Helper()
		if want != g {
			t.Errorf("%s: %+v; want %+v", what, g, want)
		}
	}
	o, w := refresh("a", time.Minute)
	check("first record", got{0, false}, got{o, w})
	o, w = refresh("a", time.Minute)
	check("refreshed", got{0, true}, got{o, w})
	o, w = refresh("b", 50*time.Millisecond)
	check("second record", got{1, false}, got{o, w})
	if ttl := rdb.PTTL(ctx, q.liveKey()).Val(); ttl < 50*time.Second {
		t.Errorf("the records' key lapses in %v; want it kept as long as the longest record", ttl)
	}
	// b is not refreshed, and lapses.
	lapse := redisNow(t, rdb).Add(50 * time.Millisecond)
	waitUntil(t, "b's record lapsed", func() bool { return redisNow(t, rdb).After(lapse) })
	o, w = refresh("a", time.Minute)
	check("after b lapsed", got{0, true}, got{o, w})
	o, w = refresh("b", time.Minute)
	check("b back after it lapsed", got{1, false}, got{o, w})
	if err := rdb.ZRem(ctx, q.liveKey(), "a", "b").Err(); err != nil {
		t.Fatal(err)
	}
	o, w = refresh("a", time.Minute)
	check("after both left", got{0, false}, got{o, w})
}

// outageHook fails every command while down is set: Redis unreachable from
// one client, its data kept.
type outageHook struct{ down atomic.Bool }

var errOutage = errors.New("dial tcp: connect: connection refused (simulated outage)")

func (h *outageHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *outageHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.down.Load() {
			cmd.SetErr(errOutage)
			return errOutage
		}
		return next(ctx, cmd)
	}
}

func (h *outageHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.down.Load() {
			for _, cmd := range cmds {
				cmd.SetErr(errOutage)
			}
			return errOutage
		}
		return next(ctx, cmds)
	}
}

// Redis unreachable at start and again while the consumer waits for its
// predecessor, long enough for its own record to lapse: it carries on by
// itself, says that its record lapsed, and picks up the predecessor's
// entries once it can tell the predecessor is gone.
func TestPredecessorWaitOutage(t *testing.T) {
	srv := redistest.Start(t)
	direct := srv.Client()
	ctx := context.Background()
	kinds := []string{slackevent.TeamJoin}
	opts := noReclaimOptions("dyno.4")
	opts.LiveTTL = 300 * time.Millisecond

	hook := &outageHook{}
	rdb := srv.Client()
	rdb.AddHook(hook)
	q, lb := newQueue(t, rdb, opts)
	mustPublish(t, q, Event{ID: "EvOld", Kind: kinds[0], Body: []byte("x")})
	readOne(t, direct, q, q.StreamKey(kinds[0]), "dyno.4") // the predecessor's entry
	if err := direct.ZAdd(ctx, q.liveKey(), redis.Z{Score: float64(redisNow(t, direct).Add(time.Hour).UnixMilli()), Member: "predecessor"}).Err(); err != nil {
		t.Fatal(err)
	}

	hook.down.Store(true)
	rec := newRecorder(nil)
	consume(t, q, kinds, rec)
	lb.WaitFor(t, "cannot read the queue", 20*time.Second)
	hook.down.Store(false)
	lb.WaitFor(t, "still running under this name", 20*time.Second)

	hook.down.Store(true)
	lb.WaitFor(t, "cannot refresh this consumer's liveness record", 20*time.Second)
	// The predecessor leaves meanwhile, and this consumer's record lapses.
	direct.ZRem(ctx, q.liveKey(), "predecessor")
	waitUntil(t, "this consumer's record lapsed", func() bool {
		n, err := direct.ZCount(ctx, q.liveKey(), fmt.Sprint(redisNow(t, direct).UnixMilli()), "+inf").Result()
		return err == nil && n == 0
	})
	if n := rec.n(); n != 0 {
		t.Fatalf("%d entries run while waiting for the predecessor; want none", n)
	}
	hook.down.Store(false)

	waitUntil(t, "EvOld run", func() bool { return rec.counts()["EvOld"] == 1 })
	mustPublish(t, q, Event{ID: "EvNew", Kind: kinds[0], Body: []byte("x")})
	waitIdle(t, q, kinds)
	if diff := cmp.Diff([]string{"EvNew#1", "EvOld#2"}, attempts(rec)); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	for _, s := range []string{"refreshed this consumer's liveness record again", "liveness record had lapsed",
		"picked up the entries left pending under this name"} {
		if !lb.Contains(s) {
			t.Errorf("no %q in the logs", s)
		}
	}
}
