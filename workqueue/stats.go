package workqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Stats of the queue's streams.
type Stats struct {
	Streams     map[string]StreamStats // by kind
	DeadLetters int64

	// Counters of this Queue since New, not of Redis.
	Trimmed      int64 // entries dropped by the MaxLen guard before being handled
	Acked        int64 // entries handled and acknowledged
	DeadLettered int64 // entries moved to the dead-letter stream
	Retried      int64 // transient failures scheduled for a retry
	Vanished     int64 // pending entries found deleted or trimmed, acknowledged
	Pruned       int64 // departed consumers removed from the group

	// InFlight counts the entries this Queue's consumers hold now: being
	// handled, or waiting for a retry. An entry leaves it only after its
	// counter above has moved.
	InFlight int64

	// settling counts the reclaim passes and vanished entries whose
	// changes in Redis may be ahead of the counters above.
	settling int64
}

// MarshalZerologObject logs s: each stream's backlog, the dead letters and
// this Queue's counters.
func (s Stats) MarshalZerologObject(e *zerolog.Event) {
	streams := zerolog.Dict()
	for kind, st := range s.Streams {
		streams.Dict(kind, zerolog.Dict().Int64("length", st.Length).Int64("lag", st.Lag).
			Int64("pending", st.Pending).Dur("oldest_pending", st.OldestPending).Int64("oldest_deliveries", st.OldestDeliveries).Int64("stalled", st.Stalled))
	}
	e.Dict("streams", streams).Int64("dead_letters", s.DeadLetters).
		Int64("acked", s.Acked).Int64("retried", s.Retried).Int64("dead_lettered", s.DeadLettered).
		Int64("trimmed", s.Trimmed).Int64("vanished", s.Vanished).Int64("pruned", s.Pruned).
		Int64("in_flight", s.InFlight)
}

// StreamStats of one stream.
type StreamStats struct {
	Length        int64
	Lag           int64         // entries never delivered to the group
	Pending       int64         // delivered, not yet acknowledged
	OldestPending time.Duration // how long ago the oldest pending entry was published
	// OldestDeliveries is how many times the oldest pending entry has been
	// delivered: 1 for one handled now (after a backlog, say), more for
	// one that keeps failing and is retried.
	OldestDeliveries int64
	// Stalled counts the pending entries (up to stalledCap) that nobody
	// has touched for ClaimIdle: their consumer stopped, and no reclaim
	// has taken them yet. An entry handled now, or waiting for a retry,
	// is not stalled, however long ago it was published.
	Stalled int64
}

// stalledCap bounds the pending entries Stats lists to count Stalled.
const stalledCap = 100

// Idle reports whether every stream in s is caught up: nothing waits to be
// delivered, nothing delivered waits to be finished, and this Queue's
// consumers have finished with what they took (so its counters are final).
func (s Stats) Idle() bool {
	if s.InFlight != 0 || s.settling != 0 {
		return false
	}
	for _, st := range s.Streams {
		if st.Lag != 0 || st.Pending != 0 {
			return false
		}
	}
	return true
}

// Stats reads the stats of kinds' streams.
//
// Lag comes from XINFO GROUPS when Redis can tell it, at most Length (Redis
// keeps counting entries trimmed before their delivery); otherwise
// (miniredis, or a stream whose history Redis cannot count) it is Length -
// Pending, which is exact when nothing is pending, since handled entries are
// deleted.
// OldestPending is how long ago the oldest pending entry was published,
// measured with Redis's clock; Stalled comes from XPENDING's IDLE filter.
func (q *Queue) Stats(ctx context.Context, kinds []string) (Stats, error) {
	type streamCmds struct {
		xlen    *redis.IntCmd
		groups  *redis.Cmd
		pending *redis.XPendingCmd
		stalled *redis.XPendingExtCmd
		oldest  *redis.XPendingExtCmd
	}
	cmds := make([]streamCmds, len(kinds))
	var now *redis.TimeCmd
	var dead *redis.IntCmd
	_, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		now = p.Time(ctx)
		dead = p.XLen(ctx, q.DeadLetterKey())
		for i, k := range kinds {
			key := q.StreamKey(k)
			cmds[i] = streamCmds{
				xlen:    p.XLen(ctx, key),
				groups:  p.Do(ctx, "XINFO", "GROUPS", key),
				pending: p.XPending(ctx, key, q.opts.Group),
				stalled: p.XPendingExt(ctx, &redis.XPendingExtArgs{
					Stream: key, Group: q.opts.Group, Idle: q.opts.ClaimIdle,
					Start: "-", End: "+", Count: stalledCap,
				}),
				oldest: p.XPendingExt(ctx, &redis.XPendingExtArgs{
					Stream: key, Group: q.opts.Group, Start: "-", End: "+", Count: 1,
				}),
			}
		}
		return nil
	})
	if err != nil && !missing(err) {
		return Stats{}, fmt.Errorf("workqueue: stats: %w", err)
	}
	s := Stats{
		Streams:      make(map[string]StreamStats, len(kinds)),
		Trimmed:      q.trimmed.Load(),
		Acked:        q.acked.Load(),
		DeadLettered: q.deadLettered.Load(),
		Retried:      q.retried.Load(),
		Vanished:     q.vanished.Load(),
		Pruned:       q.pruned.Load(),
		InFlight:     q.inflight.Load(),
		settling:     q.settling.Load(),
	}
	if s.DeadLetters, err = dead.Result(); err != nil {
		return Stats{}, fmt.Errorf("workqueue: stats: %w", err)
	}
	redisNow, err := now.Result()
	if err != nil {
		return Stats{}, fmt.Errorf("workqueue: stats: %w", err)
	}
	for i, k := range kinds {
		var st StreamStats
		c := cmds[i]
		if st.Length, err = c.xlen.Result(); err != nil {
			return Stats{}, fmt.Errorf("workqueue: stats of %s: %w", k, err)
		}
		lag := int64(-1)
		if v, err := c.groups.Result(); err == nil {
			lag = groupLag(v, q.opts.Group)
		} else if !missing(err) {
			return Stats{}, fmt.Errorf("workqueue: stats of %s: %w", k, err)
		}
		if p, err := c.pending.Result(); err == nil {
			st.Pending = p.Count
			if p.Count > 0 {
				if t := entryTime(p.Lower); !t.IsZero() {
					st.OldestPending = max(redisNow.Sub(t), 0)
				}
			}
		} else if !missing(err) {
			return Stats{}, fmt.Errorf("workqueue: stats of %s: %w", k, err)
		}
		if v, err := c.stalled.Result(); err == nil {
			st.Stalled = int64(len(v))
		} else if !missing(err) {
			return Stats{}, fmt.Errorf("workqueue: stats of %s: %w", k, err)
		}
		if v, err := c.oldest.Result(); err == nil && len(v) > 0 {
			st.OldestDeliveries = v[0].RetryCount
		} else if err != nil && !missing(err) {
			return Stats{}, fmt.Errorf("workqueue: stats of %s: %w", k, err)
		}
		if lag < 0 {
			lag = max(st.Length-st.Pending, 0)
		}
		// Entries trimmed before their delivery stay in Redis's count
		// (XTRIM, unlike XDEL, leaves it as it was), but they are gone:
		// what waits for delivery is in the stream.
		st.Lag = min(lag, st.Length)
		s.Streams[k] = st
	}
	return s, nil
}

// missing tells the errors of a stream or group that does not exist yet.
func missing(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "NOGROUP") || strings.Contains(msg, "no such key")
}

// groupLag finds group's lag in an XINFO GROUPS reply (a list of RESP3 maps
// or RESP2 flat lists). It is -1 when Redis cannot tell: lag or entries-read
// is null, as after deletions Redis cannot account for, and always on
// miniredis. Without the group, every entry is lag: it reports -1 too, and
// the caller's Length - Pending (with Pending 0) is then exact.
func groupLag(v any, group string) int64 {
	list, _ := v.([]any)
	for _, g := range list {
		fields := map[string]any{}
		switch g := g.(type) {
		case map[any]any:
			for k, v := range g {
				if ks, ok := k.(string); ok {
					fields[ks] = v
				}
			}
		case []any:
			for i := 0; i+1 < len(g); i += 2 {
				if ks, ok := g[i].(string); ok {
					fields[ks] = g[i+1]
				}
			}
		}
		if fields["name"] != group {
			continue
		}
		if fields["entries-read"] == nil {
			return -1
		}
		switch lag := fields["lag"].(type) {
		case int64:
			return lag
		case string:
			if n, err := strconv.ParseInt(lag, 10, 64); err == nil {
				return n
			}
		}
		return -1
	}
	return -1
}

// DeadLetter is an entry moved to the dead-letter stream.
type DeadLetter struct {
	ID       string    // ID in the dead-letter stream
	Time     time.Time // when it was dead-lettered
	Kind     string
	EntryID  string // ID it had in its own stream
	EventID  string
	Body     []byte
	Reason   string
	Attempts int
	Consumer string // the consumer that gave up on it
}

// DeadLetters returns up to count dead letters, oldest first; all of them
// when count is 0 or less (the dead-letter stream is capped at MaxLen).
func (q *Queue) DeadLetters(ctx context.Context, count int64) ([]DeadLetter, error) {
	var cmd *redis.XMessageSliceCmd
	if count > 0 {
		cmd = q.rdb.XRangeN(ctx, q.DeadLetterKey(), "-", "+", count)
	} else {
		cmd = q.rdb.XRange(ctx, q.DeadLetterKey(), "-", "+")
	}
	msgs, err := cmd.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("workqueue: dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, deadLetterOf(m))
	}
	return out, nil
}

// deadLetterOf reads an entry of the dead-letter stream.
func deadLetterOf(m redis.XMessage) DeadLetter {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	attempts, _ := strconv.Atoi(str("attempts"))
	return DeadLetter{
		ID:       m.ID,
		Time:     entryTime(m.ID),
		Kind:     str("kind"),
		EntryID:  str("entry"),
		EventID:  str("id"),
		Body:     []byte(str("body")),
		Reason:   str("reason"),
		Attempts: attempts,
		Consumer: str("consumer"),
	}
}
