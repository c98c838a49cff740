package workqueue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// flushTimeout bounds one publish pipeline; callers' contexts bound their
// own wait.
const flushTimeout = 5 * time.Second

// trimLogEvery rate-limits the trimming warning: when the guard bites it
// bites on most publishes.
const trimLogEvery = 10 * time.Second

type pubReq struct {
	e     Event
	added bool
	err   error
	done  chan struct{}
}

// Publish appends e to the stream of its kind unless an event with the same
// ID was published within DedupTTL, in one round trip. added reports whether
// e was new. Concurrent calls are batched into pipelines.
//
// An event with an empty ID is never deduplicated. When Publish returns an
// error the event may or may not be stored (the connection may have failed
// after Redis ran the script); publishing it again is safe when it has an ID.
// Publish returns when ctx is done, except that the call which happens to
// send a pipeline waits for it (at most flushTimeout, 5s): the other events
// in it depend on it. With Redis down, go-redis's own retries decide how
// fast a call fails; give the client few retries where that matters.
func (q *Queue) Publish(ctx context.Context, e Event) (added bool, err error) {
	if e.Kind == "" {
		return false, errors.New("workqueue: publish: event without a kind")
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("workqueue: publish: %w", err)
	}
	r := &pubReq{e: e, done: make(chan struct{})}
	q.pubMu.Lock()
	if q.pubClosed {
		q.pubMu.Unlock()
		return false, ErrClosed
	}
	q.pubQueue = append(q.pubQueue, r)
	if q.flushing {
		q.pubMu.Unlock()
	} else {
		// No pipeline in flight: send this one at once, from this goroutine,
		// with whatever else is waiting.
		q.flushing = true
		q.flushers.Add(1)
		q.pubMu.Unlock()
		q.lead(true)
	}
	select {
	case <-r.done:
		return r.added, r.err
	case <-ctx.Done():
		return false, fmt.Errorf("workqueue: publish: %w", ctx.Err())
	}
}

// lead sends the waiting requests as pipelines, one at a time, until none
// is left. Requests that arrive while a pipeline is in flight wait and go
// together in the next one: no timer, so an idle queue adds no latency and a
// busy one sends larger batches. A Publish call that became the leader sends
// one pipeline (its own event is in it) and hands the rest of the work to a
// new goroutine, so that it is not held up by later callers' events.
func (q *Queue) lead(inline bool) {
	for first := true; ; first = false {
		q.pubMu.Lock()
		if len(q.pubQueue) == 0 {
			q.flushing = false
			q.pubMu.Unlock()
			q.flushers.Done()
			return
		}
		if inline && !first {
			q.pubMu.Unlock()
			go q.lead(false)
			return
		}
		n := min(len(q.pubQueue), q.opts.PublishBatch)
		batch := make([]*pubReq, n)
		copy(batch, q.pubQueue)
		rest := copy(q.pubQueue, q.pubQueue[n:])
		clear(q.pubQueue[rest:])
		q.pubQueue = q.pubQueue[:rest]
		q.pubMu.Unlock()
		q.flush(batch)
	}
}

func (q *Queue) flush(reqs []*pubReq) {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	cmds := make([]*redis.Cmd, len(reqs))
	_, _ = q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range reqs {
			keys, args := q.publishArgs(r.e)
			cmds[i] = p.EvalSha(ctx, publishScript.Hash(), keys, args...)
		}
		return nil
	})
	// After a Redis restart or SCRIPT FLUSH the script is gone: load it and
	// send the refused events again (a refused EVALSHA ran nothing). Not
	// publishScript.Load: on a pipeline it records an empty hash.
	var retry []int
	for i, c := range cmds {
		if err := c.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		_, _ = q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.ScriptLoad(ctx, publishSrc)
			for _, i := range retry {
				keys, args := q.publishArgs(reqs[i].e)
				cmds[i] = p.EvalSha(ctx, publishScript.Hash(), keys, args...)
			}
			return nil
		})
	}
	for i, r := range reqs {
		r.added, r.err = q.publishResult(r.e, cmds[i])
		close(r.done)
	}
}

func (q *Queue) publishArgs(e Event) (keys []string, args []any) {
	keys = []string{q.StreamKey(e.Kind)}
	if e.ID != "" {
		keys = append(keys, q.dedupKey(e.ID))
	}
	return keys, []any{q.opts.MaxLen, q.opts.DedupTTL.Milliseconds(), e.ID, e.Body}
}

func (q *Queue) publishResult(e Event, c *redis.Cmd) (bool, error) {
	res, err := c.Int64Slice()
	if err != nil {
		return false, fmt.Errorf("workqueue: publish %s %s: %w", e.Kind, e.ID, err)
	}
	if len(res) != 2 {
		return false, fmt.Errorf("workqueue: publish %s %s: unexpected reply %v", e.Kind, e.ID, res)
	}
	if n := res[1]; n > 0 {
		q.noteTrimmed(e.Kind, n)
	}
	return res[0] == 1, nil
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
