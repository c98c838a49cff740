package workqueue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// opTimeout bounds one acknowledgement, dead-lettering or claim.
const opTimeout = 5 * time.Second

// afterDrain bounds the wait for cancelled handlers after the drain: they
// return at once when they honour their context, and their outcomes take a
// round trip each. Short, so that Drain plus this fits what the platform
// allows (Heroku: 30s after SIGTERM, Drain 25s by default).
const afterDrain = 2 * time.Second

// Consume reads the streams of kinds and runs h until ctx is done, then
// stops reading and lets in-flight handlers finish within Options.Drain.
//
// On start it creates the group on each stream if needed (from the start of
// the stream, so nothing published earlier is missed), writes its liveness
// record, and first runs the entries still pending under its consumer name
// from a previous run. If another Consume under the name is still live (a
// predecessor draining), it reads new entries at once and runs the pending
// ones once the other is gone (see Consumer names in the package doc).
//
// When ctx is done, the entries returned by the read in progress (which may
// block for up to Options.Block), and those read earlier that still wait for
// a free slot, are still run. Entries whose handlers do not finish within
// Options.Drain after ctx is done (their contexts are then cancelled),
// whatever their attempt and with that delivery taken back, and entries
// waiting for a retry, stay pending and are taken over by another consumer,
// or by this one when it comes back under the same name. After the drain deadline Consume waits
// two seconds more for the cancelled handlers to return and their outcomes
// to be written, so that normally nothing is written after it returns; a
// handler that ignores its context, or a Redis that stalls longer than that,
// can still have an outcome written later (logged). That costs nothing but
// timing: an outcome not written leaves its entry pending, to run again.
//
// Consume returns nil once it has stopped after ctx is done, or an error
// for invalid options or arguments; Redis failures never end it. Give each
// process a name of its own: two processes under one name at once run
// nothing twice, but the later one runs no pending entries, and reclaims
// none, until the earlier one stops.
func (q *Queue) Consume(ctx context.Context, kinds []string, h Handler) error {
	if err := q.opts.Validate(); err != nil {
		return err
	}
	if h == nil {
		return errors.New("workqueue: consume: nil handler")
	}
	if len(kinds) == 0 {
		return errors.New("workqueue: consume: no kinds to read")
	}
	c := &consumer{
		q:        q,
		h:        h,
		kinds:    make(map[string]string, len(kinds)),
		tokens:   make(chan struct{}, q.opts.Concurrency),
		inflight: make(map[string]struct{}),
		token:    newToken(),
		log:      q.log.With().Str("consumer", q.opts.Consumer).Str("group", q.opts.Group).Logger(),
	}
	for _, k := range kinds {
		key := q.StreamKey(k)
		if _, dup := c.kinds[key]; dup || k == "" {
			return fmt.Errorf("workqueue: consume: kind %q is empty or repeated", k)
		}
		c.kinds[key] = k
		c.keys = append(c.keys, key)
	}
	if !q.consuming.CompareAndSwap(false, true) {
		return errors.New("workqueue: consume: already consuming on this Queue")
	}
	defer q.consuming.Store(false)

	// Handlers keep running when ctx is done, until their own deadline or
	// the end of the drain, Options.Drain after ctx is done.
	hctx, stopHandlers := drainContext(ctx, q.opts.Drain)
	defer stopHandlers()

	c.log.Info().Strs("kinds", kinds).Int("concurrency", q.opts.Concurrency).
		Dur("handler_timeout", q.opts.HandlerTimeout).Dur("claim_idle", q.opts.ClaimIdle).
		Msg("consuming")
	var wait retryWait
	for ctx.Err() == nil {
		what, err := "creating consumer groups failed", c.ensureGroups(ctx)
		var others int
		if err == nil {
			what = "writing this consumer's liveness record failed"
			others, _, err = c.refreshLive(ctx)
		}
		if err == nil {
			// The entries pending under this name are run once no
			// earlier Consume under it is live (free is closed then).
			var free chan struct{}
			if others > 0 {
				free = make(chan struct{})
				c.log.Info().Int("others", others).Dur("live_ttl", q.opts.LiveTTL).
					Msg("another consumer is still running under this name (one stopping and draining?): " +
						"reading new entries now, and the entries pending under this name once it is gone")
			}
			lctx, stopLive := context.WithCancel(context.WithoutCancel(ctx))
			var live sync.WaitGroup
			live.Go(func() { c.liveLoop(lctx, free) })
			// Deferred: runs once the drain below is over.
			defer c.leave(ctx, func() { stopLive(); live.Wait() })

			// Reclaiming waits until this consumer's own pending entries
			// are dispatched, so that the two never race on an entry.
			ownDone := make(chan struct{})
			var bg sync.WaitGroup
			bg.Go(func() {
				select {
				case <-ownDone:
					c.reclaimLoop(ctx, hctx)
				case <-ctx.Done():
				}
			})
			bg.Go(func() { c.reportLoop(ctx, kinds) })
			c.readLoop(ctx, hctx, ownDone, free)
			bg.Wait()
			break
		}
		d := wait.next()
		c.log.Warn().Err(err).Dur("retry_in", d).Str("reason", what).
			Msg("cannot read the queue")
		sleep(ctx, d)
	}

	done := make(chan struct{})
	go func() { c.work.Wait(); close(done) }()
	select {
	case <-done:
		c.log.Info().Msg("stopped consuming; in-flight work finished")
		return nil
	case <-hctx.Done():
	}
	c.log.Warn().Int("unfinished", c.held()).Dur("drain", q.opts.Drain).
		Str("reason", "drain deadline passed").
		Msg("stopped consuming; unfinished entries stay pending for other consumers")
	// The cancelled handlers return, and their runs leave their entries
	// pending or write what the handlers finished: wait a little for that,
	// so that normally nothing is written after Consume returns (bounded, to
	// stay within what the platform allows after SIGTERM).
	t := time.NewTimer(afterDrain)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		c.log.Error().Int("unfinished", c.held()).Dur("waited", afterDrain).
			Str("reason", "handlers ignore their cancelled context, or Redis is slow to take their outcomes").
			Msg("stopped consuming with handlers still running")
	}
	return nil
}

// drainContext returns a context that ends d after ctx is done: the drain's
// deadline. Its cancel func also releases its timer.
func drainContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var t *time.Timer
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if dctx.Err() == nil {
			t = time.AfterFunc(d, cancel)
		}
	})
	return dctx, func() {
		stop()
		cancel()
		mu.Lock()
		defer mu.Unlock()
		if t != nil {
			t.Stop()
		}
	}
}

// consumer is the state of one Consume call.
type consumer struct {
	q     *Queue
	h     Handler
	log   zerolog.Logger
	keys  []string          // stream keys, in the order of kinds
	kinds map[string]string // stream key → kind

	// tokens holds one token per handler run in flight (a semaphore).
	tokens chan struct{}
	// work counts handler runs and retry waits.
	work sync.WaitGroup

	mu       sync.Mutex
	inflight map[string]struct{} // stream key + "/" + entry ID, running or waiting for a retry here

	// token names this Consume call's liveness record.
	token string
}

// acquire takes at least need tokens, waiting for them, and then up to most
// without waiting. It returns 0 when ctx is done first.
func (c *consumer) acquire(ctx context.Context, need, most int) int {
	n := 0
	for n < need {
		select {
		case c.tokens <- struct{}{}:
			n++
		case <-ctx.Done():
			c.release(n)
			return 0
		}
	}
	for n < most {
		select {
		case c.tokens <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

func (c *consumer) release(n int) {
	for range n {
		<-c.tokens
	}
}

// own marks an entry as handled here; false if it already is.
func (c *consumer) own(key, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key + "/" + id
	if _, ok := c.inflight[k]; ok {
		return false
	}
	c.inflight[k] = struct{}{}
	c.q.inflight.Add(1)
	return true
}

// held counts the entries handled or waiting for a retry here.
func (c *consumer) held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.inflight)
}

// disown lets go of an entry, after its outcome was counted.
func (c *consumer) disown(key, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key + "/" + id
	if _, ok := c.inflight[k]; ok {
		delete(c.inflight, k)
		c.q.inflight.Add(-1)
	}
}

// isNoGroup tells the error of a missing group or stream, also when a
// script reports it (miniredis wraps it in its own message).
func isNoGroup(err error) bool { return err != nil && strings.Contains(err.Error(), "NOGROUP") }

// ensureGroups creates the group on every stream, and the streams, unless
// they exist. The group starts at 0 so that entries published before any
// consumer came up, or before Redis lost and regained its data, are read.
func (c *consumer) ensureGroups(ctx context.Context) error {
	cmds, _ := c.q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, key := range c.keys {
			p.XGroupCreateMkStream(ctx, key, c.q.opts.Group, "0")
		}
		return nil
	})
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("workqueue: create group: %w", err)
		}
	}
	return nil
}

// retryWait is the back-off of the read loop while Redis fails.
type retryWait struct{ n int }

func (w *retryWait) next() time.Duration {
	d := min(100*time.Millisecond<<min(w.n, 10), 5*time.Second)
	w.n++
	return d
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// readLoop reads entries until ctx is done: first the entries pending under
// this consumer's name, then new ones. The entries of the read that was in
// progress when ctx ended, and those of earlier reads still waiting for a
// slot, are run all the same, unless the drain (hctx) is over before they
// get a slot. It closes ownDone once the entries pending under this name
// are dispatched.
//
// When free is not nil, an earlier Consume under this name was still live
// at start: it reads new entries at once, and the pending ones (rereadOwn)
// once free is closed. It does that between two reads, when every entry
// the last read returned is marked as held here.
func (c *consumer) readLoop(ctx, hctx context.Context, ownDone chan<- struct{}, free <-chan struct{}) {
	opts := c.q.opts
	var wait retryWait
	groups := true // Consume created them
	pending := free == nil
	defer func() {
		if free != nil {
			c.log.Info().Msg("stopped before the other consumer under this name was gone; " +
				"the entries pending under this name are left to the next consumer under it, or to a reclaim")
		}
	}()
	cursors := make([]string, len(c.keys))
	for i := range cursors {
		cursors[i] = "0"
	}
	newIDs := make([]string, len(c.keys))
	for i := range newIDs {
		newIDs[i] = ">"
	}
	failed := func(what string, err error) {
		d := wait.next()
		c.log.Warn().Err(err).Dur("retry_in", d).Str("reason", what).Msg("cannot read the queue")
		sleep(ctx, d)
	}
	for ctx.Err() == nil {
		if !groups {
			if err := c.ensureGroups(ctx); err != nil {
				failed("creating consumer groups failed", err)
				continue
			}
			groups = true
		}
		if free != nil {
			select {
			case <-free:
				n, err := c.rereadOwn(ctx, hctx)
				if err != nil {
					if ctx.Err() == nil {
						groups = !isNoGroup(err)
						failed("picking up the entries pending under this name failed", err)
					}
					continue
				}
				free = nil
				close(ownDone)
				c.log.Info().Int("entries", n).Msg("picked up the entries left pending under this name")
			default:
			}
		}
		need := min(len(c.keys), opts.Concurrency)
		n := c.acquire(ctx, need, max(need, opts.ReadBatch))
		if n == 0 {
			return
		}
		args := &redis.XReadGroupArgs{
			Group:    opts.Group,
			Consumer: opts.Consumer,
			Streams:  append(append(make([]string, 0, 2*len(c.keys)), c.keys...), newIDs...),
			Count:    int64(max(1, n/len(c.keys))),
			Block:    opts.Block,
		}
		if pending {
			copy(args.Streams[len(c.keys):], cursors)
			args.Block = -1
		}
		streams, err := c.q.rdb.XReadGroup(ctx, args).Result()
		at := time.Now() // about when Redis delivered the entries
		// slots is the context of waiting for slots: the entries read
		// (delivered to this name, so pending here) are run, also when ctx
		// ends while they wait for a slot (more streams than Concurrency),
		// if slots free up within the drain.
		slots := hctx
		if ctx.Err() != nil && (err != nil || !hasEntries(streams) || hctx.Err() != nil) {
			c.release(n)
			return
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			c.release(n)
			if isNoGroup(err) {
				c.log.Warn().Err(err).Str("reason", "consumer group missing; Redis lost its data?").
					Msg("re-creating consumer groups")
				groups = false
				if pending {
					pending = false
					close(ownDone)
				}
				continue
			}
			failed("reading streams failed", err)
			continue
		}
		if wait.n > 0 {
			c.log.Info().Int("failures", wait.n).Msg("reading the queue again")
			wait = retryWait{}
		}
		if err != nil { // redis.Nil: nothing new within Block
			c.release(n)
			if pending {
				pending = false
				close(ownDone)
			}
			continue
		}
		var attempts map[string]int
		if pending {
			if !hasEntries(streams) {
				c.release(n)
				pending = false
				close(ownDone)
				c.log.Debug().Msg("own pending entries done; reading new ones")
				continue
			}
			attempts = c.pendingAttempts(slots, streams)
			for _, s := range streams {
				if len(s.Messages) > 0 {
					for i, key := range c.keys {
						if key == s.Stream {
							cursors[i] = s.Messages[len(s.Messages)-1].ID
						}
					}
				}
			}
		}
		for _, s := range streams {
			for _, m := range s.Messages {
				if n == 0 {
					// More entries than free slots (more streams than
					// Concurrency): wait for a slot.
					if n = c.acquire(slots, 1, 1); n == 0 {
						return // the rest stays pending here
					}
				}
				n--
				attempt := 1
				if pending {
					attempt = attempts[s.Stream+"/"+m.ID]
					if attempt == 0 {
						attempt = 2 // delivered before, and now again
					}
				}
				c.dispatch(ctx, hctx, s.Stream, m, attempt, at)
			}
		}
		c.release(n)
	}
}

func hasEntries(streams []redis.XStream) bool {
	for _, s := range streams {
		if len(s.Messages) > 0 {
			return true
		}
	}
	return false
}

// pendingAttempts reads the delivery counts of entries re-read from this
// consumer's pending list (XREADGROUP does not return them).
func (c *consumer) pendingAttempts(ctx context.Context, streams []redis.XStream) map[string]int {
	cmds, _ := c.q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, s := range streams {
			if len(s.Messages) == 0 {
				continue
			}
			p.XPendingExt(ctx, &redis.XPendingExtArgs{
				Stream:   s.Stream,
				Group:    c.q.opts.Group,
				Start:    s.Messages[0].ID,
				End:      s.Messages[len(s.Messages)-1].ID,
				Count:    int64(len(s.Messages)),
				Consumer: c.q.opts.Consumer,
			})
		}
		return nil
	})
	out := make(map[string]int)
	for _, cmd := range cmds {
		pc, ok := cmd.(*redis.XPendingExtCmd)
		if !ok || pc.Err() != nil {
			continue
		}
		key := pc.Args()[1].(string)
		for _, p := range pc.Val() {
			out[key+"/"+p.ID] = int(p.RetryCount)
		}
	}
	return out
}

// leaveTimeout bounds the removal of the liveness record when Consume
// returns: it comes after the drain, within what the platform allows after
// SIGTERM, and a record that is not removed lapses by itself.
const leaveTimeout = time.Second

// newToken returns a random token for a liveness record.
func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// refreshLive writes or refreshes this call's liveness record (liveScript),
// and returns how many other Consume calls under this name are live, and
// whether this call's record was still live before.
func (c *consumer) refreshLive(ctx context.Context) (others int, was bool, err error) {
	octx, cancel := opContext(ctx)
	defer cancel()
	res, err := liveScript.Run(octx, c.q.rdb, []string{c.q.liveKey()}, c.token, c.q.opts.LiveTTL.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, false, fmt.Errorf("workqueue: liveness record: %w", err)
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("workqueue: liveness record: unexpected reply %v", res)
	}
	return int(res[0]), res[1] == 1, nil
}

// liveLoop refreshes this call's liveness record every LiveTTL/3 until lctx
// ends (after the drain). While free is not nil (another Consume under this
// name was live at start) it refreshes every LiveTTL/10, and closes free
// once no other record is live.
func (c *consumer) liveLoop(lctx context.Context, free chan struct{}) {
	ttl := c.q.opts.LiveTTL
	every := func() time.Duration {
		if free != nil {
			return max(ttl/10, time.Millisecond)
		}
		return max(ttl/3, time.Millisecond)
	}
	t := time.NewTicker(every())
	defer t.Stop()
	failing := false
	for {
		select {
		case <-lctx.Done():
			return
		case <-t.C:
		}
		others, was, err := c.refreshLive(lctx)
		switch {
		case err != nil && lctx.Err() != nil:
			return
		case err != nil:
			if !failing {
				c.log.Warn().Err(err).Dur("live_ttl", ttl).
					Msg("cannot refresh this consumer's liveness record; it is tried again")
			}
			failing = true
			continue
		case failing:
			failing = false
			c.log.Info().Msg("refreshed this consumer's liveness record again")
		}
		if !was {
			c.log.Warn().Dur("live_ttl", ttl).
				Str("reason", "not refreshed for LiveTTL, or Redis lost its data").
				Msg("this consumer's liveness record had lapsed: a consumer started under the same name meanwhile " +
					"may run again the entries this one runs")
		}
		if free != nil && others == 0 {
			close(free)
			free = nil
			c.log.Info().Msg("the other consumer under this name is gone; picking up the entries pending under this name")
			t.Reset(every())
		}
	}
}

// leave stops refreshing this call's liveness record (stop) and removes it,
// so that a consumer restarted under this name runs the entries left
// pending here at once. While handlers still run (they ignored the drain
// deadline) the record is left to lapse instead, LiveTTL from now.
func (c *consumer) leave(ctx context.Context, stop func()) {
	stop()
	if n := c.held(); n > 0 {
		c.log.Info().Int("unfinished", n).Dur("live_ttl", c.q.opts.LiveTTL).
			Msg("liveness record left to lapse: handlers still run")
		return
	}
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
	defer cancel()
	if err := c.q.rdb.ZRem(octx, c.q.liveKey(), c.token).Err(); err != nil {
		c.log.Warn().Err(err).Dur("live_ttl", c.q.opts.LiveTTL).
			Msg("cannot remove this consumer's liveness record: a consumer restarted under this name " +
				"runs the entries left pending here only once it lapses")
	}
}

// rereadOwn runs the entries pending under this consumer's name that this
// call does not hold: those an earlier Consume under the name left when it
// stopped. It cannot re-read them with XREADGROUP from 0 as Consume does at
// start: that would also count one more delivery of each entry this call
// has read since and still runs or waits to retry. It lists the pending
// entries instead, and claims back (ownClaimScript) each one that it does
// not hold, counting a delivery as a re-read does. It returns how many it
// runs; after an error, the entries it dispatched are held here, and the
// next call skips them.
func (c *consumer) rereadOwn(ctx, hctx context.Context) (int, error) {
	opts := c.q.opts
	n := 0
	for _, key := range c.keys {
		log := c.log.With().Str("kind", c.kinds[key]).Logger()
		start := "-"
		for {
			ps, err := c.q.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
				Stream: key, Group: opts.Group, Start: start, End: "+",
				Count: int64(opts.ReadBatch), Consumer: opts.Consumer,
			}).Result()
			if err != nil {
				return n, fmt.Errorf("workqueue: list pending entries: %w", err)
			}
			for _, p := range ps {
				if !c.own(key, p.ID) {
					continue // runs or waits for a retry here
				}
				if c.acquire(ctx, 1, 1) == 0 {
					c.disown(key, p.ID)
					return n, ctx.Err()
				}
				elog := log.With().Str("entry_id", p.ID).Logger()
				o, err := c.ownClaim(ctx, elog, key, p.ID, "claim", int(p.RetryCount)+1)
				at := time.Now()
				if err != nil || o.status != "ok" {
					c.release(1)
					c.disown(key, p.ID)
					if err != nil {
						return n, err
					}
					if o.status != "vanished" { // logged as such
						elog.Info().Str("reason", o.reason()).Msg("pending entry not picked up")
					}
					continue
				}
				n++
				c.work.Go(func() { c.run(ctx, hctx, key, o.msg, o.deliveries, at) })
			}
			next, ok := nextID(ps)
			if len(ps) < opts.ReadBatch || !ok {
				break
			}
			start = next
		}
	}
	return n, nil
}

// nextID is the smallest entry ID after the last of ps.
func nextID(ps []redis.XPendingExt) (string, bool) {
	if len(ps) == 0 {
		return "", false
	}
	ms, seq, ok := strings.Cut(ps[len(ps)-1].ID, "-")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || n == math.MaxUint64 {
		return "", false
	}
	return ms + "-" + strconv.FormatUint(n+1, 10), true
}

// dispatch runs the entry m of stream key in a new goroutine, holding one
// token, which it gives back when done.
func (c *consumer) dispatch(ctx, hctx context.Context, key string, m redis.XMessage, attempt int, delivered time.Time) {
	if m.Values == nil {
		// Deleted (trimmed) while pending: Redis returns its ID only.
		c.release(1)
		c.q.settling.Add(1)
		c.vanished(ctx, key, m.ID)
		c.q.settling.Add(-1)
		return
	}
	if !c.own(key, m.ID) {
		c.release(1) // already running or waiting for a retry here
		return
	}
	c.work.Go(func() { c.run(ctx, hctx, key, m, attempt, delivered) })
}

// vanished acknowledges an entry that was deleted while pending, so that it
// is not met again.
func (c *consumer) vanished(ctx context.Context, key, id string) {
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	log := c.log.With().Str("kind", c.kinds[key]).Str("entry_id", id).Logger()
	n, err := c.q.rdb.XAck(octx, key, c.q.opts.Group, id).Result()
	if err != nil {
		log.Error().Err(err).Msg("cannot acknowledge an entry deleted while pending")
		return
	}
	if n == 0 {
		return // another consumer dropped it first, and counted it
	}
	c.countVanished(log)
}

// countVanished counts and logs an entry found deleted while pending here,
// once it is acknowledged.
func (c *consumer) countVanished(log zerolog.Logger) {
	c.q.vanished.Add(1)
	log.Warn().Str("reason", "entry trimmed or deleted while pending").Msg("acknowledged a vanished entry")
}

// run handles one delivery holding one token, and applies the failure
// policy to the outcome.
func (c *consumer) run(ctx, hctx context.Context, key string, m redis.XMessage, attempt int, delivered time.Time) {
	opts := c.q.opts
	kind := c.kinds[key]
	e, bad := decode(kind, m)
	log := c.log.With().Str("kind", kind).Str("entry_id", m.ID).Str("event_id", e.ID).
		Int("attempt", attempt).Logger()
	token := true
	defer func() {
		if token {
			c.release(1)
		}
	}()
	switch {
	case bad != "":
		c.deadLetter(ctx, log, key, m.ID, e, attempt, bad)
		c.disown(key, m.ID)
		return
	case attempt > opts.MaxDeliveries:
		c.deadLetter(ctx, log, key, m.ID, e, attempt,
			fmt.Sprintf("delivered %d times, more than the %d allowed (did its handler crash the consumer?)", attempt, opts.MaxDeliveries))
		c.disown(key, m.ID)
		return
	}

	// The deadline counts from the delivery, when Redis started the idle
	// clock that lets others reclaim the entry. An entry that waited for a
	// slot is touched to restart that clock, unless another consumer has
	// taken it over meanwhile.
	deadline := delivered.Add(opts.HandlerTimeout)
	if time.Until(deadline) < opts.HandlerTimeout/2 {
		o, err := c.touch(ctx, log, key, m.ID)
		switch {
		case err != nil:
			log.Warn().Err(err).Msg("cannot touch an entry that waited for a slot; not run, left pending for a reclaim")
		case o.status == "ok":
		case o.status != "vanished": // logged as such
			log.Info().Str("reason", o.reason()).Msg("entry that waited for a slot not run")
		}
		if err != nil || o.status != "ok" {
			c.disown(key, m.ID)
			return
		}
		deadline = time.Now().Add(opts.HandlerTimeout)
	}
	d := &Delivery{Event: e, EntryID: m.ID, Attempt: attempt, Enqueued: entryTime(m.ID)}
	rctx, cancel := context.WithDeadline(hctx, deadline)
	start := time.Now()
	err := c.call(rctx, log, d)
	cancel()
	log = log.With().Dur("took", time.Since(start)).Logger()

	switch {
	case err == nil:
		c.ack(ctx, log, key, m.ID)
	case hctx.Err() != nil:
		// Cut off by the drain deadline: not a failed attempt, whatever
		// the handler returned. Its delivery is taken back, or the next
		// consumer would dead-letter an entry on its last attempt as
		// delivered too often, without running it.
		c.uncount(ctx, log, key, m.ID, attempt, err, "handler cancelled by the drain deadline")
	case errors.Is(err, ErrNotAttempted):
		// Not the entry's failure: its delivery is taken back, so that it
		// keeps its attempts for when the consumer can work again.
		c.uncount(ctx, log, key, m.ID, attempt, err, "handler could not attempt the entry")
	case errors.Is(err, ErrPermanent):
		c.deadLetter(ctx, log, key, m.ID, e, attempt, "permanent error: "+err.Error())
	case attempt >= opts.MaxDeliveries:
		c.deadLetter(ctx, log, key, m.ID, e, attempt,
			fmt.Sprintf("failed %d attempts; last error: %v", attempt, err))
	case ctx.Err() != nil:
		log.Warn().Err(err).Str("reason", "shutting down").
			Msg("handler failed; entry left pending for another consumer")
	default:
		token = false
		c.release(1)
		c.retryLater(ctx, hctx, log, key, m.ID, attempt, err)
		return // the retry owns the entry now
	}
	c.disown(key, m.ID)
}

// uncount leaves entry id pending for another run with the delivery of
// attempt taken back, so that it keeps its attempts: what tells why the
// handler's run does not count, err is what it returned.
func (c *consumer) uncount(ctx context.Context, log zerolog.Logger, key, id string, attempt int, err error, what string) {
	o, cerr := c.ownClaim(ctx, log, key, id, "uncount", attempt-1)
	switch {
	case cerr != nil:
		log.Warn().Err(err).AnErr("uncount_error", cerr).
			Msg(what + "; entry left pending, but this delivery counts")
	case o.status == "ok":
		log.Warn().Err(err).Msg(what + "; entry left pending, this delivery not counted")
	case o.status != "vanished": // logged as such
		log.Info().Err(err).Str("reason", o.reason()).Msg(what + "; the entry is no longer ours")
	}
}

func decode(kind string, m redis.XMessage) (e Event, bad string) {
	id, okID := m.Values["id"].(string)
	body, okBody := m.Values["body"].(string)
	e = Event{ID: id, Kind: kind, Body: []byte(body)}
	if !okID || !okBody {
		return e, fmt.Sprintf("undecodable entry: want fields id and body, have %d fields", len(m.Values))
	}
	return e, ""
}

// call runs the handler, turning a panic into a transient error.
func (c *consumer) call(ctx context.Context, log zerolog.Logger, d *Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error().Str("panic", fmt.Sprint(r)).Str("stack", string(debug.Stack())).Msg("handler panicked")
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return c.h.Handle(ctx, d)
}

func opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
}

// ack acknowledges and deletes a handled entry, retrying briefly: an entry
// left pending is run again elsewhere after ClaimIdle.
func (c *consumer) ack(ctx context.Context, log zerolog.Logger, key, id string) {
	var err error
	for i := range 3 {
		if i > 0 {
			sleep(context.WithoutCancel(ctx), 100*time.Millisecond<<i)
		}
		octx, cancel := opContext(ctx)
		var n int64
		n, err = ackScript.Run(octx, c.q.rdb, []string{key}, c.q.opts.Group, id).Int64()
		cancel()
		if err == nil {
			c.q.acked.Add(1)
			if n == 0 {
				// Another consumer finished it (after a reclaim), or an
				// earlier send of this script went through and its reply
				// was lost: Redis cannot tell which.
				log.Info().Str("reason", "no longer pending: finished elsewhere, or acknowledged by a resent command").
					Msg("handled an entry that was already acknowledged")
			} else {
				log.Debug().Msg("handled")
			}
			return
		}
		if isNoGroup(err) {
			break
		}
	}
	log.Error().Err(err).Str("reason", "acknowledging failed").
		Msg("handled, but not acknowledged: the entry will run again")
}

// deadLetter moves an entry to the dead-letter stream, atomically with its
// acknowledgement.
func (c *consumer) deadLetter(ctx context.Context, log zerolog.Logger, key, id string, e Event, attempt int, reason string) {
	q := c.q
	octx, cancel := opContext(ctx)
	defer cancel()
	reply, err := deadLetterScript.Run(octx, q.rdb, []string{key, q.DeadLetterKey()},
		q.opts.Group, id, q.opts.MaxLen, q.opts.Consumer,
		"kind", e.Kind, "entry", id, "id", e.ID, "body", e.Body,
		"reason", reason, "attempts", attempt, "consumer", q.opts.Consumer).Slice()
	var moved, trimmed int64
	var owner string
	if err == nil {
		if len(reply) == 3 {
			moved, _ = reply[0].(int64)
			owner, _ = reply[1].(string)
			trimmed, _ = reply[2].(int64)
		} else {
			err = fmt.Errorf("unexpected reply %v", reply)
		}
	}
	switch {
	case err != nil:
		log.Error().Err(err).Str("reason", reason).
			Msg("cannot dead-letter the entry; it stays pending and will be retried")
	case owner != "":
		log.Info().Str("reason", reason).Str("owner", owner).
			Msg("not dead-lettered: taken over by another consumer, which runs it now")
	case moved == 0:
		log.Info().Str("reason", reason).Msg("not dead-lettered: no longer pending")
	default:
		q.deadLettered.Add(1)
		log.Error().Str("reason", reason).Msg("entry moved to the dead-letter stream")
		if trimmed > 0 {
			log.Warn().Int64("dropped", trimmed).Int64("max_len", q.opts.MaxLen).
				Msg("the oldest dead letters were dropped: the dead-letter stream reached its length cap")
		}
	}
}

// ownClaim is the outcome of ownClaimScript.
type ownClaim struct {
	status     string // "ok", "gone", "taken" or "vanished"
	owner      string // when taken
	deliveries int    // when ok
	msg        redis.XMessage
}

// reason tells why an entry is no longer this consumer's.
func (o ownClaim) reason() string {
	switch o.status {
	case "gone":
		return "no longer pending: acknowledged or dead-lettered meanwhile"
	case "taken":
		return "taken over by consumer " + o.owner
	case "vanished":
		return "entry trimmed or deleted while pending"
	}
	return o.status
}

// ownClaim runs ownClaimScript on entry id of stream key in mode ("touch",
// "claim" or "uncount"), with the delivery count the entry is to have after
// a claim (at least) or an uncount (at most). An entry found vanished is
// counted and logged here.
func (c *consumer) ownClaim(ctx context.Context, log zerolog.Logger, key, id, mode string, count int) (ownClaim, error) {
	octx, cancel := opContext(ctx)
	defer cancel()
	res, err := ownClaimScript.Run(octx, c.q.rdb, []string{key}, c.q.opts.Group, c.q.opts.Consumer, id, mode, count).Slice()
	if err != nil {
		return ownClaim{}, fmt.Errorf("workqueue: claim own entry: %w", err)
	}
	o, err := parseOwnClaim(id, res)
	if err != nil {
		return ownClaim{}, err
	}
	if o.status == "vanished" {
		c.countVanished(log)
	}
	return o, nil
}

// parseOwnClaim reads ownClaimScript's reply about entry id.
func parseOwnClaim(id string, res []any) (ownClaim, error) {
	var o ownClaim
	if len(res) > 0 {
		o.status, _ = res[0].(string)
	}
	switch {
	case o.status == "gone" || o.status == "vanished":
		return o, nil
	case o.status == "taken" && len(res) == 2:
		o.owner, _ = res[1].(string)
		return o, nil
	case o.status == "ok" && len(res) == 3:
		n, _ := res[1].(int64)
		o.deliveries = int(n)
		o.msg = redis.XMessage{ID: id, Values: map[string]any{}}
		fields, _ := res[2].([]any)
		for i := 0; i+1 < len(fields); i += 2 {
			if k, ok := fields[i].(string); ok {
				o.msg.Values[k] = fields[i+1]
			}
		}
		return o, nil
	}
	return ownClaim{}, fmt.Errorf("workqueue: claim own entry: unexpected reply %v", res)
}

// touch restarts the idle clock of an entry pending here without counting
// a delivery, so that no other consumer reclaims it. When the entry is no
// longer this consumer's, it returns why (an entry found vanished is also
// counted and logged as such).
func (c *consumer) touch(ctx context.Context, log zerolog.Logger, key, id string) (ownClaim, error) {
	return c.ownClaim(ctx, log, key, id, "touch", 0)
}

// retryLater keeps the failed entry pending here and runs it again after a
// wait: Backoff, or what the handler asked for with RetryAfter if longer,
// capped at MaxRetryDelay. It claims the entry back as delivered attempt+1
// times (a delivery this consumer's own reclaim counted meanwhile reached no
// handler, and is not counted again), provided no other consumer took it
// over meanwhile.
func (c *consumer) retryLater(ctx, hctx context.Context, log zerolog.Logger, key, id string, attempt int, cause error) {
	opts := c.q.opts
	delay := min(max(opts.Backoff(attempt), retryAfter(cause)), opts.MaxRetryDelay)
	c.q.retried.Add(1)
	log.Warn().Err(cause).Dur("retry_in", delay).Str("reason", "transient error").Msg("handler failed; will retry")
	c.work.Go(func() {
		if !c.holdForRetry(ctx, log, key, id, delay) {
			c.disown(key, id) // stays pending for another consumer, or is gone
			return
		}
		o, err := c.ownClaim(ctx, log, key, id, "claim", attempt+1)
		at := time.Now()
		if err != nil || o.status != "ok" {
			c.release(1)
			c.disown(key, id)
			switch {
			case err != nil:
				log.Warn().Err(err).Msg("cannot claim the entry back for its retry; it stays pending")
			case o.status != "vanished": // logged as such
				log.Info().Str("reason", o.reason()).Msg("retry dropped")
			}
			return
		}
		c.run(ctx, hctx, key, o.msg, max(o.deliveries, attempt+1), at)
	})
}

// holdForRetry keeps entry id here until its retry may run: it waits d,
// then for a handler slot, touching the entry at once and every
// ClaimIdle/3 throughout, so that no other consumer reclaims it, nor this
// consumer's own reclaim loop (which would count a delivery the handler
// never got). It reports true holding one slot, or false holding none when
// the retry should not happen: ctx is done (the entry stays pending for
// another consumer), or the entry is no longer this consumer's. A touch
// that fails is tried again at the next one: should another consumer take
// the entry over meanwhile, the claim after the wait finds out.
func (c *consumer) holdForRetry(ctx context.Context, log zerolog.Logger, key, id string, d time.Duration) bool {
	if !c.stillOwn(ctx, log, key, id) {
		return false
	}
	tick := time.NewTicker(max(c.q.opts.ClaimIdle/3, time.Millisecond))
	defer tick.Stop()
	wait := time.NewTimer(d)
	defer wait.Stop()
	var slots chan struct{} // nil, blocking, until the wait is over
	for {
		select {
		case <-wait.C:
			slots = c.tokens
		case slots <- struct{}{}:
			return true
		case <-ctx.Done():
			return false
		case <-tick.C:
			if !c.stillOwn(ctx, log, key, id) {
				return false
			}
		}
	}
}

// stillOwn touches entry id for its retry and reports whether it is still
// this consumer's; a touch that failed is logged and counts as yes.
func (c *consumer) stillOwn(ctx context.Context, log zerolog.Logger, key, id string) bool {
	o, err := c.touch(ctx, log, key, id)
	switch {
	case err != nil:
		log.Warn().Err(err).Msg("cannot touch an entry waiting for its retry; another consumer may take it over")
	case o.status == "ok":
	case o.status == "vanished": // logged as such
		return false
	default:
		log.Info().Str("reason", o.reason()).Msg("retry dropped")
		return false
	}
	return true
}

// reclaimLoop takes over the entries of dead consumers, now and every
// ClaimInterval.
func (c *consumer) reclaimLoop(ctx, hctx context.Context) {
	t := time.NewTicker(c.q.opts.ClaimInterval)
	defer t.Stop()
	for {
		c.reclaim(ctx, hctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *consumer) reclaim(ctx, hctx context.Context) {
	// What the scripts below drop from the pending lists is counted after
	// they return; until then the queue does not call itself idle.
	c.q.settling.Add(1)
	defer c.q.settling.Add(-1)
	opts := c.q.opts
	idle := opts.ClaimIdle.Milliseconds()
	for _, key := range c.keys {
		log := c.log.With().Str("kind", c.kinds[key]).Logger()
		cursor := "0-0"
		for ctx.Err() == nil {
			// Wait for a slot: the read loop holds the free ones while it
			// blocks, and gives them back after each read.
			n := c.acquire(ctx, 1, opts.ReadBatch)
			if n == 0 {
				return
			}
			res, err := claimScript.Run(ctx, c.q.rdb, []string{key},
				opts.Group, opts.Consumer, idle, cursor, n).Slice()
			at := time.Now()
			if err != nil {
				c.release(n)
				if ctx.Err() == nil && !isNoGroup(err) { // NOGROUP: the read loop re-creates it
					log.Warn().Err(err).Msg("cannot reclaim idle entries")
				}
				return
			}
			next, gone, entries, err := parseClaim(res)
			if err != nil {
				c.release(n)
				log.Error().Err(err).Msg("cannot reclaim idle entries")
				return
			}
			if gone > 0 {
				c.q.vanished.Add(gone)
				log.Warn().Int64("count", gone).Str("reason", "entries trimmed or deleted while pending").
					Msg("dropped vanished entries from the pending list")
			}
			for _, e := range entries {
				if n == 0 {
					if n = c.acquire(ctx, 1, 1); n == 0 {
						return
					}
				}
				n--
				log.Warn().Str("entry_id", e.msg.ID).Int("attempt", e.attempt).
					Str("reason", "idle too long; its consumer died or stalled").Msg("reclaimed an entry")
				c.dispatch(ctx, hctx, key, e.msg, e.attempt, at)
			}
			c.release(n)
			if next == "0-0" || next == "" {
				break
			}
			cursor = next
		}
		if ctx.Err() != nil {
			return
		}
		swept, err := sweepScript.Run(ctx, c.q.rdb, []string{key}, opts.Group, idle, opts.ReadBatch).Int64()
		if err != nil {
			if !isNoGroup(err) && ctx.Err() == nil {
				log.Warn().Err(err).Msg("cannot sweep vanished pending entries")
			}
			continue
		}
		if swept > 0 {
			c.q.vanished.Add(swept)
			log.Warn().Int64("count", swept).Str("reason", "entries trimmed or deleted while pending").
				Msg("acknowledged vanished entries")
		}
		c.prune(ctx, log, key)
	}
}

// prune removes consumers gone for good from the group of stream key (see
// Options.ConsumerExpiry).
func (c *consumer) prune(ctx context.Context, log zerolog.Logger, key string) {
	opts := c.q.opts
	names, err := pruneScript.Run(ctx, c.q.rdb, []string{key},
		opts.Group, opts.ConsumerExpiry.Milliseconds(), opts.Consumer).StringSlice()
	if err != nil {
		if !isNoGroup(err) && ctx.Err() == nil {
			log.Warn().Err(err).Msg("cannot remove departed consumers from the group")
		}
		return
	}
	if len(names) > 0 {
		c.q.pruned.Add(int64(len(names)))
		log.Info().Strs("consumers", names).Dur("idle_over", opts.ConsumerExpiry).
			Str("reason", "no pending entries and no reads for too long").
			Msg("removed departed consumers from the group")
	}
}

type claimed struct {
	msg     redis.XMessage
	attempt int
}

// parseClaim reads claimScript's reply.
func parseClaim(res []any) (next string, gone int64, out []claimed, err error) {
	if len(res) != 3 {
		return "", 0, nil, fmt.Errorf("workqueue: claim: unexpected reply %v", res)
	}
	next, _ = res[0].(string)
	gone, _ = res[1].(int64)
	list, _ := res[2].([]any)
	for _, x := range list {
		e, ok := x.([]any)
		if !ok || len(e) != 3 {
			return "", 0, nil, fmt.Errorf("workqueue: claim: unexpected entry %v", x)
		}
		id, _ := e[0].(string)
		n, _ := e[1].(int64)
		m := redis.XMessage{ID: id}
		if fields, ok := e[2].([]any); ok {
			m.Values = make(map[string]any, len(fields)/2)
			for i := 0; i+1 < len(fields); i += 2 {
				if k, ok := fields[i].(string); ok {
					m.Values[k] = fields[i+1]
				}
			}
		}
		out = append(out, claimed{msg: m, attempt: int(n)})
	}
	return next, gone, out, nil
}

// reportLoop logs the queue's state every Options.StatsInterval: the
// backlog of each stream, and a warning when dead letters were added since
// the last report or an entry has been left untouched longer than ClaimIdle.
func (c *consumer) reportLoop(ctx context.Context, kinds []string) {
	if c.q.opts.StatsInterval < 0 {
		return
	}
	t := time.NewTicker(c.q.opts.StatsInterval)
	defer t.Stop()
	last := int64(-1) // dead letters at the last report
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s, err := c.q.Stats(ctx, kinds)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn().Err(err).Msg("cannot read the queue's stats")
			}
			continue
		}
		c.log.Info().Object("queue", s).Msg("queue stats")
		if last >= 0 && s.DeadLetters > last {
			c.log.Warn().Int64("new", s.DeadLetters-last).Int64("dead_letters", s.DeadLetters).
				Str("see", "queuectl deadletters").Msg("new dead letters since the last report")
		}
		last = s.DeadLetters
		for _, k := range kinds {
			st := s.Streams[k]
			// An old entry delivered once is being handled now (the
			// queue is catching up): the lag tells that. One delivered
			// again and again is failing.
			if st.OldestPending > c.q.opts.ClaimIdle && st.OldestDeliveries > 1 {
				c.log.Warn().Str("kind", k).Dur("oldest_pending", st.OldestPending).
					Int64("deliveries", st.OldestDeliveries).Int64("pending", st.Pending).
					Str("reason", "it still fails and is retried").
					Msg("an entry has been pending too long")
			}
			if st.Stalled > 0 {
				c.log.Warn().Str("kind", k).Int64("stalled", st.Stalled).Int64("pending", st.Pending).
					Dur("oldest_pending", st.OldestPending).Dur("claim_idle", c.q.opts.ClaimIdle).
					Str("reason", "their consumer stopped or hangs, and no reclaim has taken them yet").
					Msg("pending entries untouched for longer than the claim idle time")
			}
		}
	}
}
