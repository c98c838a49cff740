package queuectl_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/queuectl"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/workqueue"
)

// TestRequeueIntoFullStream: a stream at its QUEUE_MAX_LEN cap (consumers
// down or behind) is trimmed by every entry added to it. A requeue must
// not push out an event that was never handled to make room for one that
// already failed: it leaves the dead letter where it is and says why, and
// the event waiting in the stream stays.
func TestRequeueIntoFullStream(t *testing.T) {
	rdb := redistest.Start(t).Client()
	// One entry a stream node, so that MAXLEN ~ trims to the entry, as a
	// big stream's hundred-entry nodes do at scale.
	if err := rdb.ConfigSet(t.Context(), "stream-node-max-entries", "1").Err(); err != nil {
		t.Fatal(err)
	}
	const maxLen = 3
	q := workqueue.New(rdb, workqueue.Options{Consumer: "c", Block: 50 * time.Millisecond, MaxLen: maxLen, Log: zerolog.Nop()})
	t.Cleanup(func() { q.Close() })

	dead := addDeadLetter(t, rdb, q, slackevent.TeamJoin, "EvFailed", "template missing")
	for i := range maxLen {
		if _, err := q.Publish(t.Context(), workqueue.Event{ID: fmt.Sprint("EvWaiting", i), Kind: slackevent.TeamJoin, Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	waiting, err := rdb.XRange(t.Context(), q.StreamKey(slackevent.TeamJoin), "-", "+").Result()
	if err != nil || len(waiting) != maxLen {
		t.Fatalf("stream holds %d entries (%v); want %d", len(waiting), err, maxLen)
	}

	for _, args := range [][]string{{"requeue", dead}, {"requeue", "-all"}} {
		out, errs, err := run(t, q, args...)
		if err == nil {
			t.Errorf("queuectl %q into a full stream succeeded: stdout %q", args, out)
		}
		if !strings.Contains(errs, "QUEUE_MAX_LEN") {
			t.Errorf("queuectl %q: stderr %q; want the cap named as the reason", args, errs)
		}
		if s, _ := q.Stats(t.Context(), nil); s.Trimmed != 0 {
			t.Errorf("queuectl %q pushed %d unhandled entries out of the stream", args, s.Trimmed)
		}
		if ids := deadLetterIDs(t, q); len(ids) != 1 || ids[0] != dead {
			t.Errorf("dead letters after queuectl %q: %v; want %s kept", args, ids, dead)
		}
	}
	after, err := rdb.XRange(t.Context(), q.StreamKey(slackevent.TeamJoin), "-", "+").Result()
	if err != nil || len(after) == 0 || after[0].ID != waiting[0].ID {
		t.Errorf("the oldest waiting event %s is gone from its stream (now %v, %v)", waiting[0].ID, after, err)
	}

	// Once the consumers catch up, there is room again.
	if err := rdb.Del(t.Context(), q.StreamKey(slackevent.TeamJoin)).Err(); err != nil {
		t.Fatal(err)
	}
	if out, errs, err := run(t, q, "requeue", dead); err != nil || !strings.Contains(out, "requeued "+dead) {
		t.Errorf("requeue with room = %v, stdout %q, stderr %q", err, out, errs)
	}
}

// TestNoCommandSaysSo: queuectl with nothing after it ends with a line
// that says what was wrong, as every other usage error does, not a bare
// "bad usage".
func TestNoCommandSaysSo(t *testing.T) {
	var out, errs strings.Builder
	code := queuectl.Main(t.Context(), nil, func(string) string { return "" }, &out, &errs)
	lines := strings.Split(strings.TrimSpace(errs.String()), "\n")
	if last := lines[len(lines)-1]; code != 2 || !strings.Contains(last, "no command") {
		t.Errorf("queuectl with no arguments = %d, last line %q; want 2 and the missing command named", code, last)
	}
}
