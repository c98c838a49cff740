// Package queuectl is the operator's view of the work queue: its backlog by
// stream, and the dead letters, which it can list, requeue once their cause
// is fixed, or discard. It is the body of cmd/queuectl.
package queuectl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/workqueue"
)

const usage = `usage: queuectl COMMAND [flags] [args]

Commands:
  stats                   backlog of each stream and the number of dead letters
  deadletters [-n N] [-body]
                          the oldest N dead letters (default 20), with their reasons
  requeue ID... | -all    move dead letters back to their streams, to be handled again
  discard ID...           delete dead letters for good

Settings come from the environment (REDIS_URL). A requeued event is handled
as new, but an effect already made for it (a reply, a DM) is not made again,
and a message older than MESSAGE_MAX_AGE is still dropped.
`

// ErrUsage is returned for a command line that cannot be run.
var ErrUsage = errors.New("queuectl: bad usage")

// Command runs the command line args (without the program name) on q.
func Command(ctx context.Context, args []string, q *workqueue.Queue, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ErrUsage
	}
	name, args := args[0], args[1:]
	fs := flag.NewFlagSet("queuectl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	// badArgs says what is wrong with the arguments left after the flags,
	// or "" when they suit the command.
	badArgs := func() string {
		if fs.NArg() > 0 {
			return name + " takes no arguments"
		}
		return ""
	}
	var run func() error
	switch name {
	case "stats":
		run = func() error { return stats(ctx, q, stdout) }
	case "deadletters":
		n := fs.Int64("n", 20, "how many dead letters to show, oldest first")
		body := fs.Bool("body", false, "print each dead letter's event body")
		run = func() error { return deadLetters(ctx, q, *n, *body, stdout) }
	case "requeue":
		all := fs.Bool("all", false, "requeue every dead letter")
		badArgs = func() string {
			if *all == (fs.NArg() > 0) {
				return "requeue takes dead-letter IDs or -all"
			}
			return ""
		}
		run = func() error { return requeue(ctx, q, fs.Args(), *all, stdout, stderr) }
	case "discard":
		badArgs = func() string {
			if fs.NArg() == 0 {
				return "discard takes dead-letter IDs"
			}
			return ""
		}
		run = func() error { return discard(ctx, q, fs.Args(), stdout, stderr) }
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", ErrUsage, name)
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if why := badArgs(); why != "" {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: %s", ErrUsage, why)
	}
	return run()
}

func stats(ctx context.Context, q *workqueue.Queue, w io.Writer) error {
	s, err := q.Stats(ctx, slackevent.All)
	if err != nil {
		return err
	}
	width := len("stream")
	for _, kind := range slackevent.All {
		width = max(width, len(kind))
	}
	const row = "%-*s %8v %8v %8v %15v\n"
	fmt.Fprintf(w, row, width, "stream", "length", "lag", "pending", "oldest pending")
	for _, kind := range slackevent.All {
		st := s.Streams[kind]
		oldest := "-"
		if st.Pending > 0 {
			oldest = st.OldestPending.Round(time.Millisecond).String()
		}
		fmt.Fprintf(w, row, width, kind, st.Length, st.Lag, st.Pending, oldest)
	}
	fmt.Fprintf(w, "dead letters: %d\n", s.DeadLetters)
	return nil
}

func deadLetters(ctx context.Context, q *workqueue.Queue, n int64, body bool, w io.Writer) error {
	if n < 1 {
		return fmt.Errorf("%w: -n must be at least 1", ErrUsage)
	}
	dls, err := q.DeadLetters(ctx, n)
	if err != nil {
		return err
	}
	if len(dls) == 0 {
		fmt.Fprintln(w, "no dead letters")
		return nil
	}
	for i, d := range dls {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s  %s  %s  event %s\n", d.ID, d.Time.UTC().Format(time.RFC3339), d.Kind, orNone(d.EventID))
		fmt.Fprintf(w, "  reason:   %s\n", d.Reason)
		fmt.Fprintf(w, "  attempts: %d, last by %s; was entry %s\n", d.Attempts, orNone(d.Consumer), orNone(d.EntryID))
		if body {
			fmt.Fprintf(w, "  body:     %s\n", d.Body)
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// requeue requeues each ID, or every dead letter. It goes on past a letter
// it cannot requeue, and returns an error naming how many failed.
func requeue(ctx context.Context, q *workqueue.Queue, ids []string, all bool, stdout, stderr io.Writer) error {
	if all {
		// The list is read once: letters that cannot be requeued stay in
		// the stream and are not tried again.
		var err error
		if ids, err = allIDs(ctx, q); err != nil {
			return err
		}
		if len(ids) == 0 {
			fmt.Fprintln(stdout, "no dead letters")
			return nil
		}
	}
	failed := 0
	for _, id := range ids {
		d, entry, err := q.Requeue(ctx, id)
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "queuectl: %v\n", err)
			continue
		}
		fmt.Fprintf(stdout, "requeued %s: %s event %s, now entry %s\n", id, d.Kind, orNone(d.EventID), entry)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d dead letters not requeued", failed, len(ids))
	}
	return nil
}

// allIDs lists the IDs of every dead letter, oldest first.
func allIDs(ctx context.Context, q *workqueue.Queue) ([]string, error) {
	dls, err := q.DeadLetters(ctx, 0)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(dls))
	for i, d := range dls {
		ids[i] = d.ID
	}
	return ids, nil
}

func discard(ctx context.Context, q *workqueue.Queue, ids []string, stdout, stderr io.Writer) error {
	failed := 0
	for _, id := range ids {
		if err := q.Discard(ctx, id); err != nil {
			failed++
			fmt.Fprintf(stderr, "queuectl: %v\n", err)
			continue
		}
		fmt.Fprintf(stdout, "discarded %s\n", id)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d dead letters not discarded", failed, len(ids))
	}
	return nil
}
