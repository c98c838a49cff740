package workqueue

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/redistest"
)

// testLogger returns a logger whose lines are printed when the test fails,
// and which fails the test when a line repeats a key.
func testLogger(t testing.TB) (zerolog.Logger, *logtest.Buffer) {
	lb := &logtest.Buffer{}
	t.Cleanup(func() {
		lb.CheckKeys(t)
		if t.Failed() {
			t.Logf("logs:\n%s", lb.String())
		}
	})
	return zerolog.New(lb).With().Timestamp().Logger(), lb
}

// fastOptions are options with every interval short enough for tests.
func fastOptions(consumer string) Options {
	return Options{
		Prefix:         "test:",
		Consumer:       consumer,
		HandlerTimeout: 2 * time.Second,
		ClaimIdle:      3 * time.Second,
		ClaimInterval:  100 * time.Millisecond,
		Block:          50 * time.Millisecond,
		Drain:          5 * time.Second,
		Backoff:        func(int) time.Duration { return 10 * time.Millisecond },
		Concurrency:    8,
	}
}

func newQueue(t testing.TB, rdb redis.UniversalClient, opts Options) (*Queue, *logtest.Buffer) {
	t.Helper()
	log, lb := testLogger(t)
	opts.Log = log
	q := New(rdb, opts)
	t.Cleanup(func() { q.Close() })
	return q, lb
}

// consume runs q.Consume in the background until the returned stop is
// called (or the test ends); stop waits for Consume to return.
func consume(t testing.TB, q *Queue, kinds []string, h Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Consume(ctx, kinds, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Consume: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("Consume did not return 30s after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitUntil polls cond until it holds, failing the test after a deadline.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitIdle waits until every stream of kinds is caught up.
func waitIdle(t testing.TB, q *Queue, kinds []string) Stats {
	t.Helper()
	var s Stats
	waitUntil(t, "the queue is idle", func() bool {
		var err error
		s, err = q.Stats(context.Background(), kinds)
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		return s.Idle()
	})
	return s
}

func mustPublish(t testing.TB, q *Queue, e Event) {
	t.Helper()
	added, err := q.Publish(context.Background(), e)
	if err != nil || !added {
		t.Fatalf("Publish(%+v) = %v, %v; want true, nil", e.ID, added, err)
	}
}

// recorder is a Handler that records what it handled.
type recorder struct {
	mu      sync.Mutex
	handled []*Delivery
	count   map[string]int // by event ID
	fn      func(ctx context.Context, d *Delivery) error
}

func newRecorder(fn func(ctx context.Context, d *Delivery) error) *recorder {
	return &recorder{count: map[string]int{}, fn: fn}
}

func (r *recorder) Handle(ctx context.Context, d *Delivery) error {
	r.mu.Lock()
	r.handled = append(r.handled, d)
	r.count[d.ID]++
	r.mu.Unlock()
	if r.fn != nil {
		return r.fn(ctx, d)
	}
	return nil
}

func (r *recorder) n() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.handled)
}

func (r *recorder) deliveries() []*Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Delivery(nil), r.handled...)
}

func (r *recorder) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.count))
	for k, v := range r.count {
		out[k] = v
	}
	return out
}

// receive waits for a value from ch, failing the test after a deadline.
func receive[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for a %T", *new(T))
		panic("unreachable")
	}
}

// miniClient returns a client of a fresh miniredis, the embedded Redis of
// the all-in-one.
func miniClient(t testing.TB) *redis.Client {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// onRedisAndMiniredis runs f in two subtests: "redis", on a real Redis, and
// "miniredis", on the embedded Redis of the all-in-one.
func onRedisAndMiniredis(t *testing.T, f func(t *testing.T, rdb redis.UniversalClient)) {
	t.Run("redis", func(t *testing.T) { f(t, redistest.Start(t).Client()) })
	t.Run("miniredis", func(t *testing.T) { f(t, miniClient(t)) })
}

// readOne reads one new entry of stream key as consumer, in q's group
// (created from the start of the stream if need be), and returns its ID:
// the entry is then pending under consumer, as a consumer's read leaves it.
func readOne(t testing.TB, rdb redis.UniversalClient, q *Queue, key, consumer string) string {
	t.Helper()
	ctx := context.Background()
	if err := rdb.XGroupCreateMkStream(ctx, key, q.opts.Group, "0").Err(); err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		t.Fatal(err)
	}
	res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: q.opts.Group, Consumer: consumer, Streams: []string{key, ">"}, Count: 1, Block: -1}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 1 {
		t.Fatalf("XREADGROUP as %s = %v, %v", consumer, res, err)
	}
	return res[0].Messages[0].ID
}
