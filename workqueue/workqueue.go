// Package workqueue is gopherbot's queue of Slack events on Redis Streams.
//
// CONTRACT STUB: the signatures below are the agreed API; the implementation
// replaces the panics.
package workqueue

import (
	"context"
	"errors"
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
// after Options.MaxDeliveries attempts.
type Handler interface {
	Handle(ctx context.Context, d *Delivery) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, d *Delivery) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, d *Delivery) error { return f(ctx, d) }

// ErrPermanent marks a failure that retrying cannot fix.
var ErrPermanent = errors.New("permanent failure")

// Permanent wraps err so that errors.Is(err, ErrPermanent).
func Permanent(err error) error { panic("unimplemented") }

// Options configure a Queue. Zero values take the defaults in the comments.
type Options struct {
	Prefix         string        // key prefix, default "gopherbot:"
	Group          string        // consumer group, default "gopherbot"
	Consumer       string        // stable consumer name of this process
	DedupTTL       time.Duration // default 15m
	MaxLen         int64         // approximate cap per stream, a memory guard; default 100000
	MaxDeliveries  int           // default 5
	HandlerTimeout time.Duration // default 20s
	ClaimIdle      time.Duration // default 45s; must exceed HandlerTimeout
	Concurrency    int           // handlers in flight, default 64
	Log            zerolog.Logger
}

// Queue is the work queue.
type Queue struct{}

// New returns a Queue on rdb.
func New(rdb redis.UniversalClient, opts Options) *Queue { panic("unimplemented") }

// Publish appends e to the stream of its kind unless an event with the same
// ID was published within DedupTTL, in one round trip. added reports whether
// e was new. Concurrent calls are batched into pipelines.
func (q *Queue) Publish(ctx context.Context, e Event) (added bool, err error) { panic("unimplemented") }

// Consume reads the streams of kinds and runs h until ctx is done, then
// stops reading and lets in-flight handlers finish within drain.
func (q *Queue) Consume(ctx context.Context, kinds []string, h Handler) error { panic("unimplemented") }

// Stats of the queue's streams.
type Stats struct {
	Streams     map[string]StreamStats // by kind
	DeadLetters int64
}

// StreamStats of one stream.
type StreamStats struct {
	Length        int64
	Lag           int64 // entries never delivered to the group
	Pending       int64 // delivered, not yet acknowledged
	OldestPending time.Duration
}

// Stats reads the stats of kinds' streams.
func (q *Queue) Stats(ctx context.Context, kinds []string) (Stats, error) { panic("unimplemented") }

// Close stops the publish batcher.
func (q *Queue) Close() error { panic("unimplemented") }
