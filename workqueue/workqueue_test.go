package workqueue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
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

func TestPermanent(t *testing.T) {
	cause := errors.New("channel_not_found")
	err := fmt.Errorf("post: %w", Permanent(cause))
	if !errors.Is(err, ErrPermanent) || !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, ErrPermanent / cause) = false; want true", err)
	}
	if got, want := err.Error(), "post: channel_not_found"; got != want {
		t.Errorf("message %q; want %q", got, want)
	}
	if !errors.Is(Permanent(nil), ErrPermanent) {
		t.Errorf("Permanent(nil) is not ErrPermanent")
	}
	if errors.Is(cause, ErrPermanent) {
		t.Errorf("a plain error counts as permanent")
	}
}

func TestRetryAfterError(t *testing.T) {
	cause := errors.New("ratelimited")
	err := fmt.Errorf("post: %w", RetryAfter(Permanent(cause), time.Second))
	if !errors.Is(err, ErrPermanent) || !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, ErrPermanent / cause) = false; want true", err)
	}
	if got, want := err.Error(), "post: ratelimited"; got != want {
		t.Errorf("message %q; want %q", got, want)
	}
	var ra *retryAfterError
	if !errors.As(err, &ra) || ra.d != time.Second {
		t.Errorf("errors.As(%v) = %v; want the RetryAfter of 1s", err, ra)
	}
	if err := RetryAfter(nil, time.Second); err == nil || errors.Is(err, ErrPermanent) || err.Error() != "retry after 1s" {
		t.Errorf("RetryAfter(nil, 1s) = %v; want a transient error saying so", err)
	}

	a, b := errors.New("a"), errors.New("b")
	for _, tc := range []struct {
		name string
		err  error
		want time.Duration
	}{
		{"nil", nil, 0},
		{"plain", a, 0},
		{"direct", RetryAfter(a, 2*time.Second), 2 * time.Second},
		{"wrapped", fmt.Errorf("post: %w", RetryAfter(a, 2*time.Second)), 2 * time.Second},
		{"nested, inner longer", RetryAfter(RetryAfter(a, 5*time.Second), time.Second), 5 * time.Second},
		{"nested, outer longer", RetryAfter(Permanent(RetryAfter(a, time.Second)), 5*time.Second), 5 * time.Second},
		{"joined", errors.Join(RetryAfter(a, time.Second), fmt.Errorf("w: %w", RetryAfter(b, 3*time.Second)), nil), 3 * time.Second},
		{"two %w", fmt.Errorf("%w, %w", RetryAfter(a, 4*time.Second), RetryAfter(b, time.Second)), 4 * time.Second},
		{"joined in wrapped", fmt.Errorf("w: %w", errors.Join(a, RetryAfter(b, time.Minute))), time.Minute},
	} {
		if got := retryAfter(tc.err); got != tc.want {
			t.Errorf("%s: retryAfter(%v) = %v; want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		handler, claim         time.Duration
		ok                     bool
		wantHandler, wantClaim time.Duration
	}{
		{"defaults", 0, 0, true, 20 * time.Second, 45 * time.Second},
		{"handler only", time.Minute, 0, true, time.Minute, 2 * time.Minute},
		{"claim only", 0, 10 * time.Second, true, 5 * time.Second, 10 * time.Second},
		{"handler longer", time.Minute, 30 * time.Second, false, 0, 0},
		{"equal", 30 * time.Second, 30 * time.Second, false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{HandlerTimeout: tc.handler, ClaimIdle: tc.claim}
			err := o.Validate()
			if tc.ok != (err == nil) {
				t.Fatalf("Validate() = %v; want ok=%v", err, tc.ok)
			}
			if !tc.ok {
				if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), "HandlerTimeout") {
					t.Errorf("Validate() = %v; want ErrOptions naming HandlerTimeout", err)
				}
				// Consume refuses to start with it.
				q := New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), o)
				if err := q.Consume(context.Background(), slackevent.All, newRecorder(nil)); !errors.Is(err, ErrOptions) {
					t.Errorf("Consume = %v; want ErrOptions", err)
				}
				return
			}
			got := o.withDefaults()
			if got.HandlerTimeout != tc.wantHandler || got.ClaimIdle != tc.wantClaim {
				t.Errorf("defaults: handler %v, claim %v; want %v, %v", got.HandlerTimeout, got.ClaimIdle, tc.wantHandler, tc.wantClaim)
			}
		})
	}
}

// Thousands of events published in parallel, read by two consumers, are all
// handled exactly once, with their kind and body intact.
func TestParallelExactlyOnce(t *testing.T) {
	srv := redistest.Start(t)
	kinds := slackevent.All
	pub, _ := newQueue(t, srv.Client(), fastOptions("gateway"))
	rec := newRecorder(nil)
	for _, name := range []string{"a", "b"} {
		q, _ := newQueue(t, srv.Client(), fastOptions(name))
		consume(t, q, kinds, rec)
	}

	const n, workers = 3000, 16
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				e := Event{ID: fmt.Sprintf("Ev%d", i), Kind: kinds[i%len(kinds)], Body: []byte(fmt.Sprintf(`{"n":%d}`, i))}
				if added, err := pub.Publish(context.Background(), e); err != nil || !added {
					t.Errorf("Publish(%s) = %v, %v", e.ID, added, err)
				}
			}
		})
	}
	wg.Wait()
	// Concurrent publishes share batches: fewer script calls than events.
	if ps := pub.PublishStats(); ps.Events != n || ps.Batches < 1 || ps.Batches >= n || ps.RoundTrip <= 0 {
		t.Errorf("PublishStats() = %+v; want %d events in fewer batches, with a round trip", ps, n)
	}
	waitUntil(t, "every event is handled", func() bool { return rec.n() >= n })
	s := waitIdle(t, pub, kinds)

	got := rec.deliveries()
	if len(got) != n {
		t.Errorf("%d deliveries; want %d", len(got), n)
	}
	seen := map[string]bool{}
	for _, d := range got {
		var i int
		if _, err := fmt.Sscanf(d.ID, "Ev%d", &i); err != nil {
			t.Fatalf("unexpected event ID %q", d.ID)
		}
		if seen[d.ID] {
			t.Errorf("%s handled twice", d.ID)
		}
		seen[d.ID] = true
		if want := fmt.Sprintf(`{"n":%d}`, i); string(d.Body) != want || d.Kind != kinds[i%len(kinds)] || d.Attempt != 1 {
			t.Errorf("%s: kind %s, body %s, attempt %d; want %s, %s, 1", d.ID, d.Kind, d.Body, d.Attempt, kinds[i%len(kinds)], want)
		}
		if d.Enqueued.IsZero() || time.Since(d.Enqueued) > time.Minute {
			t.Errorf("%s: Enqueued %v", d.ID, d.Enqueued)
		}
	}
	for _, k := range kinds {
		if st := s.Streams[k]; st != (StreamStats{}) {
			t.Errorf("stream %s after handling everything: %+v; want all zero (handled entries are deleted)", k, st)
		}
	}
}

func TestPublishDedup(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	q, _ := newQueue(t, rdb, fastOptions("gateway"))
	ctx := context.Background()
	e := Event{ID: "Ev1", Kind: slackevent.AppMention, Body: []byte(`{}`)}

	var added atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			ok, err := q.Publish(ctx, e)
			if err != nil {
				t.Errorf("Publish: %v", err)
			}
			if ok {
				added.Add(1)
			}
		})
	}
	wg.Wait()
	if added.Load() != 1 {
		t.Errorf("50 concurrent publishes of one event ID added %d entries; want 1", added.Load())
	}
	// The same ID under another kind is still the same Slack event.
	if ok, err := q.Publish(ctx, Event{ID: "Ev1", Kind: slackevent.MessageChannel}); ok || err != nil {
		t.Errorf("Publish of a known ID under another kind = %v, %v; want false, nil", ok, err)
	}
	// No ID: no dedup.
	for range 2 {
		mustPublish(t, q, Event{Kind: slackevent.AppMention, Body: []byte(`{}`)})
	}
	if n := rdb.XLen(ctx, q.StreamKey(slackevent.AppMention)).Val(); n != 3 {
		t.Errorf("stream length %d; want 3", n)
	}
	ttl := rdb.PTTL(ctx, "test:dedup:Ev1").Val()
	if ttl <= 14*time.Minute || ttl > 15*time.Minute {
		t.Errorf("dedup record TTL %v; want about the 15m default", ttl)
	}
}

// A lone publisher sends one batch per event; PublishStats counts them and
// their round trips, duplicates included.
func TestPublishStats(t *testing.T) {
	srv := redistest.Start(t)
	q, _ := newQueue(t, srv.Client(), fastOptions("gateway"))
	if ps := q.PublishStats(); ps != (PublishStats{}) || ps.EventsPerBatch() != 0 || ps.MeanRoundTrip() != 0 {
		t.Fatalf("PublishStats() before publishing = %+v", ps)
	}
	mustPublish(t, q, Event{ID: "Ev1", Kind: slackevent.AppMention, Body: []byte("x")})
	first := q.PublishStats()
	for _, id := range []string{"Ev2", "Ev1"} {
		if _, err := q.Publish(context.Background(), Event{ID: id, Kind: slackevent.AppMention, Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	ps := q.PublishStats()
	if ps.Batches != 3 || ps.Events != 3 || ps.EventsPerBatch() != 1 || ps.MeanRoundTrip() <= 0 {
		t.Errorf("PublishStats() = %+v (%.1f a batch, %v a round trip); want 3 batches of 1", ps, ps.EventsPerBatch(), ps.MeanRoundTrip())
	}
	if d := ps.Sub(first); d.Batches != 2 || d.Events != 2 || d.RoundTrip != ps.RoundTrip-first.RoundTrip {
		t.Errorf("Sub = %+v; want the last 2 batches", d)
	}
}

// Concurrent publishers keep at most PublishInFlight script calls in flight
// at once, a batch of one event is sent only by a leader alone (so no two
// of them are ever in flight together), and every event is stored once.
func TestPublishInFlight(t *testing.T) {
	srv := redistest.Start(t)
	for _, limit := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			rdb := srv.Client()
			h := &inFlightHook{delay: 2 * time.Millisecond}
			rdb.AddHook(h)
			opts := fastOptions("gateway")
			opts.Prefix = fmt.Sprintf("inflight%d:", limit)
			opts.PublishInFlight = limit
			q, _ := newQueue(t, rdb, opts)

			const n = 300
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					e := Event{ID: fmt.Sprintf("Ev%d", i), Kind: slackevent.AppMention, Body: []byte("x")}
					if added, err := q.Publish(context.Background(), e); !added || err != nil {
						t.Errorf("Publish(%s) = %v, %v; want true, nil", e.ID, added, err)
					}
				})
			}
			wg.Wait()
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.max != limit {
				t.Errorf("at most %d script calls were in flight at once; want %d", h.max, limit)
			}
			if h.singlesTogether > 0 {
				t.Errorf("%d calls of one event were sent while another such call was in flight", h.singlesTogether)
			}
			if got := rdb.XLen(context.Background(), q.StreamKey(slackevent.AppMention)).Val(); got != n {
				t.Errorf("stream length %d; want %d", got, n)
			}
		})
	}
}

// inFlightHook slows down EVALSHA calls and records how many overlap.
type inFlightHook struct {
	delay           time.Duration
	mu              sync.Mutex
	now, max        int
	singles         int // calls of one event in flight
	singlesTogether int // calls of one event started while another was in flight
}

func (h *inFlightHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *inFlightHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *inFlightHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "evalsha" {
			return next(ctx, cmd)
		}
		events, _ := cmd.Args()[2].(int)
		events /= 2 // two keys an event
		single := events == 1
		h.mu.Lock()
		if single {
			if h.singles > 0 {
				h.singlesTogether++
			}
			h.singles++
		}
		h.now++
		h.max = max(h.max, h.now)
		h.mu.Unlock()
		time.Sleep(h.delay)
		err := next(ctx, cmd)
		h.mu.Lock()
		h.now--
		if single {
			h.singles--
		}
		h.mu.Unlock()
		return err
	}
}

// One script call appends a whole batch; each event gets its own result,
// in order, and a failed append fails only its own event and leaves no
// dedup record behind.
func TestPublishBatch(t *testing.T) {
	srv := redistest.Start(t)
	testPublishBatch(t, srv.Client())
}

func testPublishBatch(t *testing.T, rdb redis.UniversalClient) {
	q, _ := newQueue(t, rdb, fastOptions("gateway"))
	ctx := context.Background()
	// XADD on a key holding a string fails with WRONGTYPE.
	if err := rdb.Set(ctx, q.StreamKey(slackevent.TeamJoin), "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	events := []Event{
		{ID: "Ev1", Kind: slackevent.AppMention, Body: []byte("first")},
		{ID: "Ev1", Kind: slackevent.MessageChannel, Body: []byte("same ID, same batch")},
		{ID: "Ev2", Kind: slackevent.TeamJoin, Body: []byte("cannot be stored")},
		{Kind: slackevent.AppMention, Body: []byte("no ID")},
		{ID: "Ev2", Kind: slackevent.AppMention, Body: []byte("retry of the failed one")},
	}
	reqs := make([]*pubReq, len(events))
	for i, e := range events {
		reqs[i] = &pubReq{e: e, done: make(chan struct{}, 1)}
	}
	q.flush(nil, reqs)

	var got []string
	for _, r := range reqs {
		select {
		case <-r.done:
		default:
			t.Errorf("%s %s: not signalled", r.e.Kind, r.e.ID)
		}
		switch {
		case r.err != nil && strings.Contains(r.err.Error(), "WRONGTYPE"):
			got = append(got, "WRONGTYPE")
		case r.err != nil:
			got = append(got, r.err.Error())
		default:
			got = append(got, fmt.Sprint(r.added))
		}
	}
	want := []string{"true", "false", "WRONGTYPE", "true", "true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	msgs, err := rdb.XRange(ctx, q.StreamKey(slackevent.AppMention), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range msgs {
		bodies = append(bodies, fmt.Sprint(m.Values["body"]))
	}
	if diff := cmp.Diff([]string{"first", "no ID", "retry of the failed one"}, bodies); diff != "" {
		t.Errorf("stored bodies (-want +got):\n%s", diff)
	}
	if n := rdb.Exists(ctx, q.StreamKey(slackevent.MessageChannel)).Val(); n != 0 {
		t.Errorf("the duplicate created its stream")
	}
	for _, id := range []string{"Ev1", "Ev2"} {
		if rdb.Exists(ctx, "test:dedup:"+id).Val() != 1 {
			t.Errorf("no dedup record for %s", id)
		}
	}
}

// After SCRIPT FLUSH (or a Redis restart) the script is loaded again and the
// batch that met NOSCRIPT is sent again.
func TestPublishScriptFlushed(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	q, _ := newQueue(t, rdb, fastOptions("gateway"))
	ctx := context.Background()
	mustPublish(t, q, Event{ID: "Ev1", Kind: slackevent.AppMention, Body: []byte("x")})
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, q, Event{ID: "Ev2", Kind: slackevent.AppMention, Body: []byte("x")})
	if added, err := q.Publish(ctx, Event{ID: "Ev1", Kind: slackevent.AppMention}); added || err != nil {
		t.Errorf("duplicate Publish = %v, %v; want false, nil", added, err)
	}
	if n := rdb.XLen(ctx, q.StreamKey(slackevent.AppMention)).Val(); n != 2 {
		t.Errorf("stream length %d; want 2", n)
	}
}

// A caller that stops waiting leaves its request to the batch it is in: the
// batch is still stored, the leader does not block on the caller, and the
// request is not reused while the batch holds it.
func TestPublishCallerGivesUp(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	q, _ := newQueue(t, rdb, fastOptions("gateway"))
	// Act as the leader of a batch in flight, so that Publish queues its
	// request and waits.
	q.pubMu.Lock()
	q.pubInFlight = 1
	q.flushers.Add(1)
	q.pubMu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := q.Publish(ctx, Event{ID: "EvGone", Kind: slackevent.AppMention, Body: []byte("x")})
		errc <- err
	}()
	waitUntil(t, "the request is queued", func() bool {
		q.pubMu.Lock()
		defer q.pubMu.Unlock()
		return len(q.pubQueue) == 1
	})
	cancel()
	if err := receive(t, errc); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish after its context was cancelled = %v; want context.Canceled", err)
	}
	q.lead(false) // sends the queued batch and gives up the lead
	for i := range 20 {
		mustPublish(t, q, Event{ID: fmt.Sprintf("Ev%d", i), Kind: slackevent.AppMention, Body: []byte("x")})
	}
	if added, err := q.Publish(context.Background(), Event{ID: "EvGone", Kind: slackevent.AppMention}); added || err != nil {
		t.Errorf("Publish of the abandoned event again = %v, %v; want false, nil (it was stored)", added, err)
	}
	if n := rdb.XLen(context.Background(), q.StreamKey(slackevent.AppMention)).Val(); n != 21 {
		t.Errorf("stream length %d; want 21", n)
	}
}

func TestTransientErrorRetried(t *testing.T) {
	srv := redistest.Start(t)
	q, _ := newQueue(t, srv.Client(), fastOptions("c"))
	done := make(chan struct{})
	rec := newRecorder(func(ctx context.Context, d *Delivery) error {
		if d.Attempt < 3 {
			return errors.New("slack answered 500")
		}
		close(done)
		return nil
	})
	kinds := []string{slackevent.TeamJoin}
	consume(t, q, kinds, rec)
	mustPublish(t, q, Event{ID: "Ev1", Kind: slackevent.TeamJoin, Body: []byte(`{"x":1}`)})
	receive(t, done)
	s := waitIdle(t, q, kinds)
	var attempts []int
	for _, d := range rec.deliveries() {
		attempts = append(attempts, d.Attempt)
	}
	if diff := cmp.Diff([]int{1, 2, 3}, attempts); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	if s.Retried != 2 || s.Acked != 1 || s.DeadLetters != 0 || s.Streams[slackevent.TeamJoin].Length != 0 {
		t.Errorf("stats %+v; want 2 retries, 1 ack, no dead letter, empty stream", s)
	}
}

// A handler asks for a later retry with RetryAfter: the next attempt waits
// at least that long (the longest of several), or Backoff if longer, up to
// MaxRetryDelay.
func TestRetryAfterDelay(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	const ms = time.Millisecond
	for _, tc := range []struct {
		name            string
		backoff, max    time.Duration // Options.Backoff and MaxRetryDelay
		err             error
		atLeast, before time.Duration // the wait between the two attempts
	}{
		{"longer than backoff", 10 * ms, 0, RetryAfter(errors.New("429"), 300*ms), 300 * ms, 5 * time.Second},
		{"shorter than backoff", 300 * ms, 0, RetryAfter(errors.New("429"), 10*ms), 300 * ms, 5 * time.Second},
		{"longest of joined", 10 * ms, 0, errors.Join(RetryAfter(errors.New("429"), 100*ms),
			fmt.Errorf("dm: %w", RetryAfter(errors.New("429"), 400*ms))), 400 * ms, 5 * time.Second},
		{"capped", 10 * ms, 200 * ms, RetryAfter(errors.New("429"), time.Hour), 200 * ms, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kinds := []string{slackevent.AppMention}
			opts := fastOptions("c")
			opts.Prefix = "test:" + strings.ReplaceAll(tc.name, " ", "-") + ":"
			opts.Backoff = func(int) time.Duration { return tc.backoff }
			opts.MaxRetryDelay = tc.max
			q, _ := newQueue(t, rdb, opts)
			var failed time.Time
			retried := make(chan time.Time, 1)
			consume(t, q, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
				if d.Attempt == 1 {
					failed = time.Now()
					return tc.err
				}
				retried <- time.Now()
				return nil
			}))
			mustPublish(t, q, Event{ID: "EvLimited", Kind: kinds[0], Body: []byte("x")})
			// failed is written before the handler returns, hence before
			// the retry is scheduled.
			waited := receive(t, retried).Sub(failed)
			if waited < tc.atLeast || waited >= tc.before {
				t.Errorf("retried after %v; want at least %v, less than %v", waited, tc.atLeast, tc.before)
			}
			if s := waitIdle(t, q, kinds); s.Retried != 1 || s.Acked != 1 {
				t.Errorf("stats %+v; want 1 retry, 1 ack", s)
			}
		})
	}
}

// RetryAfter keeps a permanent error permanent: dead-lettered at once.
func TestRetryAfterPermanent(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	kinds := []string{slackevent.TeamJoin}
	q, _ := newQueue(t, srv.Client(), fastOptions("c"))
	rec := newRecorder(func(ctx context.Context, d *Delivery) error {
		return RetryAfter(Permanent(errors.New("channel_not_found")), time.Hour)
	})
	consume(t, q, kinds, rec)
	mustPublish(t, q, Event{ID: "EvGone", Kind: kinds[0], Body: []byte("x")})
	waitUntil(t, "the entry is dead-lettered", func() bool {
		s, err := q.Stats(ctx, kinds)
		return err == nil && s.Idle() && s.DeadLettered == 1
	})
	dl, err := q.DeadLetters(ctx, 10)
	if err != nil || len(dl) != 1 || dl[0].Attempts != 1 || !strings.Contains(dl[0].Reason, "permanent error: channel_not_found") {
		t.Errorf("DeadLetters = %+v, %v; want one, after one attempt, permanent", dl, err)
	}
	if n := rec.n(); n != 1 || q.retried.Load() != 0 {
		t.Errorf("handler ran %d times, %d retries; want once, none", n, q.retried.Load())
	}
}

// An entry waiting for a RetryAfter longer than ClaimIdle is touched while
// it waits: another consumer never reclaims it, and it is retried where it
// failed.
func TestRetryAfterLongerThanClaimIdle(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	kinds := []string{slackevent.TeamJoin}
	options := func(name string) Options {
		o := fastOptions(name)
		o.HandlerTimeout, o.ClaimIdle = 200*time.Millisecond, 600*time.Millisecond
		o.ClaimInterval = 20 * time.Millisecond
		return o
	}
	qa, _ := newQueue(t, rdb, options("A"))
	var failed time.Time
	failedCh := make(chan struct{})
	retried := make(chan *Delivery, 1)
	stopA := consume(t, qa, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		if d.Attempt == 1 {
			failed = time.Now()
			close(failedCh)
			return RetryAfter(errors.New("429"), 1500*time.Millisecond)
		}
		retried <- d
		return nil
	}))
	mustPublish(t, qa, Event{ID: "EvLimited", Kind: kinds[0], Body: []byte("x")})
	receive(t, failedCh)
	qb, _ := newQueue(t, rdb, options("B"))
	reclaimed := make(chan *Delivery, 1)
	recB := newRecorder(func(ctx context.Context, d *Delivery) error {
		select {
		case reclaimed <- d:
		default:
		}
		return nil
	})
	stopB := consume(t, qb, kinds, recB)

	var d *Delivery
	select {
	case d = <-retried:
	case d = <-reclaimed:
		t.Fatalf("the other consumer reclaimed the waiting entry %v after its failure (attempt %d)",
			time.Since(failed).Round(time.Millisecond), d.Attempt)
	case <-time.After(20 * time.Second):
		t.Fatal("not retried within 20s")
	}
	if waited := time.Since(failed); waited < 1500*time.Millisecond || d.Attempt != 2 {
		t.Errorf("retried after %v, attempt %d; want at least 1.5s, attempt 2", waited, d.Attempt)
	}
	waitIdle(t, qa, kinds)
	stopA()
	stopB()
	if n := recB.n(); n != 0 {
		t.Errorf("the other consumer ran the waiting entry %d times; want never", n)
	}
}

// A retry that waits for a free slot longer than ClaimIdle is reclaimed by
// another live consumer. Its claim then finds the entry taken over and drops
// the retry, rather than take the entry back while the other consumer runs
// it: one entry never runs on two live consumers at once.
func TestRetryDroppedWhenTakenOver(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	kinds := []string{slackevent.TeamJoin}
	options := func(name string) Options {
		o := fastOptions(name)
		o.HandlerTimeout, o.ClaimIdle = 500*time.Millisecond, 700*time.Millisecond
		return o
	}
	pub, _ := newQueue(t, rdb, options("gateway"))
	for _, id := range []string{"EvRetry", "EvBlock1", "EvBlock2"} {
		mustPublish(t, pub, Event{ID: id, Kind: kinds[0], Body: []byte("x")})
	}

	type span struct {
		who        string
		attempt    int
		start, end time.Time
	}
	var mu sync.Mutex
	var spans []span
	record := func(who string, d *Delivery, start time.Time) {
		mu.Lock()
		spans = append(spans, span{who, d.Attempt, start, time.Now()})
		mu.Unlock()
	}

	// A runs one entry at a time: while the two others run to their
	// deadlines, its retry of EvRetry waits for the slot, untouched.
	optsA := options("A")
	optsA.Concurrency = 1
	optsA.ClaimInterval = time.Minute
	optsA.Backoff = func(int) time.Duration { return 100 * time.Millisecond }
	qa, _ := newQueue(t, rdb, optsA)
	block2 := make(chan struct{})
	stopA := consume(t, qa, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		start := time.Now()
		switch d.ID {
		case "EvRetry":
			if d.Attempt == 1 {
				return errors.New("slack answered 500")
			}
			time.Sleep(50 * time.Millisecond)
			record("A", d, start)
			return nil
		case "EvBlock2":
			close(block2)
		}
		<-ctx.Done() // a slow call that honours its deadline
		return nil
	}))

	receive(t, block2)
	optsB := options("B")
	optsB.ClaimInterval = 20 * time.Millisecond
	qb, _ := newQueue(t, rdb, optsB)
	stopB := consume(t, qb, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		start := time.Now()
		select {
		case <-time.After(600 * time.Millisecond):
		case <-ctx.Done():
		}
		record("B", d, start)
		return nil
	}))
	waitIdle(t, pub, kinds)
	// Stopping waits for every run in flight, so that all are recorded.
	stopA()
	stopB()

	mu.Lock()
	defer mu.Unlock()
	var runs []span
	for _, s := range spans {
		if s.attempt >= 2 {
			runs = append(runs, s)
		}
	}
	for i := range runs {
		for j := i + 1; j < len(runs); j++ {
			a, b := runs[i], runs[j]
			if a.who != b.who && a.start.Before(b.end) && b.start.Before(a.end) {
				t.Errorf("EvRetry ran on %s (attempt %d, %v..%v) and on %s (attempt %d, %v..%v) at once",
					a.who, a.attempt, a.start.Format("15:04:05.000"), a.end.Format("15:04:05.000"),
					b.who, b.attempt, b.start.Format("15:04:05.000"), b.end.Format("15:04:05.000"))
			}
		}
	}
	if len(runs) != 1 {
		t.Errorf("EvRetry retried %d times; want once", len(runs))
	}
}

// An entry read with others but waiting for a free slot longer than
// ClaimIdle is reclaimed by another live consumer. When its slot frees up,
// the touch that would restart its idle clock finds it taken over, and it
// is not run here too.
func TestSlotWaitTakenOver(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	kinds := []string{slackevent.AppMention, slackevent.TeamJoin, slackevent.MemberJoinedChannel}
	options := func(name string) Options {
		o := fastOptions(name)
		o.HandlerTimeout, o.ClaimIdle = 500*time.Millisecond, 700*time.Millisecond
		return o
	}
	pub, _ := newQueue(t, rdb, options("gateway"))
	for i, k := range kinds {
		mustPublish(t, pub, Event{ID: fmt.Sprintf("Ev%d", i), Kind: k, Body: []byte("x")})
	}

	type span struct {
		who, id    string
		start, end time.Time
	}
	var mu sync.Mutex
	var spans []span
	slow := func(who string) Handler {
		return HandlerFunc(func(ctx context.Context, d *Delivery) error {
			start := time.Now()
			<-ctx.Done() // a slow call that honours its deadline
			mu.Lock()
			spans = append(spans, span{who, d.ID, start, time.Now()})
			mu.Unlock()
			return nil
		})
	}
	// A reads one entry of each stream in one go, and runs one at a time:
	// the last waits for its slot about 2×HandlerTimeout > ClaimIdle.
	optsA := options("A")
	optsA.Concurrency = 1
	optsA.ClaimInterval = time.Minute
	qa, _ := newQueue(t, rdb, optsA)
	stopA := consume(t, qa, kinds, slow("A"))
	waitUntil(t, "A holds the three entries", func() bool {
		for _, k := range kinds {
			p, err := rdb.XPending(context.Background(), qa.StreamKey(k), "gopherbot").Result()
			if err != nil || p.Consumers["A"] != 1 {
				return false
			}
		}
		return true
	})
	optsB := options("B")
	optsB.ClaimInterval = 20 * time.Millisecond
	qb, _ := newQueue(t, rdb, optsB)
	stopB := consume(t, qb, kinds, slow("B"))
	waitIdle(t, pub, kinds)
	stopA()
	stopB()

	mu.Lock()
	defer mu.Unlock()
	runs := map[string][]span{}
	for _, s := range spans {
		runs[s.id] = append(runs[s.id], s)
	}
	for id, rs := range runs {
		if len(rs) != 1 {
			var on []string
			for _, r := range rs {
				on = append(on, fmt.Sprintf("%s %v..%v", r.who, r.start.Format("15:04:05.000"), r.end.Format("15:04:05.000")))
			}
			t.Errorf("%s ran %d times (%s); want once", id, len(rs), strings.Join(on, ", "))
		}
	}
	if len(runs) != len(kinds) {
		t.Errorf("%d entries ran; want %d", len(runs), len(kinds))
	}
}

func TestPoisonDeadLettered(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	kind := slackevent.MessageChannel
	opts := fastOptions("c")
	opts.MaxDeliveries = 3
	q, _ := newQueue(t, rdb, opts)
	key := q.StreamKey(kind)

	// An entry whose handler kills its consumer every time: it sits under
	// a dead consumer, already delivered MaxDeliveries times.
	if err := rdb.XGroupCreateMkStream(ctx, key, "gopherbot", "0").Err(); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, q, Event{ID: "EvCrash", Kind: kind, Body: []byte(`crash`)})
	read, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "gopherbot", Consumer: "ghost", Streams: []string{key, ">"}, Block: -1}).Result()
	if err != nil {
		t.Fatal(err)
	}
	crashID := read[0].Messages[0].ID
	if err := rdb.Do(ctx, "XCLAIM", key, "gopherbot", "ghost", 0, crashID, "RETRYCOUNT", 3, "IDLE", 3600000).Err(); err != nil {
		t.Fatal(err)
	}
	// An entry that is not an event.
	badID := rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []string{"foo", "bar"}}).Val()

	rec := newRecorder(func(ctx context.Context, d *Delivery) error {
		switch d.ID {
		case "EvFlaky":
			return errors.New("boom")
		case "EvBad":
			return fmt.Errorf("render: %w", Permanent(errors.New("no such template")))
		}
		return nil
	})
	consume(t, q, []string{kind}, rec)
	mustPublish(t, q, Event{ID: "EvFlaky", Kind: kind, Body: []byte(`flaky`)})
	mustPublish(t, q, Event{ID: "EvBad", Kind: kind, Body: []byte(`bad`)})
	waitIdle(t, q, []string{kind})
	// The counter moves just after the dead letter is written: wait for both.
	var s Stats
	waitUntil(t, "four dead letters", func() bool {
		var err error
		s, err = q.Stats(ctx, []string{kind})
		return err == nil && s.DeadLetters == 4 && s.DeadLettered == 4
	})

	dl, err := q.DeadLetters(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	type letter struct {
		Kind, EventID, Body string
		Attempts            int
		Consumer            string
	}
	got := map[string]letter{}
	reasons := map[string]string{}
	for _, d := range dl {
		if d.EntryID == "" || d.Time.IsZero() {
			t.Errorf("dead letter %+v lacks its entry ID or time", d)
		}
		name := d.EventID
		if d.EntryID == badID {
			name = "bad entry"
		}
		got[name] = letter{d.Kind, d.EventID, string(d.Body), d.Attempts, d.Consumer}
		reasons[name] = d.Reason
	}
	want := map[string]letter{
		"EvFlaky":   {kind, "EvFlaky", "flaky", 3, "c"},
		"EvBad":     {kind, "EvBad", "bad", 1, "c"},
		"bad entry": {kind, "", "", 1, "c"},
		"EvCrash":   {kind, "EvCrash", "crash", 4, "c"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dead letters (-want +got):\n%s", diff)
	}
	for name, words := range map[string][]string{
		"EvFlaky":   {"failed 3 attempts", "boom"},
		"EvBad":     {"permanent", "no such template"},
		"bad entry": {"undecodable"},
		"EvCrash":   {"delivered 4 times"},
	} {
		for _, w := range words {
			if !strings.Contains(reasons[name], w) {
				t.Errorf("reason of %s is %q; want it to say %q", name, reasons[name], w)
			}
		}
	}
	if diff := cmp.Diff(map[string]int{"EvFlaky": 3, "EvBad": 1}, rec.counts()); diff != "" {
		t.Errorf("handler runs by event ID (-want +got):\n%s", diff)
	}
	if s.DeadLetters != 4 || s.DeadLettered != 4 || s.Streams[kind].Length != 0 {
		t.Errorf("stats %+v; want 4 dead letters and an empty stream", s)
	}
}

// A consumer restarted under the same name runs its own pending entries
// first, then new ones, losing nothing. The runs the drain deadline cut
// off do not count as attempts.
func TestRestartSameName(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	kinds := []string{slackevent.MessagePrivate}
	opts := noReclaimOptions("worker")
	opts.Drain = 100 * time.Millisecond

	q1, _ := newQueue(t, rdb, opts)
	var started sync.WaitGroup
	started.Add(3)
	stuck := newRecorder(func(ctx context.Context, d *Delivery) error {
		started.Done()
		<-ctx.Done() // ends at the drain deadline
		return ctx.Err()
	})
	stop := consume(t, q1, kinds, stuck)
	for i := 1; i <= 3; i++ {
		mustPublish(t, q1, Event{ID: fmt.Sprintf("Ev%d", i), Kind: kinds[0], Body: []byte("x")})
	}
	started.Wait()
	stop()
	for i := 4; i <= 5; i++ {
		mustPublish(t, q1, Event{ID: fmt.Sprintf("Ev%d", i), Kind: kinds[0], Body: []byte("x")})
	}
	p := rdb.XPending(ctx, q1.StreamKey(kinds[0]), "gopherbot").Val()
	if p.Count != 3 || p.Consumers["worker"] != 3 {
		t.Fatalf("after the drain deadline: pending %+v; want 3 entries under worker", p)
	}

	opts.Concurrency = 1 // one at a time shows the order
	q2, _ := newQueue(t, rdb, opts)
	rec := newRecorder(nil)
	consume(t, q2, kinds, rec)
	waitIdle(t, q2, kinds)
	var got []string
	for _, d := range rec.deliveries() {
		got = append(got, fmt.Sprintf("%s#%d", d.ID, d.Attempt))
	}
	if diff := cmp.Diff([]string{"Ev1#1", "Ev2#1", "Ev3#1", "Ev4#1", "Ev5#1"}, got); diff != "" {
		t.Errorf("deliveries after restart (-want +got):\n%s", diff)
	}
}

func TestShutdownDrains(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	kinds := []string{slackevent.AppMention}

	t.Run("finished within the drain", func(t *testing.T) {
		q, _ := newQueue(t, rdb, fastOptions("c1"))
		started, release := make(chan struct{}), make(chan struct{})
		var ctxErr error
		var finished atomic.Bool
		stop := consume(t, q, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
			close(started)
			<-release
			ctxErr = ctx.Err()
			finished.Store(true)
			return nil
		}))
		mustPublish(t, q, Event{ID: "EvDrain", Kind: kinds[0], Body: []byte("x")})
		receive(t, started)
		stopped := make(chan struct{})
		go func() { stop(); close(stopped) }()
		// Shutdown has begun (stop cancels first); the handler goes on.
		time.AfterFunc(50*time.Millisecond, func() { close(release) })
		<-stopped
		if !finished.Load() {
			t.Fatal("Consume returned before its in-flight handler finished")
		}
		if ctxErr != nil {
			t.Errorf("handler context was %v during the drain; want it alive", ctxErr)
		}
		s, err := q.Stats(ctx, kinds)
		if err != nil {
			t.Fatal(err)
		}
		if s.Acked != 1 || !s.Idle() || s.Streams[kinds[0]].Length != 0 {
			t.Errorf("after drain: %+v; want the entry acknowledged and deleted", s)
		}
	})

	t.Run("unfinished stays pending", func(t *testing.T) {
		opts := fastOptions("c2")
		opts.Drain = 100 * time.Millisecond
		q, _ := newQueue(t, rdb, opts)
		started := make(chan struct{})
		handlerErr := make(chan error, 1)
		stop := consume(t, q, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
			close(started)
			<-ctx.Done()
			handlerErr <- ctx.Err()
			return ctx.Err()
		}))
		mustPublish(t, q, Event{ID: "EvSlow", Kind: kinds[0], Body: []byte("x")})
		receive(t, started)
		stop()
		if err := receive(t, handlerErr); !errors.Is(err, context.Canceled) {
			t.Errorf("handler context ended with %v; want Canceled at the drain deadline", err)
		}
		p := rdb.XPending(ctx, q.StreamKey(kinds[0]), "gopherbot").Val()
		if p.Count != 1 || p.Consumers["c2"] != 1 {
			t.Errorf("pending %+v; want the unfinished entry pending under c2", p)
		}
		if n := rdb.XLen(ctx, q.StreamKey(kinds[0])).Val(); n != 1 {
			t.Errorf("stream length %d; want the unfinished entry kept", n)
		}
	})
}

// The entries returned by the read that was blocked when shutdown began are
// run during the drain, not left pending under a consumer that is gone
// until ClaimIdle passes (by when a message event is stale).
func TestShutdownRunsLastRead(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	kinds := []string{slackevent.AppMention}
	opts := fastOptions("c")
	opts.Block = 2 * time.Second
	q, _ := newQueue(t, rdb, opts)
	rec := newRecorder(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Consume(ctx, kinds, rec) }()
	t.Cleanup(cancel)

	mustPublish(t, q, Event{ID: "EvFirst", Kind: kinds[0], Body: []byte("x")})
	waitUntil(t, "EvFirst handled", func() bool { return rec.n() == 1 })
	waitUntil(t, "the consumer blocks in XREADGROUP", func() bool {
		for _, l := range strings.Split(rdb.ClientList(context.Background()).Val(), "\n") {
			if strings.Contains(l, "cmd=xreadgroup") && strings.Contains(l, "flags=b") {
				return true
			}
		}
		return false
	})
	cancel() // SIGTERM
	mustPublish(t, q, Event{ID: "EvLate", Kind: kinds[0], Body: []byte("x")})
	if err := receive(t, done); err != nil {
		t.Fatal(err)
	}
	p := rdb.XPending(context.Background(), q.StreamKey(kinds[0]), "gopherbot").Val()
	if c := rec.counts(); c["EvLate"] != 1 || p.Count != 0 {
		t.Errorf("EvLate handled %d times during the drain, pending after Consume returned: %+v; "+
			"want it handled once, nothing pending", c["EvLate"], p)
	}
}

// Consume's doc: entries whose handlers do not finish within the drain stay
// pending. That holds for an entry on its last attempt too: a handler cut
// off by the drain deadline has not failed an attempt, so the next consumer
// runs it again instead of dead-lettering it as delivered too often.
func TestDrainDeadlineKeepsLastAttemptPending(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	kinds := []string{slackevent.AppMention}
	opts := fastOptions("c")
	opts.MaxDeliveries = 2
	opts.Drain = 100 * time.Millisecond
	q, _ := newQueue(t, rdb, opts)
	started := make(chan struct{})
	stop := consume(t, q, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		if d.Attempt == 1 {
			return errors.New("slack answered 500")
		}
		close(started)
		<-ctx.Done() // interrupted by the drain deadline
		return ctx.Err()
	}))
	mustPublish(t, q, Event{ID: "EvLast", Kind: kinds[0], Body: []byte("x")})
	receive(t, started)
	stop()
	// Consume waits for the outcome; should it not, wait here all the same.
	waitUntil(t, "the last run is over", func() bool { return q.inflight.Load() == 0 })
	ctx := context.Background()
	// Taking the delivery back leaves the idle clock running since the
	// retry's claim: another consumer may take the entry over no later
	// than it could have.
	pe := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: q.StreamKey(kinds[0]), Group: "gopherbot", Start: "-", End: "+", Count: 1}).Val()
	if len(pe) != 1 || pe[0].Idle < opts.Drain {
		t.Errorf("pending after the drain deadline: %+v; want the entry idle since its retry began, at least the %v drain", pe, opts.Drain)
	}
	p := rdb.XPending(ctx, q.StreamKey(kinds[0]), "gopherbot").Val()
	dl, _ := q.DeadLetters(ctx, 10)
	if p.Count != 1 || len(dl) != 0 {
		reason := ""
		if len(dl) > 0 {
			reason = dl[0].Reason
		}
		t.Errorf("after the drain deadline: %d pending, %d dead letters (%q); want it pending for another consumer",
			p.Count, len(dl), reason)
	}

	// The same consumer comes back (a restarted dyno) and runs it.
	q2, _ := newQueue(t, rdb, opts)
	rec := newRecorder(nil)
	consume(t, q2, kinds, rec)
	waitUntil(t, "the entry is run or dead-lettered", func() bool {
		return rec.n() > 0 || rdb.XLen(ctx, q.DeadLetterKey()).Val() > 0
	})
	if dl, _ := q.DeadLetters(ctx, 10); len(dl) != 0 {
		t.Fatalf("after the restart the entry was dead-lettered (%q); want it run again", dl[0].Reason)
	}
	if d := rec.deliveries()[0]; d.Attempt != 2 {
		t.Errorf("after the restart it ran as attempt %d; want 2, the cut-off run not counted", d.Attempt)
	}
}

// After the drain deadline cancels the handlers, Consume returns only once
// their outcomes are written: nothing changes in Redis after it returned.
func TestDrainDeadlineOutcomeWrittenBeforeReturn(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	kinds := []string{slackevent.AppMention}
	opts := fastOptions("c")
	opts.Drain = 100 * time.Millisecond
	q, _ := newQueue(t, rdb, opts)
	started := make(chan struct{})
	stop := consume(t, q, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		close(started)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // wraps up, and reports its work done
		return nil
	}))
	mustPublish(t, q, Event{ID: "EvWrapUp", Kind: kinds[0], Body: []byte("x")})
	receive(t, started)
	stop()
	s, err := q.Stats(ctx, kinds)
	if err != nil {
		t.Fatal(err)
	}
	if s.Acked != 1 || !s.Idle() || s.Streams[kinds[0]].Length != 0 {
		t.Errorf("when Consume returned: %+v; want the entry acknowledged and deleted", s)
	}
}

// TestHelperProcess is the consumer process TestKilledConsumerReclaimed
// kills; it is not a test of its own.
func TestHelperProcess(t *testing.T) {
	addr := os.Getenv("WORKQUEUE_HELPER_REDIS")
	if addr == "" {
		t.Skip("helper process of TestKilledConsumerReclaimed")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	opts := fastOptions("doomed")
	opts.HandlerTimeout, opts.ClaimIdle = time.Minute, 2*time.Minute
	q := New(rdb, opts)
	_ = q.Consume(context.Background(), []string{slackevent.TeamJoin}, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		rdb.Set(ctx, "helper:started", d.ID, 0)
		<-ctx.Done() // until SIGKILL
		return ctx.Err()
	}))
}

// A consumer process killed in the middle of a handler: its entry is
// reclaimed and handled by another consumer.
func TestKilledConsumerReclaimed(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	kinds := []string{slackevent.TeamJoin}

	var out bytes.Buffer
	child := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	child.Env = append(os.Environ(), "WORKQUEUE_HELPER_REDIS="+srv.Addr)
	child.Stdout, child.Stderr = &out, &out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			child.Process.Kill()
			child.Wait()
		}
		if t.Failed() {
			t.Logf("helper output:\n%s", out.String())
		}
	})

	pub, _ := newQueue(t, rdb, fastOptions("gateway"))
	mustPublish(t, pub, Event{ID: "EvOrphan", Kind: kinds[0], Body: []byte(`{"user":"U1"}`)})
	waitUntil(t, "the helper's handler started", func() bool { return rdb.Get(ctx, "helper:started").Val() == "EvOrphan" })
	if err := child.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	child.Wait()
	killed = true

	opts := fastOptions("survivor")
	opts.HandlerTimeout, opts.ClaimIdle = 200*time.Millisecond, 400*time.Millisecond
	q, _ := newQueue(t, rdb, opts)
	done := make(chan *Delivery, 1)
	consume(t, q, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		done <- d
		return nil
	}))
	d := receive(t, done)
	if d.ID != "EvOrphan" || d.Attempt != 2 || string(d.Body) != `{"user":"U1"}` {
		t.Errorf("reclaimed delivery %+v; want EvOrphan, attempt 2, its body", d)
	}
	s := waitIdle(t, q, kinds)
	if s.Acked != 1 || s.DeadLetters != 0 || s.Streams[kinds[0]].Length != 0 {
		t.Errorf("stats %+v; want the reclaimed entry acknowledged and deleted", s)
	}
}

// Entries trimmed or deleted while pending are acknowledged and counted,
// never handled and never met again.
func TestVanishedPending(t *testing.T) {
	for _, tc := range []struct {
		name     string
		consumer string // the ghost itself restarting, or another one reclaiming
		drop     func(rdb *redis.Client, key string, ids []string)
		want     []string
	}{
		{"deleted, reclaimed", "other", func(rdb *redis.Client, key string, ids []string) {
			rdb.XDel(context.Background(), key, ids[1])
		}, []string{"Ev0", "Ev2"}},
		{"trimmed, own pending", "ghost", func(rdb *redis.Client, key string, ids []string) {
			rdb.XTrimMaxLen(context.Background(), key, 1)
		}, []string{"Ev2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			rdb := srv.Client()
			ctx := context.Background()
			kinds := []string{slackevent.MemberJoinedChannel}
			opts := fastOptions(tc.consumer)
			opts.HandlerTimeout, opts.ClaimIdle = 100*time.Millisecond, 300*time.Millisecond
			q, lb := newQueue(t, rdb, opts)
			key := q.StreamKey(kinds[0])
			for i := range 3 {
				mustPublish(t, q, Event{ID: fmt.Sprintf("Ev%d", i), Kind: kinds[0], Body: []byte("x")})
			}
			rdb.XGroupCreate(ctx, key, "gopherbot", "0")
			read := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "gopherbot", Consumer: "ghost", Streams: []string{key, ">"}, Block: -1}).Val()
			var ids []string
			for _, m := range read[0].Messages {
				ids = append(ids, m.ID)
			}
			tc.drop(rdb, key, ids)

			rec := newRecorder(nil)
			consume(t, q, kinds, rec)
			s := waitIdle(t, q, kinds)
			var got []string
			for _, d := range rec.deliveries() {
				got = append(got, d.ID)
			}
			slices.Sort(got) // handlers run concurrently
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("handled (-want +got):\n%s", diff)
			}
			if want := int64(3 - len(tc.want)); s.Vanished != want {
				t.Errorf("Vanished = %d; want %d", s.Vanished, want)
			}
			if !strings.Contains(lb.String(), "trimmed or deleted while pending") {
				t.Errorf("no log line about the vanished entries")
			}
		})
	}
}

// An entry deleted while it waits for its retry is acknowledged, counted as
// vanished and logged when its retry finds it gone, and not run again.
func TestVanishedWhileWaitingForRetry(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	kinds := []string{slackevent.AppMention}
	opts := fastOptions("c")
	opts.Backoff = func(int) time.Duration { return 500 * time.Millisecond }
	opts.ClaimInterval = time.Minute // production: ClaimIdle/3 = 15s, far longer than the first backoffs
	q, lb := newQueue(t, rdb, opts)
	failed := make(chan string, 1)
	rec := newRecorder(func(ctx context.Context, d *Delivery) error {
		if d.ID != "EvGone" {
			return nil
		}
		failed <- d.EntryID
		return errors.New("slack answered 500")
	})
	consume(t, q, kinds, rec)
	mustPublish(t, q, Event{ID: "EvWarm", Kind: kinds[0], Body: []byte("x")})
	waitIdle(t, q, kinds)
	mustPublish(t, q, Event{ID: "EvGone", Kind: kinds[0], Body: []byte("x")})
	id := receive(t, failed)
	waitUntil(t, "the retry is scheduled", func() bool { return q.retried.Load() == 1 })
	rdb.XDel(context.Background(), q.StreamKey(kinds[0]), id) // trimmed while waiting
	s := waitIdle(t, q, kinds)
	if s.Vanished != 1 || rec.counts()["EvGone"] != 1 {
		t.Errorf("Vanished = %d, handler runs %d; want the deleted entry counted as vanished, run once", s.Vanished, rec.counts()["EvGone"])
	}
	if !strings.Contains(lb.String(), "trimmed or deleted while pending") {
		t.Errorf("no log line about the vanished entry")
	}
}

func TestTrimGuard(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	opts := fastOptions("gateway")
	opts.MaxLen = 100
	q, lb := newQueue(t, rdb, opts)
	const n = 1000
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				mustPublish(t, q, Event{ID: fmt.Sprintf("Ev%d", i), Kind: slackevent.MessageChannel, Body: []byte("x")})
			}
		})
	}
	wg.Wait()
	length := rdb.XLen(context.Background(), q.StreamKey(slackevent.MessageChannel)).Val()
	s, err := q.Stats(context.Background(), []string{slackevent.MessageChannel})
	if err != nil {
		t.Fatal(err)
	}
	if s.Trimmed == 0 || s.Trimmed+length != n {
		t.Errorf("trimmed %d, length %d; want trimmed > 0 and trimmed + length = %d", s.Trimmed, length, n)
	}
	if !strings.Contains(lb.String(), "dropped by the stream length guard") {
		t.Errorf("trimming was not logged")
	}
}

func TestStats(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	q, _ := newQueue(t, rdb, fastOptions("c"))
	kinds := []string{slackevent.TeamJoin, slackevent.AppMention}

	s, err := q.Stats(ctx, kinds)
	if err != nil {
		t.Fatalf("Stats of streams that do not exist yet: %v", err)
	}
	if !s.Idle() || s.Streams[slackevent.AppMention] != (StreamStats{}) {
		t.Errorf("empty queue: %+v", s)
	}

	// An entry published an hour ago, then three more.
	key := q.StreamKey(slackevent.TeamJoin)
	old := fmt.Sprintf("%d-0", time.Now().Add(-time.Hour).UnixMilli())
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: old, Values: []string{"id", "EvOld", "body", "x"}})
	for i := range 3 {
		mustPublish(t, q, Event{ID: fmt.Sprintf("Ev%d", i), Kind: slackevent.TeamJoin, Body: []byte("x")})
	}
	s, _ = q.Stats(ctx, kinds)
	if got, want := s.Streams[slackevent.TeamJoin], (StreamStats{Length: 4, Lag: 4}); got != want || s.Idle() {
		t.Errorf("before any consumer: %+v; want %+v, not idle", got, want)
	}

	// A consumer takes two entries and dies.
	rdb.XGroupCreate(ctx, key, "gopherbot", "0")
	rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "gopherbot", Consumer: "ghost", Streams: []string{key, ">"}, Count: 2, Block: -1})
	s, _ = q.Stats(ctx, kinds)
	got := s.Streams[slackevent.TeamJoin]
	if got.Length != 4 || got.Lag != 2 || got.Pending != 2 || got.OldestPending < 59*time.Minute || got.OldestPending > 61*time.Minute {
		t.Errorf("two pending: %+v; want length 4, lag 2, pending 2, oldest about 1h", got)
	}
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.DeadLetterKey(), Values: []string{"kind", "x"}})
	if s, _ = q.Stats(ctx, kinds); s.DeadLetters != 1 {
		t.Errorf("DeadLetters = %d; want 1", s.DeadLetters)
	}

	// Trimmed before delivery (the length guard, or an operator's XTRIM):
	// Redis still counts the trimmed entries in the group's lag, but they
	// are gone and can never be delivered.
	mkey := q.StreamKey(slackevent.AppMention)
	rdb.XGroupCreateMkStream(ctx, mkey, "gopherbot", "0")
	for i := range 5 {
		mustPublish(t, q, Event{ID: fmt.Sprintf("EvT%d", i), Kind: slackevent.AppMention, Body: []byte("x")})
	}
	rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "gopherbot", Consumer: "ghost", Streams: []string{mkey, ">"}, Count: 1, Block: -1})
	rdb.XAck(ctx, mkey, "gopherbot", "0-0")
	rdb.XTrimMaxLen(ctx, mkey, 0)
	if got := mustStats(t, q, kinds).Streams[slackevent.AppMention]; got.Length != 0 || got.Lag != 0 {
		t.Errorf("after trimming every entry: %+v; want length 0, lag 0", got)
	}
}

func mustStats(t *testing.T, q *Queue, kinds []string) Stats {
	t.Helper()
	s, err := q.Stats(context.Background(), kinds)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Redis dies and comes back empty: Publish fails meanwhile, and the consumer
// carries on by itself, re-creating its group.
func TestRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	kinds := []string{slackevent.AppMention}
	// go-redis's default retries make each failing call last seconds.
	client := func() *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1})
		t.Cleanup(func() { c.Close() })
		return c
	}
	pub, _ := newQueue(t, client(), fastOptions("gateway"))
	q, lb := newQueue(t, client(), fastOptions("c"))
	handled := make(chan string, 10)
	consume(t, q, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		handled <- d.ID
		return nil
	}))
	mustPublish(t, pub, Event{ID: "EvBefore", Kind: kinds[0], Body: []byte("x")})
	if id := receive(t, handled); id != "EvBefore" {
		t.Fatalf("handled %s; want EvBefore", id)
	}

	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pub.Publish(ctx, Event{ID: "EvDuring", Kind: kinds[0], Body: []byte("x")}); err == nil {
		t.Errorf("Publish succeeded with Redis down")
	}
	if _, err := pub.Stats(ctx, kinds); err == nil {
		t.Errorf("Stats succeeded with Redis down")
	}
	waitUntil(t, "the consumer noticed the outage", func() bool { return strings.Contains(lb.String(), "cannot read the queue") })

	srv.Restart()
	// The first calls may meet connections that died with the old server.
	waitUntil(t, "Publish works again", func() bool {
		added, err := pub.Publish(ctx, Event{ID: "EvAfter", Kind: kinds[0], Body: []byte("x")})
		return err == nil && added
	})
	if id := receive(t, handled); id != "EvAfter" {
		t.Errorf("handled %s; want EvAfter", id)
	}
	waitIdle(t, q, kinds)
	if logs := lb.String(); !strings.Contains(logs, "re-creating consumer groups") || !strings.Contains(logs, "reading the queue again") {
		t.Errorf("the consumer did not log that it re-created its group and recovered")
	}
}

func TestPublishAfterClose(t *testing.T) {
	srv := redistest.Start(t)
	q, _ := newQueue(t, srv.Client(), fastOptions("gateway"))
	mustPublish(t, q, Event{ID: "Ev1", Kind: slackevent.TeamJoin})
	q.Close()
	if _, err := q.Publish(context.Background(), Event{ID: "Ev2", Kind: slackevent.TeamJoin}); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v; want ErrClosed", err)
	}
	if _, err := q.Publish(context.Background(), Event{ID: "Ev3"}); err == nil {
		t.Errorf("Publish without a kind succeeded")
	}
}

// A consumer started while Redis is down waits for it and then works.
func TestConsumeBeforeRedis(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	kinds := []string{slackevent.TeamJoin}
	q, lb := newQueue(t, rdb, fastOptions("early"))
	handled := make(chan string, 1)
	consume(t, q, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		handled <- d.ID
		return nil
	}))
	waitUntil(t, "the consumer reported Redis missing", func() bool {
		return strings.Contains(lb.String(), "creating consumer groups failed")
	})
	srv.Restart()
	waitUntil(t, "Publish works", func() bool {
		added, err := q.Publish(context.Background(), Event{ID: "Ev1", Kind: kinds[0], Body: []byte("x")})
		return err == nil && added
	})
	if id := receive(t, handled); id != "Ev1" {
		t.Errorf("handled %s; want Ev1", id)
	}
}

// InFlight counts the entries a consumer holds, and Idle waits for it: a
// queue whose Redis side is caught up is not idle while a handler of its
// own still runs, and once it is idle its counters are final.
func TestInFlight(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	kinds := []string{slackevent.AppMention}
	q, _ := newQueue(t, rdb, fastOptions("c1"))
	started, release := make(chan struct{}), make(chan struct{})
	consume(t, q, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		close(started)
		<-release
		return nil
	}))
	mustPublish(t, q, Event{ID: "EvHeld", Kind: kinds[0], Body: []byte("x")})
	receive(t, started)
	s, err := q.Stats(ctx, kinds)
	if err != nil {
		t.Fatal(err)
	}
	if s.InFlight != 1 || s.Idle() {
		t.Errorf("while handling: InFlight %d, Idle %v; want 1, false", s.InFlight, s.Idle())
	}
	close(release)
	s = waitIdle(t, q, kinds)
	if s.InFlight != 0 || s.Acked != 1 {
		t.Errorf("idle with InFlight %d, Acked %d; want 0, 1", s.InFlight, s.Acked)
	}
	// Redis alone would have said idle: a queue that holds nothing.
	other, _ := newQueue(t, rdb, fastOptions("other"))
	if s, err := other.Stats(ctx, kinds); err != nil || !s.Idle() || s.InFlight != 0 {
		t.Errorf("another queue's stats %+v, %v; want idle", s, err)
	}
}

// TestRetrySlotWaitTouched: a retry that waits for a free slot longer than
// ClaimIdle, on the only consumer, is touched meanwhile, so that its own
// reclaim loop does not XAUTOCLAIM it (which counts a delivery the handler
// never got): the second run is attempt 2, not 3, and with MaxDeliveries 2
// it is not dead-lettered after a single handler run.
//
// Whether a reclaim pass or the retry gets the slot first depends on the
// order they queued for it; the scenario runs 4 times, with reclaim passes
// ticking at different phases (without the touches most runs fail).
func TestRetrySlotWaitTouched(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	for try := range 4 {
		attempts, dl := selfReclaimScenario(t, rdb, try)
		if len(attempts) != 2 || attempts[1] != 2 || len(dl) != 0 {
			reason := ""
			if len(dl) > 0 {
				reason = dl[0].Reason
			}
			t.Fatalf("try %d: EvRetry ran with attempts %v, %d dead letters (%q); want attempts [1 2] and no dead letter",
				try, attempts, len(dl), reason)
		}
	}
}

func selfReclaimScenario(t *testing.T, rdb *redis.Client, try int) ([]int, []DeadLetter) {
	ctx := context.Background()
	kinds := []string{slackevent.TeamJoin}
	opts := fastOptions("A")
	opts.Prefix = fmt.Sprintf("test%d:", try)
	// One slot. EvRetry fails first; its retry, touched once as it fails
	// (its backoff is shorter than ClaimIdle/3), then waits for the slot
	// while EvBlock1 and EvBlock2 run to their deadlines, 1.2s in all,
	// longer than ClaimIdle. A reclaim pass that queued for the slot
	// before the retry gets it between the two blockers' runs.
	opts.HandlerTimeout, opts.ClaimIdle = 600*time.Millisecond, 900*time.Millisecond
	opts.ClaimInterval = []time.Duration{150, 100, 200, 120}[try] * time.Millisecond
	opts.Concurrency = 1
	opts.MaxDeliveries = 2
	opts.Backoff = func(int) time.Duration { return 250 * time.Millisecond }
	q, _ := newQueue(t, rdb, opts)
	for _, id := range []string{"EvRetry", "EvBlock1", "EvBlock2"} {
		mustPublish(t, q, Event{ID: id, Kind: kinds[0], Body: []byte("x")})
	}
	var mu sync.Mutex
	var attempts []int
	stop := consume(t, q, kinds, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		if d.ID == "EvRetry" {
			mu.Lock()
			attempts = append(attempts, d.Attempt)
			mu.Unlock()
			if d.Attempt == 1 {
				return errors.New("slack answered 500")
			}
			return nil
		}
		<-ctx.Done() // a slow call that honours its deadline
		return nil
	}))
	// Wait on a Queue that does not consume: the consuming one's Stats
	// count its reclaim passes, which wait for the single slot.
	pub, _ := newQueue(t, rdb, opts)
	waitIdle(t, pub, kinds)
	waitUntil(t, "EvRetry is settled here", func() bool { return q.inflight.Load() == 0 })
	stop()
	dl, _ := q.DeadLetters(ctx, 10)
	mu.Lock()
	defer mu.Unlock()
	return attempts, dl
}

// While Redis stalls, events wait for a batch only up to PublishBacklog
// bytes; the next Publish fails at once with ErrBacklog and stores
// nothing, and once Redis answers the waiting events are stored and the
// room is back.
func TestPublishBacklog(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	h := &stallHook{release: make(chan struct{}), started: make(chan struct{}, 16)}
	rdb.AddHook(h)
	opts := fastOptions("gateway")
	opts.PublishInFlight = 1
	opts.PublishBacklog = 100
	q, _ := newQueue(t, rdb, opts)
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(h.release) }) }
	t.Cleanup(release) // before Close, which waits for the stalled batch
	body := []byte(strings.Repeat("b", 30))
	ev := func(i int) Event { return Event{ID: fmt.Sprintf("Ev%d", i), Kind: slackevent.AppMention, Body: body} }

	results := make(chan error, 4)
	go func() { _, err := q.Publish(context.Background(), ev(0)); results <- err }()
	<-h.started // the first batch is stalled in Redis
	for i := 1; i <= 3; i++ {
		go func() { _, err := q.Publish(context.Background(), ev(i)); results <- err }()
	}
	waitUntil(t, "three events wait", func() bool {
		q.pubMu.Lock()
		defer q.pubMu.Unlock()
		return len(q.pubQueue) == 3
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if added, err := q.Publish(ctx, ev(4)); added || !errors.Is(err, ErrBacklog) {
		t.Fatalf("Publish over the backlog = %v, %v; want false, ErrBacklog", added, err)
	} else if !strings.Contains(err.Error(), "3 events (90 bytes)") {
		t.Errorf("error %q does not say what is waiting", err)
	}
	release()
	for range 4 {
		if err := receive(t, results); err != nil {
			t.Errorf("Publish of a waiting event: %v", err)
		}
	}
	if added, err := q.Publish(context.Background(), ev(4)); !added || err != nil {
		t.Errorf("Publish of the refused event after the stall = %v, %v; want true, nil", added, err)
	}
	if n := rdb.XLen(context.Background(), q.StreamKey(slackevent.AppMention)).Val(); n != 5 {
		t.Errorf("stream length %d; want 5", n)
	}
	q.pubMu.Lock()
	defer q.pubMu.Unlock()
	if q.pubBytes != 0 {
		t.Errorf("%d bytes counted as waiting after every batch was sent", q.pubBytes)
	}
}

// stallHook holds every EVALSHA until release is closed, and signals each
// one on started.
type stallHook struct {
	release chan struct{}
	started chan struct{}
}

func (h *stallHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *stallHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *stallHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" {
			h.started <- struct{}{}
			<-h.release
		}
		return next(ctx, cmd)
	}
}

// Entries read before shutdown that wait for a free slot (more streams than
// Concurrency) are run during the drain like those of the last read, not
// left pending under a consumer that is gone until ClaimIdle passes.
func TestShutdownRunsEntriesWaitingForSlot(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	kinds := []string{slackevent.AppMention, slackevent.TeamJoin, slackevent.MemberJoinedChannel}
	opts := fastOptions("c")
	opts.Concurrency = 1
	opts.ClaimInterval = time.Minute
	q, _ := newQueue(t, rdb, opts)
	for i, k := range kinds {
		mustPublish(t, q, Event{ID: fmt.Sprintf("Ev%d", i), Kind: k, Body: []byte("x")})
	}
	started, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	rec := newRecorder(func(ctx context.Context, d *Delivery) error {
		first.Do(func() {
			close(started)
			<-release
		})
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- q.Consume(ctx, kinds, rec) }()
	receive(t, started)
	// The read loop read the three entries in one go and waits for the
	// slot the first one holds.
	waitUntil(t, "the read loop waits for a slot", func() bool {
		buf := make([]byte, 1<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "(*consumer).acquire") && strings.Contains(g, "(*consumer).readLoop") {
				return true
			}
		}
		return false
	})
	cancel() // SIGTERM
	close(release)
	if err := receive(t, done); err != nil {
		t.Fatal(err)
	}
	var pending int64
	for _, k := range kinds {
		pending += rdb.XPending(context.Background(), q.StreamKey(k), "gopherbot").Val().Count
	}
	if n := rec.n(); n != len(kinds) || pending != 0 {
		t.Errorf("%d entries handled, %d left pending when Consume returned; want %d handled during the drain, none pending",
			n, pending, len(kinds))
	}
}

// A Block under a millisecond still ends: XREADGROUP counts BLOCK in whole
// milliseconds, and BLOCK 0 waits for ever, so Consume would not notice
// that it should stop until an entry arrives.
func TestBlockUnderMillisecond(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	kinds := []string{slackevent.AppMention}
	opts := fastOptions("c")
	opts.Block = 500 * time.Microsecond
	q, _ := newQueue(t, rdb, opts)
	if got := q.Options().Block; got < time.Millisecond {
		t.Errorf("Options().Block = %v; want at least 1ms", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- q.Consume(ctx, kinds, newRecorder(nil)) }()
	waitUntil(t, "the consumer reads new entries", func() bool {
		for _, l := range strings.Split(rdb.ClientList(context.Background()).Val(), "\n") {
			if strings.Contains(l, "cmd=xreadgroup") {
				return true
			}
		}
		return false
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("Consume did not return 10s after its context was cancelled")
		mustPublish(t, q, Event{ID: "EvWake", Kind: kinds[0], Body: []byte("x")}) // ends its read
		<-done
	}
}

// A handler that could not attempt its entry (ErrNotAttempted, with the
// consumer stopping) leaves it pending with that delivery taken back: on
// its last allowed delivery it is not dead-lettered, and the next run of
// the consumer gets the same attempt number.
func TestNotAttemptedKeepsAttempts(t *testing.T) {
	rdb := redistest.Start(t).Client()
	opts := fastOptions("c")
	opts.MaxDeliveries = 1
	q, _ := newQueue(t, rdb, opts)
	kind := slackevent.TeamJoin
	attempts := make(chan int, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	h := HandlerFunc(func(_ context.Context, d *Delivery) error {
		attempts <- d.Attempt
		if calls.Add(1) == 1 {
			cancel() // as the consumer does when Slack rejects its token
			return fmt.Errorf("slack: token rejected: %w", ErrNotAttempted)
		}
		return nil
	})
	mustPublish(t, q, Event{ID: "EvJoin", Kind: kind, Body: []byte(`{}`)})
	done := make(chan error, 1)
	go func() { done <- q.Consume(ctx, []string{kind}, h) }()
	if err := receive(t, done); err != nil {
		t.Fatalf("Consume = %v", err)
	}
	bg := context.Background()
	if n := rdb.XLen(bg, q.DeadLetterKey()).Val(); n != 0 {
		t.Fatalf("%d dead letters; want none, the entry was not attempted", n)
	}
	p := rdb.XPendingExt(bg, &redis.XPendingExtArgs{Stream: q.StreamKey(kind), Group: q.opts.Group, Start: "-", End: "+", Count: 10}).Val()
	if len(p) != 1 || p[0].Consumer != "c" || p[0].RetryCount != 0 {
		t.Fatalf("pending %+v; want the entry pending under c with its delivery taken back", p)
	}

	consume(t, q, []string{kind}, h)
	waitUntil(t, "the entry is handled after the restart", func() bool { return calls.Load() == 2 })
	if first, second := <-attempts, <-attempts; first != 1 || second != 1 {
		t.Errorf("attempts %d then %d; want 1 both times", first, second)
	}
}

// Stats tells an entry nobody has touched for ClaimIdle (its consumer
// stopped) from an old entry handled now, and counts how often the oldest
// pending entry was delivered: the consumer's report warns about the first
// and about one delivered again and again, not about a backlog caught up.
func TestStatsStalledAndDeliveries(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client()
	opts := fastOptions("c")
	opts.HandlerTimeout, opts.ClaimIdle = 50*time.Millisecond, 150*time.Millisecond
	q, _ := newQueue(t, rdb, opts)
	kind := slackevent.TeamJoin
	key := q.StreamKey(kind)
	old := fmt.Sprintf("%d-0", time.Now().Add(-time.Hour).UnixMilli())
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: old, Values: []any{"id", "EvOld", "body", "x"}}).Err(); err != nil {
		t.Fatal(err)
	}
	id := readOne(t, rdb, q, key, "ghost")
	stats := func() StreamStats {
		t.Helper()
		s, err := q.Stats(ctx, []string{kind})
		if err != nil {
			t.Fatal(err)
		}
		return s.Streams[kind]
	}
	if st := stats(); st.OldestPending < 59*time.Minute || st.OldestDeliveries != 1 || st.Stalled != 0 {
		t.Errorf("an hour-old entry just delivered: %+v; want oldest pending about 1h, delivered once, none stalled", st)
	}
	time.Sleep(opts.ClaimIdle + 50*time.Millisecond)
	if st := stats(); st.Stalled != 1 {
		t.Errorf("after ClaimIdle untouched: %+v; want 1 stalled", st)
	}
	if err := rdb.XClaim(ctx, &redis.XClaimArgs{Stream: key, Group: q.opts.Group, Consumer: "ghost", Messages: []string{id}}).Err(); err != nil {
		t.Fatal(err)
	}
	if st := stats(); st.OldestDeliveries != 2 || st.Stalled != 0 {
		t.Errorf("delivered again: %+v; want delivered twice, none stalled", st)
	}
}
