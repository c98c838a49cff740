package workqueue

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrNoDeadLetter is returned for a dead-letter ID that is not (or no
// longer) in the dead-letter stream.
var ErrNoDeadLetter = errors.New("workqueue: no such dead letter")

// checkID refuses an ID that is not a whole stream ID (ms-seq): Redis reads
// a bare ms as the whole millisecond in XRANGE but as ms-0 in XDEL, so one
// command could read a dead letter and the next delete another.
func checkID(id string) error {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok || !allDigits(ms) || !allDigits(seq) {
		return fmt.Errorf("workqueue: %q is not a dead letter ID (like 1700000000000-0): %w", id, ErrNoDeadLetter)
	}
	return nil
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// DeadLetter returns the dead letter with the given ID, or an error wrapping
// ErrNoDeadLetter.
func (q *Queue) DeadLetter(ctx context.Context, id string) (DeadLetter, error) {
	if err := checkID(id); err != nil {
		return DeadLetter{}, err
	}
	msgs, err := q.rdb.XRangeN(ctx, q.DeadLetterKey(), id, id, 1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return DeadLetter{}, fmt.Errorf("workqueue: dead letter %s: %w", id, err)
	}
	if len(msgs) == 0 {
		return DeadLetter{}, fmt.Errorf("%w: %s", ErrNoDeadLetter, id)
	}
	return deadLetterOf(msgs[0]), nil
}

// Requeue moves the dead letter id back to the stream of its kind, as a new
// entry with its event ID and body, and deletes it from the dead-letter
// stream, atomically. It returns the dead letter as it was and the new
// entry's ID. It does not go through
// Publish's deduplication: the event is published on purpose, again. The
// consumer's record of effects still keeps a reply or DM that was already
// made from being made twice, and a message event is still dropped when it
// is too old to answer.
//
// A dead letter without a kind or a body (an entry that was undecodable) is
// refused: there is nothing to run again.
func (q *Queue) Requeue(ctx context.Context, id string) (d DeadLetter, entryID string, err error) {
	d, err = q.DeadLetter(ctx, id)
	if err != nil {
		return d, "", err
	}
	if d.Kind == "" || len(d.Body) == 0 {
		return d, "", fmt.Errorf("workqueue: requeue %s: it has no kind or no body (%s)", id, d.Reason)
	}
	reply, err := requeueScript.Run(ctx, q.rdb, []string{q.DeadLetterKey(), q.StreamKey(d.Kind)},
		d.ID, d.Kind, q.opts.MaxLen).Slice()
	switch {
	case errors.Is(err, redis.Nil):
		// Requeued or discarded by someone else since we read it (or by
		// this call, when its reply was lost and go-redis sent it again).
		return d, "", fmt.Errorf("%w: %s (requeued or discarded meanwhile?)", ErrNoDeadLetter, id)
	case err != nil:
		return d, "", fmt.Errorf("workqueue: requeue %s: %w", id, err)
	}
	var gone int64
	if len(reply) == 2 {
		entryID, _ = reply[0].(string)
		gone, _ = reply[1].(int64)
	}
	if entryID == "" {
		return d, "", fmt.Errorf("workqueue: requeue %s: unexpected reply %v", id, reply)
	}
	if gone > 0 {
		q.noteTrimmed(d.Kind, gone)
	}
	q.log.Info().Str("dead_letter", id).Str("kind", d.Kind).Str("event_id", d.EventID).
		Str("entry_id", entryID).Msg("dead letter requeued")
	return d, entryID, nil
}

// Discard deletes the dead letter id for good.
func (q *Queue) Discard(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	n, err := q.rdb.XDel(ctx, q.DeadLetterKey(), id).Result()
	if err != nil {
		return fmt.Errorf("workqueue: discard %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrNoDeadLetter, id)
	}
	q.log.Info().Str("dead_letter", id).Msg("dead letter discarded")
	return nil
}
