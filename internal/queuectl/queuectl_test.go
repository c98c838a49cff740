package queuectl_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/queuectl"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/workqueue"
)

// run runs a queuectl command line and returns its stdout and stderr.
func run(t *testing.T, q *workqueue.Queue, args ...string) (string, string, error) {
	t.Helper()
	var out, errs bytes.Buffer
	err := queuectl.Command(t.Context(), args, q, &out, &errs)
	return out.String(), errs.String(), err
}

// deadLettered publishes events that the consumer fails for good, and
// returns once all of them are dead letters.
func deadLettered(t *testing.T, q *workqueue.Queue, events ...workqueue.Event) []workqueue.DeadLetter {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- q.Consume(ctx, slackevent.All, workqueue.HandlerFunc(func(context.Context, *workqueue.Delivery) error {
			return workqueue.Permanent(errors.New("the welcome template is missing"))
		}))
	}()
	defer func() { cancel(); <-done }()
	for _, e := range events {
		if _, err := q.Publish(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		dls, err := q.DeadLetters(t.Context(), 0)
		if err == nil && len(dls) == len(events) {
			return dls
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead letters %v, %v; want %d", dls, err, len(events))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newQueue(t *testing.T) *workqueue.Queue {
	rs := redistest.Start(t)
	q := workqueue.New(rs.Client(), workqueue.Options{
		Consumer: "c", Block: 50 * time.Millisecond, Log: zerolog.Nop(),
	})
	t.Cleanup(func() { q.Close() })
	return q
}

func TestStatsAndDeadLetters(t *testing.T) {
	q := newQueue(t)
	out, _, err := run(t, q, "deadletters")
	if err != nil || out != "no dead letters\n" {
		t.Errorf("deadletters on an empty queue = %q, %v", out, err)
	}
	deadLettered(t, q, workqueue.Event{ID: "EvJoin1", Kind: slackevent.TeamJoin, Body: []byte(`{"user":"U1"}`)})
	if _, err := q.Publish(t.Context(), workqueue.Event{ID: "EvWaiting", Kind: slackevent.AppMention, Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}

	out, _, err = run(t, q, "stats")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"stream", "oldest pending", "stalled", slackevent.MessageChannel, "dead letters: 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lacks %q:\n%s", want, out)
		}
	}
	// The mention waits, never delivered: length 1, lag 1, nothing pending.
	var row []string
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == slackevent.AppMention {
			row = f
		}
	}
	if strings.Join(row, " ") != slackevent.AppMention+" 1 1 0 - 0" {
		t.Errorf("stats row of %s is %q:\n%s", slackevent.AppMention, row, out)
	}

	out, _, err = run(t, q, "deadletters")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{slackevent.TeamJoin, "event EvJoin1", "reason:", "the welcome template is missing", "last by c"} {
		if !strings.Contains(out, want) {
			t.Errorf("deadletters lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"user"`) {
		t.Errorf("deadletters printed the body without -body:\n%s", out)
	}
	if out, _, _ = run(t, q, "deadletters", "-body"); !strings.Contains(out, `body:     {"user":"U1"}`) {
		t.Errorf("deadletters -body lacks the body:\n%s", out)
	}
}

func TestRequeueAndDiscard(t *testing.T) {
	q := newQueue(t)
	dls := deadLettered(t, q,
		workqueue.Event{ID: "Ev1", Kind: slackevent.TeamJoin, Body: []byte("1")},
		workqueue.Event{ID: "Ev2", Kind: slackevent.MemberJoinedChannel, Body: []byte("2")},
		workqueue.Event{ID: "Ev3", Kind: slackevent.TeamJoin, Body: []byte("3")},
		workqueue.Event{ID: "Ev4", Kind: slackevent.TeamJoin, Body: []byte("4")},
	)
	byEvent := map[string]string{}
	for _, d := range dls {
		byEvent[d.EventID] = d.ID
	}

	// One by ID, and one that is not there: the good one is requeued all
	// the same, and the command fails.
	out, errs, err := run(t, q, "requeue", byEvent["Ev1"], "1-1")
	if err == nil || errors.Is(err, queuectl.ErrUsage) || !strings.Contains(errs, "no such dead letter") {
		t.Errorf("requeue with an unknown ID = %v, stderr %q; want a failure naming it", err, errs)
	}
	if !strings.Contains(out, "requeued "+byEvent["Ev1"]+": "+slackevent.TeamJoin+" event Ev1, now entry ") {
		t.Errorf("requeue output %q", out)
	}
	out, _, err = run(t, q, "discard", byEvent["Ev4"])
	if err != nil || out != "discarded "+byEvent["Ev4"]+"\n" {
		t.Errorf("discard = %q, %v", out, err)
	}
	if _, _, err := run(t, q, "discard", byEvent["Ev4"]); err == nil {
		t.Errorf("discarding twice succeeded")
	}
	out, _, err = run(t, q, "requeue", "-all")
	if err != nil || strings.Count(out, "requeued ") != 2 {
		t.Errorf("requeue -all = %q, %v; want Ev2 and Ev3 requeued", out, err)
	}

	s, err := q.Stats(t.Context(), slackevent.All)
	if err != nil {
		t.Fatal(err)
	}
	if s.DeadLetters != 0 || s.Streams[slackevent.TeamJoin].Lag != 2 || s.Streams[slackevent.MemberJoinedChannel].Lag != 1 {
		t.Errorf("after requeueing: %+v; want Ev1, Ev3 and Ev2 waiting and no dead letters", s)
	}
	if out, _, err = run(t, q, "requeue", "-all"); err != nil || out != "no dead letters\n" {
		t.Errorf("requeue -all with none = %q, %v", out, err)
	}
}

func TestUsage(t *testing.T) {
	q := newQueue(t)
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"stats", "extra"},
		{"requeue"},
		{"requeue", "-all", "1-1"},
		{"discard"},
		{"deadletters", "-n", "0"},
		{"deadletters", "-bogus"},
	} {
		if _, errs, err := run(t, q, args...); !errors.Is(err, queuectl.ErrUsage) {
			t.Errorf("queuectl %q = %v, stderr %q; want a usage error", args, err, errs)
		}
	}
	if out, _, err := run(t, q, "help"); err != nil || !strings.Contains(out, "requeue ID...") {
		t.Errorf("help = %q, %v", out, err)
	}
}
