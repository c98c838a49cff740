package bgtasks

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gophers/gopherbot/internal/heartbeat"
)

// A task is one periodic job. run does one round; it returns an error when
// the round failed, and is then tried again after a backoff instead of after
// its interval. Tasks keep their progress in Redis, so a round that failed
// half-way resumes where it stopped.
type task struct {
	name     string
	interval time.Duration
	run      func(ctx context.Context) error
}

// Leading reports whether this replica holds the lease and runs the tasks.
func (r *Runner) Leading() bool { return r.leading.Load() }

// Run runs the tasks while this replica holds the lease, and waits as a
// standby while another does, until ctx is done. On the way out a leader
// stops its tasks and releases the lease, so a standby takes over at once.
// With Options.Task set it runs that task once instead (see RunTask).
func (r *Runner) Run(ctx context.Context) error {
	defer r.out.close() // once the tasks have stopped
	if r.opts.Task != "" {
		return r.RunTask(ctx, r.opts.Task)
	}
	r.log.Info().Int("tasks", len(r.tasks)).Strs("names", r.taskNames()).Dur("lease_ttl", r.ttl).
		Bool("shadow", r.out.shadow).Msg("bgtasks starting as a standby")

	var wg sync.WaitGroup
	defer wg.Wait()
	hctx, stopHB := context.WithCancel(ctx)
	defer stopHB()
	wg.Go(func() { r.hb.Run(hctx) })

	// Wake on a released lease instead of waiting out a poll. If the
	// subscription fails the poll still takes over within a TTL.
	ps := r.rdb.Subscribe(ctx, ReleasedChannel)
	defer ps.Close()
	released := ps.Channel()

	var lastErr string
	for {
		if ctx.Err() != nil {
			return nil
		}
		wait := r.poll
		start := time.Now()
		held, left, err := r.lease.Acquire(ctx)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			if err.Error() != lastErr {
				r.log.Warn().Err(err).Msg("cannot reach Redis to take the lease; retrying")
			}
			lastErr = err.Error()
		case held:
			lastErr = ""
			r.lead(ctx, start)
			continue
		default:
			lastErr = ""
			// Come back just as the holder's lease lapses, so that a
			// dead leader is replaced within one TTL, not a TTL plus a poll.
			if w := left + r.poll/20; w < wait {
				wait = w
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-released:
		case <-t.C:
		}
		t.Stop()
	}
}

// lead runs the tasks while the lease holds. It returns when ctx is done
// (releasing the lease), when the lease is lost, or when the heartbeat says
// Redis is gone; in every case the tasks are stopped first.
func (r *Runner) lead(ctx context.Context, acquiredAt time.Time) {
	r.log.Info().Msg("took the lease; running the tasks")
	// A heartbeat signal from before we led is stale.
	select {
	case <-r.redisLost:
	default:
	}

	tctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, t := range r.tasks {
		wg.Go(func() { r.loop(tctx, t) })
	}
	r.leading.Store(true)
	stop := func(why string) {
		cancel()
		wg.Wait()
		r.leading.Store(false)
		r.log.Info().Str("why", why).Msg("tasks stopped")
	}

	// The lease lasts ttl from the moment we asked for it; stop the tasks
	// a margin before that, so that they never run after someone else
	// could have taken over.
	margin := r.ttl / 10
	validUntil := acquiredAt.Add(r.ttl)
	expire := time.NewTimer(time.Until(validUntil.Add(-margin)))
	defer expire.Stop()
	renew := time.NewTimer(r.ttl / 3)
	defer renew.Stop()

	for {
		select {
		case <-ctx.Done():
			stop("shutting down")
			if r.crashed.Load() {
				return // a killed process releases nothing
			}
			rctx, c := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			ok, err := r.lease.Release(rctx)
			c()
			switch {
			case err != nil:
				r.log.Warn().Err(err).Msg("could not release the lease; a standby takes over when it lapses")
			case ok:
				r.log.Info().Msg("released the lease")
			}
			return

		case <-r.redisLost:
			r.log.Error().Msg("Redis lost past the heartbeat limit; giving up the lease")
			stop("redis lost")
			rctx, c := context.WithTimeout(context.WithoutCancel(ctx), r.ttl/10)
			r.lease.Release(rctx) // best effort: Redis is probably down
			c()
			return

		case <-expire.C:
			r.log.Error().Msg("could not renew the lease in time; stopping the tasks")
			stop("lease expired")
			return

		case <-renew.C:
			sent := time.Now()
			rctx, c := context.WithDeadline(ctx, validUntil.Add(-margin))
			ok, err := r.lease.Renew(rctx)
			c()
			switch {
			case ctx.Err() != nil:
				// Shutting down: the ctx.Done case releases.
			case err != nil:
				r.log.Warn().Err(err).Time("valid_until", validUntil).Msg("could not renew the lease; retrying")
				renew.Reset(r.ttl / 10)
			case !ok:
				r.log.Error().Msg("lost the lease to another replica; stopping the tasks")
				stop("lease lost")
				return
			default:
				validUntil = sent.Add(r.ttl)
				expire.Reset(time.Until(validUntil.Add(-margin)))
				renew.Reset(r.ttl / 3)
			}
		}
	}
}

// loop runs one task every interval until ctx is done. A failed round is
// retried after an exponential backoff; it never affects the other tasks.
func (r *Runner) loop(ctx context.Context, t task) {
	failures := 0
	for {
		err := r.runOnce(ctx, t)
		if ctx.Err() != nil {
			return
		}
		next := t.interval
		if err != nil {
			failures++
			next = r.backoff(failures)
			r.log.Error().Str("task", t.name).Err(err).Int("failures", failures).Dur("retry_in", next).Msg("task failed")
		} else if failures > 0 {
			r.log.Info().Str("task", t.name).Int("failures", failures).Msg("task works again")
			failures = 0
		}
		tm := time.NewTimer(next)
		select {
		case <-ctx.Done():
			tm.Stop()
			return
		case <-tm.C:
		}
	}
}

// runOnce runs one round, turning a panic into an error so that a bug in
// one task cannot take the others down.
func (r *Runner) runOnce(ctx context.Context, t task) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return t.run(ctx)
}

// backoff is the wait after the n-th failure in a row: doubling from
// BackoffBase, capped at BackoffMax.
func (r *Runner) backoff(n int) time.Duration {
	d := r.opts.BackoffBase
	for i := 1; i < n && d < r.opts.BackoffMax; i++ {
		d *= 2
	}
	return min(d, r.opts.BackoffMax)
}

// RunTask runs the named task once, now, without the lease: for trying a
// task by hand (with -dry-run) or catching up after an outage. It is safe
// next to a running leader, because every item is claimed in Redis before
// it is posted. "feed" names every feed task.
func (r *Runner) RunTask(ctx context.Context, name string) error {
	var errs []error
	found := false
	for _, t := range r.tasks {
		if t.name != name && !strings.HasPrefix(t.name, name+":") {
			continue
		}
		found = true
		r.log.Info().Str("task", t.name).Msg("running one round")
		if err := r.runOnce(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.name, err))
		}
	}
	if !found {
		return fmt.Errorf("bgtasks: no task %q; the tasks are %s", name, strings.Join(r.taskNames(), ", "))
	}
	return errors.Join(errs...)
}

func (r *Runner) taskNames() []string {
	var names []string
	for _, t := range r.tasks {
		names = append(names, t.name)
	}
	return names
}

// heartbeatLost is the heartbeat's OnLost: it tells a leading lead loop to
// step down. The signal is dropped when one is already pending.
func (r *Runner) heartbeatLost(error) {
	select {
	case r.redisLost <- struct{}{}:
	default:
	}
}

// newHeartbeat watches Redis for the runner.
func (r *Runner) newHeartbeat() *heartbeat.Monitor {
	limit := r.cfg.RedisHeartbeatLimit
	if limit <= 0 {
		limit = 30 * time.Second
	}
	return heartbeat.New(heartbeat.Redis(r.rdb), heartbeat.Options{Limit: limit, OnLost: r.heartbeatLost}, r.log.With().Str("part", "heartbeat").Logger())
}

// Ready reports whether Redis answers the runner's heartbeat.
func (r *Runner) Ready() bool { return r.hb.Ready() }
