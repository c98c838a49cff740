package queuectl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/consumer"
	"github.com/gophers/gopherbot/internal/queuectl"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/workqueue"
)

// queueAndClient is newQueue that also returns the Redis client, to write
// dead letters as an older version of the bot, or a consumer, left them.
func queueAndClient(t *testing.T) (*workqueue.Queue, *redis.Client) {
	t.Helper()
	rdb := redistest.Start(t).Client()
	q := workqueue.New(rdb, workqueue.Options{Consumer: "c", Block: 50 * time.Millisecond, Log: zerolog.Nop()})
	t.Cleanup(func() { q.Close() })
	return q, rdb
}

// addDeadLetter writes a dead letter with the fields the consumer writes,
// and returns its ID.
func addDeadLetter(t *testing.T, rdb *redis.Client, q *workqueue.Queue, kind, eventID, reason string) string {
	t.Helper()
	id, err := rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: q.DeadLetterKey(), Values: []any{
		"kind", kind, "entry", "1700000000000-0", "id", eventID, "body", `{"event_id":"` + eventID + `"}`,
		"reason", reason, "attempts", 5, "consumer", "consumer.1",
	}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func deadLetterIDs(t *testing.T, q *workqueue.Queue) []string {
	t.Helper()
	dls, err := q.DeadLetters(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range dls {
		ids = append(ids, d.ID)
	}
	return ids
}

// TestRequeueUnknownKind: a dead letter of a kind the consumers no longer
// read (left by an older version of the bot) must not be "requeued" into a
// stream nobody reads and stats does not show: the event would be gone
// while the command reports success. It stays a dead letter, to discard.
func TestRequeueUnknownKind(t *testing.T) {
	q, rdb := queueAndClient(t)
	old := addDeadLetter(t, rdb, q, "reaction_added", "EvOld", "no handler")
	good := addDeadLetter(t, rdb, q, slackevent.TeamJoin, "EvGood", "template missing")

	for _, args := range [][]string{{"requeue", old}, {"requeue", "-all"}} {
		out, errs, err := run(t, q, args...)
		if err == nil || errors.Is(err, queuectl.ErrUsage) {
			t.Errorf("queuectl %q = %v; want a failure (not a usage error)", args, err)
		}
		if !strings.Contains(errs, "reaction_added") || strings.Contains(out, "requeued "+old) {
			t.Errorf("queuectl %q: stdout %q, stderr %q; want the unknown kind named as the reason", args, out, errs)
		}
	}
	if n, err := rdb.Exists(t.Context(), q.StreamKey("reaction_added")).Result(); err != nil || n != 0 {
		t.Errorf("stream of reaction_added exists (%d, %v): the event went where no consumer reads", n, err)
	}
	if ids := deadLetterIDs(t, q); len(ids) != 1 || ids[0] != old {
		t.Errorf("dead letters after requeue -all: %v; want only %s (and %s requeued)", ids, old, good)
	}
	if s, _ := q.Stats(t.Context(), slackevent.All); s.Streams[slackevent.TeamJoin].Length != 1 {
		t.Errorf("team_join stream holds %d entries; want the requeued one", s.Streams[slackevent.TeamJoin].Length)
	}
}

// TestDeadLettersMultilineReason: the consumer joins the errors of several
// handlers with newlines; a continuation line must stay indented under its
// dead letter, not read as the start of a new one.
func TestDeadLettersMultilineReason(t *testing.T) {
	q, rdb := queueAndClient(t)
	addDeadLetter(t, rdb, q, slackevent.MemberJoinedChannel, "Ev1",
		"permanent error: consumer: welcome: not_in_channel\nnewbies: channel_not_found")
	out, _, err := run(t, q, "deadletters")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "newbies") {
			t.Errorf("a reason's second line is not indented:\n%s", out)
		}
	}
	if !strings.Contains(out, "newbies: channel_not_found") {
		t.Errorf("the reason's second line is missing:\n%s", out)
	}
}

// TestBadIDsTouchNothing: a command line with an ID that is no ID (a flag
// written after the IDs, a typo) is a usage error, and nothing is requeued
// or discarded; the same ID given twice is handled once, not reported as
// failed the second time.
func TestBadIDsTouchNothing(t *testing.T) {
	q, rdb := queueAndClient(t)
	id := addDeadLetter(t, rdb, q, slackevent.TeamJoin, "Ev1", "template missing")
	for _, args := range [][]string{
		{"requeue", id, "-all"},
		{"requeue", id, "1700000000000"},
		{"discard", id, "-all=false"},
		{"discard", id, " 1700000000000-0"},
		{"discard", id, "1700000000000-0x"},
	} {
		_, errs, err := run(t, q, args...)
		if !errors.Is(err, queuectl.ErrUsage) {
			t.Errorf("queuectl %q = %v, stderr %q; want a usage error", args, err, errs)
		}
		if ids := deadLetterIDs(t, q); len(ids) != 1 {
			t.Fatalf("queuectl %q touched the dead letter %s though it failed", args, id)
		}
	}

	out, errs, err := run(t, q, "requeue", id, id)
	if err != nil || strings.Count(out, "requeued ") != 1 {
		t.Errorf("requeue of one ID given twice = %v, stdout %q, stderr %q; want one requeue and success", err, out, errs)
	}
}

// TestHelpFlag: -h after a command asks for help; it is not a failure.
func TestHelpFlag(t *testing.T) {
	q := newQueue(t)
	for _, args := range [][]string{{"stats", "-h"}, {"requeue", "-help"}, {"deadletters", "-h"}} {
		out, _, err := run(t, q, args...)
		if err != nil || !strings.Contains(out, "usage: queuectl") {
			t.Errorf("queuectl %q = %v, stdout %q; want the usage on stdout and success", args, err, out)
		}
	}
}

// TestDeadLettersSaysWhenThereAreMore: with -n smaller than the number of
// dead letters, the listing must say it is not all of them, or an operator
// takes the first 20 (the oldest) for the whole story.
func TestDeadLettersSaysWhenThereAreMore(t *testing.T) {
	q, rdb := queueAndClient(t)
	for i := range 3 {
		addDeadLetter(t, rdb, q, slackevent.TeamJoin, fmt.Sprint("Ev", i), "template missing")
	}
	out, _, err := run(t, q, "deadletters", "-n", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "2 of 3") {
		t.Errorf("deadletters -n 2 with 3 dead letters does not say so:\n%s", out)
	}
	if out, _, _ := run(t, q, "deadletters", "-n", "3"); strings.Contains(out, " of 3") {
		t.Errorf("deadletters -n 3 with 3 dead letters claims there are more:\n%s", out)
	}
}

// TestUsageBoundsEffectRecord: the help promised, without limit, that an
// effect already made is not made again on requeue; the record of effects
// is kept for consumer.EffectsTTL only, so an older dead letter may make
// its effects again, and the help must say so.
func TestUsageBoundsEffectRecord(t *testing.T) {
	q := newQueue(t)
	out, _, err := run(t, q, "help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, fmt.Sprintf("%gh", consumer.EffectsTTL.Hours())) {
		t.Errorf("help does not say that effects are remembered for %v only:\n%s", consumer.EffectsTTL, out)
	}
}

// TestDiscardAll: an operator can purge every dead letter there is when the
// command starts, without listing their IDs; one added meanwhile stays.
func TestDiscardAll(t *testing.T) {
	q, rdb := queueAndClient(t)
	a := addDeadLetter(t, rdb, q, slackevent.TeamJoin, "Ev1", "x")
	b := addDeadLetter(t, rdb, q, "reaction_added", "Ev2", "y")
	out, errs, err := run(t, q, "discard", "-all")
	if err != nil || out != "discarded "+a+"\ndiscarded "+b+"\n" {
		t.Errorf("discard -all = %v, stdout %q, stderr %q", err, out, errs)
	}
	if ids := deadLetterIDs(t, q); len(ids) != 0 {
		t.Errorf("dead letters after discard -all: %v", ids)
	}
	if out, _, err := run(t, q, "discard", "-all"); err != nil || out != "no dead letters\n" {
		t.Errorf("discard -all with none = %q, %v", out, err)
	}
	if _, _, err := run(t, q, "discard", "-all", a); !errors.Is(err, queuectl.ErrUsage) {
		t.Errorf("discard -all with an ID = %v; want a usage error", err)
	}
}

// cancelWriter cancels a context once its first line is written.
type cancelWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cancel()
	return w.buf.Write(p)
}

// TestRequeueAllInterrupted: Ctrl-C during requeue -all stops it with one
// message saying how far it got, not one "context canceled" per letter left.
func TestRequeueAllInterrupted(t *testing.T) {
	q, rdb := queueAndClient(t)
	for i := range 5 {
		addDeadLetter(t, rdb, q, slackevent.TeamJoin, fmt.Sprint("Ev", i), "x")
	}
	ctx, cancel := context.WithCancel(t.Context())
	out := &cancelWriter{cancel: cancel}
	var errs bytes.Buffer
	err := queuectl.Command(ctx, []string{"requeue", "-all"}, q, out, &errs)
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted requeue -all = %v; want context.Canceled", err)
	}
	if n := strings.Count(errs.String(), "\n"); n > 1 {
		t.Errorf("interrupted requeue -all wrote %d lines of errors:\n%s", n, errs.String())
	}
	if err != nil && !strings.Contains(err.Error(), "1 of 5") {
		t.Errorf("interrupted requeue -all = %v; want how many of the 5 were requeued", err)
	}
	if left := len(deadLetterIDs(t, q)); left != 4 {
		t.Errorf("%d dead letters left; want 4", left)
	}
}
