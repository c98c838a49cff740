// Package workqueue is gopherbot's queue of Slack events on Redis Streams.
//
// # Layout in Redis
//
// Each event kind has its own stream, <Prefix>events:<kind>, read by one
// consumer group (Options.Group) shared by every consumer process. An entry
// has two fields: "id" (the Slack event_id, possibly empty) and "body" (the
// raw request body). Publish remembers each event_id in <Prefix>dedup:<id>
// for Options.DedupTTL; entries that fail for good go to one dead-letter
// stream, <Prefix>deadletter. One script call stores a batch of events of
// several kinds with their dedup records, so the queue needs one Redis
// server (replicas are fine), not Redis Cluster, whose scripts must keep to
// one hash slot.
//
// # Delivery guarantees
//
// Delivery is at least once. Publish returns only after Redis stored the
// entry (or found its event_id already stored), so a gateway that answers
// Slack 2xx only after a successful Publish never loses an event it
// acknowledged. The dedup check and the append are one Lua script, and
// concurrent Publish calls share one call of it, with up to
// Options.PublishInFlight calls on their way at once: the throughput of a
// busy gateway is not bounded by one Redis round trip, nor one script call,
// per event. An entry leaves the group's pending list only when a handler
// succeeded, when it is dead-lettered, or when it vanished from the stream.
// A handler may run more than once for one entry: when its consumer dies (the
// entry is reclaimed by another consumer with XAUTOCLAIM once it has been idle
// for Options.ClaimIdle), when the drain deadline cuts it off at shutdown, or
// when acknowledging fails. Handlers whose effects must happen at most once
// (a reply, a DM) record that they happened, keyed by the event ID, before or
// atomically with the effect. Each handler run gets a deadline of
// Options.HandlerTimeout, strictly shorter than ClaimIdle, so a live consumer
// finishes or gives up on an entry before anyone else may take it over; a
// handler must honour its context for this to hold. An entry that waited
// here (for a free slot, or for its retry) long enough to be reclaimed by
// another consumer is not run here too: this consumer checks it still holds
// the entry, in the same script that restarts its idle clock.
//
// # Trimming
//
// A stream only ever holds entries nobody has finished: an entry is deleted
// (XDEL) in the same script that acknowledges it (XACK), or that moves it to
// the dead-letter stream. So the stream length is the backlog, and the
// XTRIM MAXLEN ~ Options.MaxLen that ends each publish batch is only a memory
// guard for when consumers are down for a long time. When the guard bites,
// the oldest unhandled entries are dropped: Publish counts them
// (Stats.Trimmed) and logs a warning, never silently. An entry trimmed or
// deleted while pending is acknowledged and counted (Stats.Vanished) when a
// consumer meets it, never reclaimed forever.
//
// Consumers leave no names behind either: a consumer with no pending entries
// that has not read for Options.ConsumerExpiry is removed from the group by
// the others (Stats.Pruned), in the same script that checks it holds nothing.
//
// # Consumer names
//
// Each Consume reads under a consumer name (Options.Consumer). A stable one,
// such as the Heroku dyno name ("consumer.1"), lets a restarted process run
// the entries its previous run left pending at once, instead of waiting
// ClaimIdle for another consumer to reclaim them. While Consume runs, it
// keeps a liveness record under its name: a member, named by a random
// token, of the sorted set <Prefix>live:<group>:<name>, which lapses
// Options.LiveTTL after its last refresh (by Redis's clock, so that it lapses
// on time on miniredis too). Consume refreshes it every LiveTTL/3 until it
// returns, its drain included, and then removes it, unless handlers still
// run (then it lapses).
//
// A Consume that finds no other live record under its name runs the entries
// pending under the name first (XREADGROUP from 0), then reads new ones. One
// that finds another (its predecessor is still draining after SIGTERM, as
// when Heroku starts the new dyno within the old one's 30 seconds; or a
// second process was started under the same name) reads new entries at once,
// and leaves the pending ones to the other, which may be running them, until
// no other record is live (checked every LiveTTL/10). Then it runs those it
// does not hold itself, each claimed back with one more delivery counted as
// a re-read would: nothing runs twice, in two processes or in one, and the
// entries it read meanwhile are not counted as delivered again. Both are
// logged. A predecessor killed without a chance to clean up leaves its record
// to lapse, so its entries wait LiveTTL at most. Until the pending entries
// are dispatched, this consumer does not reclaim other consumers' entries
// (the others do), so that the two never race on one entry.
//
// # Failure policy
//
// The rule is the one stated on Handler: nil acknowledges; an error wrapping
// ErrPermanent dead-letters at once; any other error is retried with backoff
// until the entry has been delivered Options.MaxDeliveries times, then
// dead-lettered. An entry without the expected fields is dead-lettered
// without running the handler, and so is one delivered more than
// MaxDeliveries times (a handler that kills its process never returns an
// error, but its entry's delivery count grows on every reclaim). A dead
// letter keeps the kind, entry ID, event ID, body, reason and attempt count,
// and is written atomically with the acknowledgement. An error wrapping
// ErrNotAttempted (the consumer cannot work at all, and stops) leaves the
// entry pending with that delivery taken back.
//
// A retried entry waits Options.Backoff, or longer when the handler asked for
// it with RetryAfter (a rate limit's Retry-After), up to
// Options.MaxRetryDelay. It stays pending under its consumer while it waits,
// touched every ClaimIdle/3 so that it does not look idle, and is claimed
// back (XCLAIM, counting its next delivery) when its wait ends. Each touch
// and the claim are one script that first checks the entry is still pending
// under this consumer: if another consumer took it over meanwhile (this one
// was too busy to touch it in time), the retry is dropped and the other runs
// it, never both at once; if it was deleted from the stream, it is
// acknowledged and counted as vanished. If the process dies or stops while an entry waits,
// another consumer reclaims it after ClaimIdle.
//
// # Shutdown
//
// When Consume's context is done it stops reading; entries its reads
// returned (the last one included) are still run. Handlers get
// Options.Drain, counted from then, to finish; an entry whose handler the
// drain deadline cuts off stays pending, whatever its attempt and with that
// delivery taken back (as for ErrNotAttempted), for another consumer (or
// this one under the same name) to run again. The liveness record stays
// fresh throughout the drain, so a consumer started under the same name
// meanwhile runs none of the entries pending under it, neither those still
// running nor those waiting for their retry, until this one has returned
// and removed its record (see Consumer names).
//
// # Outages
//
// Publish fails while Redis is unreachable. Consume logs, backs off and goes
// on by itself when Redis is back, re-creating the group and streams if
// Redis lost its data. When a connection drops after Redis ran a consumer's
// script but before the reply came, go-redis sends it again: claiming a
// retry, taking a delivery back and dead-lettering come out the same as if
// the script had run once (the count and the log say one delivery, one
// dead letter). It works the same against a real Redis 7 and against
// miniredis, the all-in-one's embedded Redis.
package workqueue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Event is one queued event.
type Event struct {
	ID   string // Slack event_id: the dedup key
	Kind string // stream of the event, one of slackevent's kinds
	Body []byte // the raw Slack request body
}

// Delivery is an event handed to a Handler.
type Delivery struct {
	Event
	EntryID  string    // stream entry ID
	Attempt  int       // 1 on the first delivery
	Enqueued time.Time // when the gateway stored it (from the entry ID)
}

// Handler handles deliveries. A nil error acknowledges the entry. An error
// wrapping ErrPermanent moves it to the dead-letter stream at once; any other
// error is transient: the entry is retried with backoff, and dead-lettered
// after Options.MaxDeliveries attempts. A transient error wrapped with
// RetryAfter makes the next attempt wait at least the given time.
//
// The context's deadline is Options.HandlerTimeout after the delivery; it is
// not cancelled when Consume is asked to stop, so that in-flight work can
// finish during the drain, and is cancelled only if Options.Drain runs out
// first. A handler that panics is treated as one that returned a transient
// error.
type Handler interface {
	Handle(ctx context.Context, d *Delivery) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, d *Delivery) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, d *Delivery) error { return f(ctx, d) }

// ErrPermanent marks a failure that retrying cannot fix.
var ErrPermanent = errors.New("permanent failure")

// ErrNotAttempted marks a handler failure that says nothing about the
// entry: the consumer cannot work at all (a service rejects its
// credentials) and is about to stop. The entry stays pending under this
// consumer, and this delivery is not counted against MaxDeliveries, so an
// entry on its last attempt is not dead-lettered for it. A handler that
// returns it should make Consume stop (cancel its context): else the entry
// waits for ClaimIdle and is then reclaimed.
var ErrNotAttempted = errors.New("not attempted")

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("workqueue: queue closed")

// ErrBacklog is wrapped by the error of a Publish refused because the
// events already waiting for Redis reach Options.PublishBacklog.
var ErrBacklog = errors.New("workqueue: publish backlog full")

// ErrOptions is wrapped by the errors that reject inconsistent Options.
var ErrOptions = errors.New("workqueue: invalid options")

// Permanent wraps err so that errors.Is(err, ErrPermanent). Permanent(nil)
// is ErrPermanent, so that it never reads as success.
func Permanent(err error) error {
	if err == nil {
		return ErrPermanent
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string        { return e.err.Error() }
func (e permanentError) Unwrap() error        { return e.err }
func (e permanentError) Is(target error) bool { return target == ErrPermanent }

// RetryAfter wraps err so that the entry's next attempt waits at least d
// instead of a shorter backoff (for example the Retry-After of a rate limit),
// up to Options.MaxRetryDelay. errors.Is and errors.As see through it to err,
// so RetryAfter(Permanent(err), d) is still permanent and dead-letters at
// once. RetryAfter(nil, d) is a transient error, so that it never reads as
// success. When an error holds several RetryAfter (errors.Join), the longest
// wait applies.
func RetryAfter(err error, d time.Duration) error {
	return &retryAfterError{err: err, d: d}
}

type retryAfterError struct {
	err error // may be nil
	d   time.Duration
}

func (e *retryAfterError) Error() string {
	if e.err == nil {
		return "retry after " + e.d.String()
	}
	return e.err.Error()
}

func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfterOf is the longest wait that err asks for with RetryAfter, or 0.
func RetryAfterOf(err error) time.Duration { return retryAfter(err) }

// retryAfter is the longest wait asked for with RetryAfter anywhere in err's
// tree (errors.As would find only the first), or 0.
func retryAfter(err error) time.Duration {
	var d time.Duration
	if e, ok := err.(*retryAfterError); ok {
		d = e.d
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if inner := u.Unwrap(); inner != nil {
			d = max(d, retryAfter(inner))
		}
	case interface{ Unwrap() []error }:
		for _, inner := range u.Unwrap() {
			if inner != nil {
				d = max(d, retryAfter(inner))
			}
		}
	}
	return d
}

// Options configure a Queue. Zero values take the defaults in the comments.
type Options struct {
	Prefix         string        // key prefix, default "gopherbot:"
	Group          string        // consumer group, default "gopherbot"
	Consumer       string        // stable consumer name of this process; default host name and PID
	DedupTTL       time.Duration // default 15m
	MaxLen         int64         // approximate cap per stream, a memory guard; default 100000
	MaxDeliveries  int           // default 5
	HandlerTimeout time.Duration // default 20s, or ClaimIdle/2 when only ClaimIdle is set
	ClaimIdle      time.Duration // default 45s, or 2×HandlerTimeout if larger; must exceed HandlerTimeout
	Concurrency    int           // handlers in flight, default 64
	Log            zerolog.Logger

	// Drain is how long Consume waits for in-flight handlers after its
	// context is done; default 25s (Heroku allows 30s after SIGTERM). Then
	// it cancels their contexts, and waits a few seconds more at most for
	// them to return.
	Drain time.Duration
	// Block is how long one XREADGROUP waits for new entries, and so how
	// long Consume may take to notice that it should stop; default 2s, at
	// least 1ms (Redis counts it in milliseconds, and 0 is for ever).
	Block time.Duration
	// ReadBatch caps the entries one read or claim fetches. A blocked read
	// holds the slots of its batch, so the default, half of Concurrency
	// (at most 64), leaves slots for retries and reclaims meanwhile.
	ReadBatch int
	// PublishBatch caps the events sent in one publish script call;
	// default 512.
	PublishBatch int
	// PublishInFlight caps the publish script calls in flight at once,
	// each on its own connection; default 2. The calls after the first
	// carry at least two events each.
	PublishInFlight int
	// PublishBacklog caps the bytes of event bodies waiting for a publish
	// batch while Redis is slow or stalled: a Publish that would go over
	// fails at once with ErrBacklog (the gateway answers 503 and Slack
	// retries later) instead of holding memory for as long as the stall
	// lasts. An event is always let in when none is waiting. Default
	// 64 MiB.
	PublishBacklog int64
	// ClaimInterval is how often idle entries of dead consumers are looked
	// for; default ClaimIdle/3.
	ClaimInterval time.Duration
	// ConsumerExpiry: a consumer of the group that has no pending entries
	// and has not read for this long is removed from the group, so that
	// names of processes gone for good (a scaled-down dyno, a laptop run
	// named by host and PID) do not pile up. A live consumer removed while
	// its streams were quiet is added back by its next read. Default 1h;
	// at least 2×ClaimIdle.
	ConsumerExpiry time.Duration
	// StatsInterval is how often Consume logs the queue's state (Stats),
	// with a warning when dead letters were added or an entry has been
	// pending longer than ClaimIdle; default 5m, negative for never.
	StatsInterval time.Duration
	// Backoff is the wait before retrying after failed attempt n (1, 2, ...),
	// unless the handler asked for a longer one with RetryAfter. Default: 1s
	// doubling per attempt, with ±20% jitter.
	Backoff func(attempt int) time.Duration
	// MaxRetryDelay caps the wait before a retry, whether it comes from
	// Backoff or RetryAfter. A waiting entry is touched every ClaimIdle/3,
	// so that it does not look abandoned however long it waits; default 5m.
	MaxRetryDelay time.Duration
	// LiveTTL is how long the liveness record of a running Consume outlives
	// its last refresh (see Consumer names in the package doc). Consume
	// refreshes it every LiveTTL/3 until it returns, its drain included. A
	// consumer started under the name of one that was killed runs the
	// entries left pending under that name at most this long after the
	// kill. Default 10s.
	LiveTTL time.Duration
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = "gopherbot:"
	}
	if o.Group == "" {
		o.Group = "gopherbot"
	}
	if o.Consumer == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "consumer"
		}
		o.Consumer = host + "-" + strconv.Itoa(os.Getpid())
	}
	if o.DedupTTL <= 0 {
		o.DedupTTL = 15 * time.Minute
	}
	if o.MaxLen <= 0 {
		o.MaxLen = 100000
	}
	if o.MaxDeliveries <= 0 {
		o.MaxDeliveries = 5
	}
	switch {
	case o.HandlerTimeout <= 0 && o.ClaimIdle <= 0:
		o.HandlerTimeout, o.ClaimIdle = 20*time.Second, 45*time.Second
	case o.HandlerTimeout <= 0:
		o.HandlerTimeout = min(20*time.Second, o.ClaimIdle/2)
	case o.ClaimIdle <= 0:
		o.ClaimIdle = max(45*time.Second, 2*o.HandlerTimeout)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.Drain <= 0 {
		o.Drain = 25 * time.Second
	}
	if o.Block <= 0 {
		o.Block = 2 * time.Second
	}
	// XREADGROUP counts BLOCK in whole milliseconds, and BLOCK 0 waits
	// for ever.
	o.Block = max(o.Block, time.Millisecond)
	if o.ReadBatch <= 0 {
		o.ReadBatch = max(1, min(64, o.Concurrency/2))
	}
	if o.PublishBatch <= 0 {
		o.PublishBatch = 512
	}
	if o.PublishInFlight <= 0 {
		o.PublishInFlight = 2
	}
	if o.PublishBacklog <= 0 {
		o.PublishBacklog = 64 << 20
	}
	if o.ClaimInterval <= 0 {
		o.ClaimInterval = o.ClaimIdle / 3
	}
	if o.StatsInterval == 0 {
		o.StatsInterval = 5 * time.Minute
	}
	if o.ConsumerExpiry <= 0 {
		o.ConsumerExpiry = time.Hour
	}
	o.ConsumerExpiry = max(o.ConsumerExpiry, 2*o.ClaimIdle)
	if o.Backoff == nil {
		o.Backoff = defaultBackoff
	}
	if o.MaxRetryDelay <= 0 {
		o.MaxRetryDelay = 5 * time.Minute
	}
	if o.LiveTTL <= 0 {
		o.LiveTTL = 10 * time.Second
	}
	return o
}

func defaultBackoff(attempt int) time.Duration {
	d := time.Second << min(max(attempt-1, 0), 20)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Validate reports whether o, with its defaults applied, can be used to
// consume: the handler deadline must be shorter than the idle time after
// which other consumers take an entry over, or two consumers would run the
// same entry at once. Consume returns the same error.
func (o Options) Validate() error {
	o = o.withDefaults()
	if o.HandlerTimeout >= o.ClaimIdle {
		return fmt.Errorf("%w: HandlerTimeout (%v) must be shorter than ClaimIdle (%v), "+
			"or another consumer reclaims an entry while its handler still runs", ErrOptions, o.HandlerTimeout, o.ClaimIdle)
	}
	return nil
}

// Queue is the work queue.
type Queue struct {
	rdb  redis.UniversalClient
	opts Options
	log  zerolog.Logger

	// Publish batching: requests wait in pubQueue while batches are in
	// flight (pubInFlight of them); flushers counts the goroutines
	// sending them.
	pubMu       sync.Mutex
	pubQueue    []*pubReq
	pubBytes    int64 // bodies in pubQueue
	pubInFlight int
	pubClosed   bool
	flushers    sync.WaitGroup
	pubLast     int // events in the last batch, under pubMu
	// Publish counters (PublishStats); written by the leaders sending batches.
	pubBatches, pubEvents, pubNanos atomic.Int64

	consuming atomic.Bool

	trimmed      atomic.Int64
	lastTrimLog  atomic.Int64 // unix nanos
	acked        atomic.Int64
	deadLettered atomic.Int64
	retried      atomic.Int64
	vanished     atomic.Int64
	pruned       atomic.Int64
	inflight     atomic.Int64 // entries held by this Queue's consumers
	settling     atomic.Int64 // see Stats.settling

	streamKeys sync.Map // kind → stream key
}

// New returns a Queue on rdb.
func New(rdb redis.UniversalClient, opts Options) *Queue {
	opts = opts.withDefaults()
	return &Queue{
		rdb:  rdb,
		opts: opts,
		log:  opts.Log.With().Str("component", "workqueue").Logger(),
	}
}

// Options returns the options of q with their defaults applied.
func (q *Queue) Options() Options { return q.opts }

// Ping checks that Redis answers; for readiness probes.
func (q *Queue) Ping(ctx context.Context) error {
	if err := q.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("workqueue: ping: %w", err)
	}
	return nil
}

// Close stops the publish batcher: Publish fails with ErrClosed afterwards,
// and Close returns once the events already accepted are sent. It does not
// close the Redis client, which belongs to the caller.
func (q *Queue) Close() error {
	q.pubMu.Lock()
	q.pubClosed = true
	q.pubMu.Unlock()
	q.flushers.Wait()
	return nil
}

// StreamKey is the Redis key of kind's stream.
func (q *Queue) StreamKey(kind string) string {
	if k, ok := q.streamKeys.Load(kind); ok {
		return k.(string)
	}
	k := q.opts.Prefix + "events:" + kind
	q.streamKeys.Store(kind, k)
	return k
}

// DeadLetterKey is the Redis key of the dead-letter stream.
func (q *Queue) DeadLetterKey() string { return q.opts.Prefix + "deadletter" }

func (q *Queue) dedupKey(id string) string { return q.opts.Prefix + "dedup:" + id }

// DedupKey is the Redis key that remembers event ID id for DedupTTL.
func (q *Queue) DedupKey(id string) string { return q.dedupKey(id) }

// liveKey is the Redis key of the liveness records of the Consume calls
// running under this Queue's consumer name (see liveScript).
func (q *Queue) liveKey() string {
	return q.opts.Prefix + "live:" + q.opts.Group + ":" + q.opts.Consumer
}

// entryTime is the time encoded in a stream entry ID ("<ms>-<seq>").
func entryTime(id string) time.Time {
	for i := 0; i < len(id); i++ {
		if id[i] == '-' {
			id = id[:i]
			break
		}
	}
	ms, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
