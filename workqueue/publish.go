package workqueue

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// flushTimeout bounds one publish batch; callers' contexts bound their
// own wait.
const flushTimeout = 5 * time.Second

// trimLogEvery rate-limits the trimming warning: when the guard bites it
// bites on most publishes.
const trimLogEvery = 10 * time.Second

// pubReq is one Publish call waiting for its batch. Requests are reused
// (pubReqs): done has room for the one signal a use gets, so the flusher
// never blocks on a caller that gave up waiting, and a request is returned
// to the pool only by a caller that received its signal.
type pubReq struct {
	e     Event
	added bool
	err   error
	done  chan struct{}
}

var pubReqs = sync.Pool{New: func() any { return &pubReq{done: make(chan struct{}, 1)} }}

// Publish appends e to the stream of its kind unless an event with the same
// ID was published within DedupTTL, in one round trip. added reports whether
// e was new. Concurrent calls are batched: one script call appends a whole
// batch.
//
// An event with an empty ID is never deduplicated. When Publish returns an
// error the event may or may not be stored (the connection may have failed
// after Redis ran the script); publishing it again is safe when it has an ID.
// Publish returns when ctx is done, except that the call which happens to
// send a batch waits for it (at most flushTimeout, 5s): the other events
// in it depend on it. With Redis down, go-redis's own retries decide how
// fast a call fails; give the client few retries where that matters.
func (q *Queue) Publish(ctx context.Context, e Event) (added bool, err error) {
	if e.Kind == "" {
		return false, errors.New("workqueue: publish: event without a kind")
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("workqueue: publish: %w", err)
	}
	r := pubReqs.Get().(*pubReq)
	r.e = e
	q.pubMu.Lock()
	if q.pubClosed {
		q.pubMu.Unlock()
		r.e = Event{}
		pubReqs.Put(r)
		return false, ErrClosed
	}
	if n := len(q.pubQueue); n > 0 && q.pubBytes+int64(len(e.Body)) > q.opts.PublishBacklog {
		waiting := q.pubBytes
		q.pubMu.Unlock()
		r.e = Event{}
		pubReqs.Put(r)
		return false, fmt.Errorf("%w: %d events (%d bytes) are waiting for Redis", ErrBacklog, n, waiting)
	}
	q.pubQueue = append(q.pubQueue, r)
	q.pubBytes += int64(len(e.Body))
	// The first batch goes at once; another one goes alongside it only
	// when it has company (see lead).
	if q.pubInFlight == 0 || q.pubInFlight < q.opts.PublishInFlight && len(q.pubQueue) >= minExtraBatch {
		// Send it from this goroutine, with whatever else is waiting.
		q.pubInFlight++
		q.flushers.Add(1)
		q.pubMu.Unlock()
		q.lead(true)
	} else {
		q.pubMu.Unlock()
	}
	select {
	case <-r.done:
		added, err = r.added, r.err
		r.e, r.added, r.err = Event{}, false, nil
		pubReqs.Put(r)
		return added, err
	case <-ctx.Done():
		// r stays with the batch it is in, and is dropped after it.
		return false, fmt.Errorf("workqueue: publish: %w", ctx.Err())
	}
}

// minExtraBatch is the fewest waiting events worth a batch of their own
// while another batch is in flight (Options.PublishInFlight).
const minExtraBatch = 2

// lead sends the waiting requests in batches until none is left. Requests
// that arrive while a batch is in flight wait and go together in a later
// one: no timer, so an idle queue adds no latency and a busy one sends larger
// batches. A Publish call that became a leader sends one batch (its own
// event is in it) and hands the rest of the work to a new goroutine, so that
// it is not held up by later callers' events.
//
// Up to Options.PublishInFlight leaders send at once, each on its own
// connection; a second one starts only for at least minExtraBatch waiting
// events, and a leader whose batch came back leaves fewer than that to the
// others still in flight. One batch at a time leaves Redis idle while the
// batch and its reply cross the network and wake each side: in the load
// test (16 connections, 2 cores shared with Redis) two in flight served
// about 12% more events a second than one, at the same p99.
//
// When the previous batch held more than one event (publishers are
// concurrent), a leader yields once before taking a batch, so that
// goroutines already runnable (on a busy gateway, request handlers about to
// publish) can join it: sending a batch and waking Redis for it costs tens
// of microseconds of CPU on both sides whatever its size, so a larger batch
// saves more than the wait costs. A lone publisher does not yield: there
// the yield added about 20µs of latency and CPU per event.
func (q *Queue) lead(inline bool) {
	b := pubBufs.Get().(*pubBuf)
	defer pubBufs.Put(b)
	for first := true; ; first = false {
		q.pubMu.Lock()
		if inline && !first && len(q.pubQueue) > 0 {
			q.pubMu.Unlock()
			go q.lead(false) // goes on as the same leader
			return
		}
		if q.pubLast > 1 && len(q.pubQueue) > 0 {
			q.pubMu.Unlock()
			runtime.Gosched()
			q.pubMu.Lock()
		}
		if n := len(q.pubQueue); n == 0 || n < minExtraBatch && q.pubInFlight > 1 {
			q.pubInFlight--
			q.pubMu.Unlock()
			q.flushers.Done()
			return
		}
		var batch []*pubReq
		if n := len(q.pubQueue); n <= q.opts.PublishBatch {
			// Swap the buffers: the waiting list becomes the batch.
			batch, q.pubQueue = q.pubQueue, b.batch[:0]
		} else {
			n = q.opts.PublishBatch
			batch = append(b.batch[:0], q.pubQueue[:n]...)
			rest := copy(q.pubQueue, q.pubQueue[n:])
			clear(q.pubQueue[rest:])
			q.pubQueue = q.pubQueue[:rest]
		}
		for _, r := range batch {
			q.pubBytes -= int64(len(r.e.Body))
		}
		q.pubLast = len(batch)
		q.pubMu.Unlock()
		b.args = q.flush(b.args, batch)
		clear(batch)
		b.batch = batch[:0]
	}
}

// pubBuf holds a leader's batch and script arguments, reused from batch to
// batch and, through pubBufs, from leader to leader.
type pubBuf struct {
	batch []*pubReq
	args  []any
}

var pubBufs = sync.Pool{New: func() any { return new(pubBuf) }}

// flush sends reqs as one script call and hands each request its result.
// It builds the call's arguments in buf and returns buf for reuse.
func (q *Queue) flush(buf []any, reqs []*pubReq) []any {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	args := q.publishArgs(buf[:0], reqs)
	cmd := redis.NewCmd(ctx, args...)
	start := time.Now()
	_ = q.rdb.Process(ctx, cmd)
	// After a Redis restart or SCRIPT FLUSH the script is gone: load it and
	// send the batch again (a refused EVALSHA ran nothing).
	if err := cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		if err := publishScript.Load(ctx, q.rdb).Err(); err != nil {
			cmd.SetErr(err)
		} else {
			cmd = redis.NewCmd(ctx, args...)
			_ = q.rdb.Process(ctx, cmd)
		}
	}
	q.pubNanos.Add(int64(time.Since(start)))
	q.pubBatches.Add(1)
	q.pubEvents.Add(int64(len(reqs)))
	q.publishResults(reqs, cmd)
	clear(args)
	return args[:0]
}

// PublishStats counts the publish batches a Queue has sent since New.
type PublishStats struct {
	Batches   int64         // script calls sent
	Events    int64         // events in them, new or duplicate, failed or not
	RoundTrip time.Duration // sum of the batches' round trips to Redis
}

// EventsPerBatch is the mean batch size, or 0 before the first batch.
func (s PublishStats) EventsPerBatch() float64 {
	if s.Batches == 0 {
		return 0
	}
	return float64(s.Events) / float64(s.Batches)
}

// MeanRoundTrip is the mean time from sending a batch to having its reply,
// or 0 before the first batch. Every event in a batch waits this long, plus
// the rest of the batch ahead of it when it arrived.
func (s PublishStats) MeanRoundTrip() time.Duration {
	if s.Batches == 0 {
		return 0
	}
	return s.RoundTrip / time.Duration(s.Batches)
}

// Sub returns the counts of s since an earlier reading old.
func (s PublishStats) Sub(old PublishStats) PublishStats {
	return PublishStats{s.Batches - old.Batches, s.Events - old.Events, s.RoundTrip - old.RoundTrip}
}

// PublishStats returns the publish counters; it reads no Redis.
func (q *Queue) PublishStats() PublishStats {
	return PublishStats{
		Batches:   q.pubBatches.Load(),
		Events:    q.pubEvents.Load(),
		RoundTrip: time.Duration(q.pubNanos.Load()),
	}
}

// publishArgs appends the EVALSHA of publishScript for reqs to args.
func (q *Queue) publishArgs(args []any, reqs []*pubReq) []any {
	args = append(args, "evalsha", publishScript.Hash(), 2*len(reqs))
	for _, r := range reqs {
		stream := q.StreamKey(r.e.Kind)
		dedup := stream
		if r.e.ID != "" {
			dedup = q.dedupKey(r.e.ID)
		}
		args = append(args, stream, dedup)
	}
	args = append(args, q.opts.MaxLen, q.opts.DedupTTL.Milliseconds())
	for _, r := range reqs {
		args = append(args, r.e.ID, r.e.Body)
	}
	return args
}

// publishResults hands each request its result from the reply of
// publishScript, and counts what the length guard dropped. The requests
// are signalled last: a signalled request belongs to its caller again.
func (q *Queue) publishResults(reqs []*pubReq, cmd *redis.Cmd) {
	reply, err := cmd.Slice()
	var results, trims []any
	if err == nil {
		if len(reply) == 2 {
			results, _ = reply[0].([]any)
			trims, _ = reply[1].([]any)
		}
		if len(results) != len(reqs) {
			err = fmt.Errorf("unexpected reply %v", reply)
		}
	}
	for i := 0; err == nil && i+1 < len(trims); i += 2 {
		j, _ := trims[i].(int64)
		n, _ := trims[i+1].(int64)
		if j >= 1 && j <= int64(len(reqs)) && n > 0 {
			q.noteTrimmed(reqs[j-1].e.Kind, n)
		}
	}
	for i, r := range reqs {
		switch {
		case err != nil:
			r.err = fmt.Errorf("workqueue: publish %s %s: %w", r.e.Kind, r.e.ID, err)
		default:
			switch v := results[i].(type) {
			case int64:
				r.added = v == 1
			case error:
				r.err = fmt.Errorf("workqueue: publish %s %s: %w", r.e.Kind, r.e.ID, v)
			default:
				r.err = fmt.Errorf("workqueue: publish %s %s: unexpected reply %v", r.e.Kind, r.e.ID, v)
			}
		}
		r.done <- struct{}{}
	}
}

// noteTrimmed counts entries the length guard dropped and warns, at most
// every trimLogEvery: those entries were never handled.
func (q *Queue) noteTrimmed(kind string, n int64) {
	total := q.trimmed.Add(n)
	now := time.Now().UnixNano()
	last := q.lastTrimLog.Load()
	if now-last < int64(trimLogEvery) || !q.lastTrimLog.CompareAndSwap(last, now) {
		return
	}
	q.log.Warn().Str("kind", kind).Int64("trimmed", n).Int64("trimmed_total", total).
		Int64("max_len", q.opts.MaxLen).
		Str("reason", "stream reached its length cap; consumers are down or too slow").
		Msg("unhandled entries dropped by the stream length guard")
}
