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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/cli"
	"github.com/gophers/gopherbot/internal/consumer"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/workqueue"
)

// usage states the limit of the consumer's record of effects: a dead letter
// requeued after the record expired makes its effects again.
var usage = fmt.Sprintf(`usage: queuectl COMMAND [flags] [args]

Commands:
  stats                   backlog of each stream and the number of dead letters
  deadletters [-n N] [-body]
                          the oldest N dead letters (default 20), with their reasons
  requeue ID... | -all    move dead letters back to their streams, to be handled again
  discard ID... | -all    delete dead letters for good

Flags go before the IDs. -all means every dead letter there is when the
command starts. A dead letter is not requeued to a stream at its
QUEUE_MAX_LEN cap, where it would push out an event not yet handled.

Settings come from the environment (REDIS_URL). A requeued event is handled
as new, except that an effect already made for it (a reply, a reaction, an
ephemeral welcome) is not made again if it was made less than %gh ago: the
consumers forget effects after that. The welcome DM has a lasting record of
its own, and a message older than MESSAGE_MAX_AGE is still dropped.
`, consumer.EffectsTTL.Hours())

// ErrUsage is returned for a command line that cannot be run.
var ErrUsage = errors.New("queuectl: bad usage")

// Main is cmd/queuectl: it runs the command line args (without the program
// name) on the queue of the Redis that getenv's REDIS_URL names, and returns
// the exit status: 0 done, 1 failed, 2 bad usage or settings. The command
// line is checked first, so that help and usage errors need no settings.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	run, err := parse(args, stdout, stderr)
	switch {
	case err != nil:
		fmt.Fprintln(stderr, err)
		return 2
	case run == nil: // help
		return 0
	}
	cfg, err := config.Load(getenv, config.Ops)
	if err != nil {
		fmt.Fprintf(stderr, "queuectl: %v\n", err)
		return 2
	}
	opts, err := cfg.RedisOptions()
	if err != nil {
		fmt.Fprintf(stderr, "queuectl: %v\n", err)
		return 2
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	// The queue logs what it changes (requeued, discarded) as JSON on
	// stderr.
	log := cli.NewLogger(stderr, cfg, "queuectl")
	cli.RouteRedisLogs(log)
	q := workqueue.New(rdb, workqueue.Options{MaxLen: cfg.StreamMaxLen, ClaimIdle: cfg.ClaimIdle, Log: log})
	defer q.Close()
	err = run(ctx, q)
	switch {
	case errors.Is(err, ErrUsage):
		fmt.Fprintln(stderr, err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "queuectl: %v\n", err)
		return 1
	}
	return 0
}

// Command runs the command line args (without the program name) on q.
func Command(ctx context.Context, args []string, q *workqueue.Queue, stdout, stderr io.Writer) error {
	run, err := parse(args, stdout, stderr)
	if err != nil || run == nil {
		return err
	}
	return run(ctx, q)
}

// parse checks the command line and returns the command to run, or nil
// after printing the help that was asked for.
func parse(args []string, stdout, stderr io.Writer) (func(context.Context, *workqueue.Queue) error, error) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return nil, fmt.Errorf("%w: no command given", ErrUsage)
	}
	name, args := args[0], args[1:]
	fs := flag.NewFlagSet("queuectl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	// check says what is wrong with the arguments left after the flags,
	// or "" when they suit the command.
	check := func() string {
		if fs.NArg() > 0 {
			return name + " takes no arguments"
		}
		return ""
	}
	// ids are the dead-letter IDs of requeue and discard, checked all
	// before any is touched, each once.
	var ids []string
	checkIDs := func(all bool) string {
		if all == (fs.NArg() > 0) {
			return name + " takes dead-letter IDs or -all"
		}
		var why string
		ids, why = parseIDs(fs.Args())
		return why
	}
	var run func(context.Context, *workqueue.Queue) error
	switch name {
	case "stats":
		run = func(ctx context.Context, q *workqueue.Queue) error { return stats(ctx, q, stdout) }
	case "deadletters":
		n := fs.Int64("n", 20, "how many dead letters to show, oldest first")
		body := fs.Bool("body", false, "print each dead letter's event body")
		check = func() string {
			switch {
			case fs.NArg() > 0:
				return name + " takes no arguments"
			case *n < 1:
				return "-n must be at least 1"
			}
			return ""
		}
		run = func(ctx context.Context, q *workqueue.Queue) error { return deadLetters(ctx, q, *n, *body, stdout) }
	case "requeue":
		all := fs.Bool("all", false, "requeue every dead letter")
		check = func() string { return checkIDs(*all) }
		run = func(ctx context.Context, q *workqueue.Queue) error { return requeue(ctx, q, ids, *all, stdout, stderr) }
	case "discard":
		all := fs.Bool("all", false, "discard every dead letter")
		check = func() string { return checkIDs(*all) }
		run = func(ctx context.Context, q *workqueue.Queue) error { return discard(ctx, q, ids, *all, stdout, stderr) }
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil, nil
	default:
		fmt.Fprint(stderr, usage)
		return nil, fmt.Errorf("%w: unknown command %q", ErrUsage, name)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return nil, nil
		}
		fmt.Fprint(stderr, usage)
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if why := check(); why != "" {
		fmt.Fprint(stderr, usage)
		return nil, fmt.Errorf("%w: %s", ErrUsage, why)
	}
	return run, nil
}

// parseIDs checks that each arg is a whole stream ID (ms-seq), and returns
// them without repeats, or says what is wrong. A loose ID would be read
// differently by different Redis commands, and a flag after the IDs is not
// parsed as one: both must stop the command before it changes anything.
func parseIDs(args []string) (ids []string, why string) {
	for _, a := range args {
		ms, seq, ok := strings.Cut(a, "-")
		_, err1 := strconv.ParseUint(ms, 10, 64)
		_, err2 := strconv.ParseUint(seq, 10, 64)
		switch {
		case strings.HasPrefix(a, "-"):
			return nil, fmt.Sprintf("%q after the IDs: flags go before them", a)
		case !ok || err1 != nil || err2 != nil || !allDigits(ms) || !allDigits(seq):
			return nil, fmt.Sprintf("%q is not a dead-letter ID (like 1700000000000-0)", a)
		}
		if !slices.Contains(ids, a) {
			ids = append(ids, a)
		}
	}
	return ids, ""
}

// allDigits refuses the signs ParseUint would accept.
func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
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
	const row = "%-*s %8v %8v %8v %15v %8v\n"
	fmt.Fprintf(w, row, width, "stream", "length", "lag", "pending", "oldest pending", "stalled")
	for _, kind := range slackevent.All {
		st := s.Streams[kind]
		oldest := "-"
		if st.Pending > 0 {
			oldest = st.OldestPending.Round(time.Millisecond).String()
		}
		fmt.Fprintf(w, row, width, kind, st.Length, st.Lag, st.Pending, oldest, st.Stalled)
	}
	fmt.Fprintf(w, "dead letters: %d\n", s.DeadLetters)
	fmt.Fprintf(w, "stalled: pending entries untouched for QUEUE_CLAIM_IDLE (%v): their consumer stopped or hangs\n", q.Options().ClaimIdle)
	return nil
}

func deadLetters(ctx context.Context, q *workqueue.Queue, n int64, body bool, w io.Writer) error {
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
		fmt.Fprintf(w, "  reason:   %s\n", indent(d.Reason))
		fmt.Fprintf(w, "  attempts: %d, last by %s; was entry %s\n", d.Attempts, orNone(d.Consumer), orNone(d.EntryID))
		if body {
			fmt.Fprintf(w, "  body:     %s\n", indent(string(d.Body)))
		}
	}
	if int64(len(dls)) == n {
		s, err := q.Stats(ctx, nil)
		if err != nil {
			return err
		}
		if s.DeadLetters > n {
			fmt.Fprintf(w, "\nthe oldest %d of %d dead letters; -n %d shows them all\n", n, s.DeadLetters, s.DeadLetters)
		}
	}
	return nil
}

// indent keeps the continuation lines of a field (a reason joining several
// errors) under the field, not in the first column where a dead letter
// starts.
func indent(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n            ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// requeue requeues each ID, or every dead letter. It goes on past a letter
// it cannot requeue, and returns an error naming how many failed. It stops
// when ctx is done, saying how far it got.
func requeue(ctx context.Context, q *workqueue.Queue, ids []string, all bool, stdout, stderr io.Writer) error {
	kinds := map[string]string{} // dead-letter ID → kind, when listed
	if all {
		// Letters that cannot be requeued stay in the stream and are not
		// tried again.
		var err error
		if ids, kinds, err = everyDeadLetter(ctx, q, stdout); err != nil || len(ids) == 0 {
			return err
		}
	}
	done, failed := 0, 0
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return interrupted("requeued", done, failed, len(ids), "", err)
		}
		kind, listed := kinds[id]
		if !listed {
			d, err := q.DeadLetter(ctx, id)
			if err != nil {
				if ctx.Err() != nil {
					return interrupted("requeued", done, failed, len(ids), "", ctx.Err())
				}
				failed++
				fmt.Fprintf(stderr, "queuectl: %v\n", err)
				continue
			}
			kind = d.Kind
		}
		// Requeued to a stream the consumers do not read, the event would
		// be gone: no consumer, no dead letter, not even in stats.
		if kind != "" && !slices.Contains(slackevent.All, kind) {
			failed++
			fmt.Fprintf(stderr, "queuectl: requeue %s: no consumer reads events of kind %q (they read %s); discard it\n",
				id, kind, strings.Join(slackevent.All, ", "))
			continue
		}
		if kind != "" {
			why, err := noRoom(ctx, q, kind)
			switch {
			case err != nil && ctx.Err() != nil:
				return interrupted("requeued", done, failed, len(ids), "", ctx.Err())
			case err != nil:
				failed++
				fmt.Fprintf(stderr, "queuectl: requeue %s: %v\n", id, err)
				continue
			case why != "":
				failed++
				fmt.Fprintf(stderr, "queuectl: requeue %s: %s\n", id, why)
				continue
			}
		}
		d, entry, err := q.Requeue(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return interrupted("requeued", done, failed, len(ids), id, ctx.Err())
			}
			failed++
			fmt.Fprintf(stderr, "queuectl: %v\n", err)
			continue
		}
		done++
		fmt.Fprintf(stdout, "requeued %s: %s event %s, now entry %s\n", id, d.Kind, orNone(d.EventID), entry)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d dead letters not requeued", failed, len(ids))
	}
	return nil
}

// noRoom says why requeueing an event of kind would cost another event, or
// "" when its stream has room. A stream at its MaxLen cap (QUEUE_MAX_LEN:
// the consumers are down or behind) is trimmed by every entry added, so a
// requeued event would push out the oldest one waiting, which was never
// handled, and the command would report success. The gateway may still
// fill the stream between this look and the requeue; the cap is a memory
// guard, and the operator's command must not be what spends it.
func noRoom(ctx context.Context, q *workqueue.Queue, kind string) (string, error) {
	s, err := q.Stats(ctx, []string{kind})
	if err != nil {
		return "", err
	}
	n, limit := s.Streams[kind].Length, q.Options().MaxLen
	if n < limit {
		return "", nil
	}
	return fmt.Sprintf("the %s stream is at its QUEUE_MAX_LEN cap (%d, with %d waiting): adding to it would push out "+
		"the oldest event waiting there, never handled; requeue once the consumers have caught up (see stats)", kind, limit, n), nil
}

// interrupted is the error of a requeue or discard stopped by ctx. unsure is
// the letter whose command was cut off: Redis may have run it.
func interrupted(verb string, done, failed, total int, unsure string, err error) error {
	msg := fmt.Sprintf("interrupted: %d of %d dead letters %s", done, total, verb)
	if failed > 0 {
		msg += fmt.Sprintf(", %d failed", failed)
	}
	if unsure != "" {
		msg += fmt.Sprintf(", and %s may or may not have been (see deadletters)", unsure)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// everyDeadLetter lists the dead letters for -all, once: letters added
// while the command runs, which the operator has not seen, are left alone.
// It returns their IDs, oldest first, and their kinds, or says that there
// are none.
func everyDeadLetter(ctx context.Context, q *workqueue.Queue, stdout io.Writer) (ids []string, kinds map[string]string, err error) {
	dls, err := q.DeadLetters(ctx, 0)
	if err != nil {
		return nil, nil, err
	}
	if len(dls) == 0 {
		fmt.Fprintln(stdout, "no dead letters")
	}
	kinds = make(map[string]string, len(dls))
	for _, d := range dls {
		ids = append(ids, d.ID)
		kinds[d.ID] = d.Kind
	}
	return ids, kinds, nil
}

// discard discards each ID, or every dead letter there is when it starts
// (not those dead-lettered meanwhile, which the operator has not seen).
func discard(ctx context.Context, q *workqueue.Queue, ids []string, all bool, stdout, stderr io.Writer) error {
	if all {
		var err error
		if ids, _, err = everyDeadLetter(ctx, q, stdout); err != nil || len(ids) == 0 {
			return err
		}
	}
	done, failed := 0, 0
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return interrupted("discarded", done, failed, len(ids), "", err)
		}
		if err := q.Discard(ctx, id); err != nil {
			if ctx.Err() != nil {
				return interrupted("discarded", done, failed, len(ids), id, ctx.Err())
			}
			failed++
			fmt.Fprintf(stderr, "queuectl: %v\n", err)
			continue
		}
		done++
		fmt.Fprintf(stdout, "discarded %s\n", id)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d dead letters not discarded", failed, len(ids))
	}
	return nil
}
