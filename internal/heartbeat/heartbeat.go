// Package heartbeat watches that Redis keeps answering.
//
// Every gopherbot process depends on Redis: the gateway stores events in it,
// the consumer reads them, bgtasks holds its lease and its cursors there. A
// process that has lost Redis should stop doing work it cannot record,
// instead of piling up errors (the gateway's /readyz checks Redis itself,
// with a write). A Monitor pings
// on an interval; once no ping has succeeded for longer than a limit it turns
// not ready and calls OnLost, and when a ping succeeds again it turns ready
// and calls OnBack. The process itself keeps running and keeps pinging, so it
// comes back on its own when Redis does.
package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// ErrNoAnswer is wrapped by Err while Redis is considered lost.
var ErrNoAnswer = errors.New("heartbeat: redis does not answer")

// PingFunc checks the connection once; a nil error means it answered.
type PingFunc func(ctx context.Context) error

// Redis returns the PingFunc of a go-redis client.
func Redis(rdb redis.UniversalClient) PingFunc {
	return func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
}

// Options tune a Monitor. Limit is required.
type Options struct {
	// Limit is how long Redis may go without answering before the process
	// is considered cut off (cfg.RedisHeartbeatLimit).
	Limit time.Duration
	// Interval between pings; default Limit/5, so a loss is noticed within
	// a fifth of the limit after it is reached.
	Interval time.Duration
	// OnLost is called once when the limit is passed, with the last ping
	// error. OnBack is called once when Redis answers again. Both run on
	// the monitor's goroutine and should return quickly.
	OnLost func(err error)
	OnBack func()
}

// Monitor pings Redis and tracks whether it answers. Ready and Err are safe
// to call from any goroutine (for example an HTTP /readyz handler).
type Monitor struct {
	ping PingFunc
	opts Options
	log  zerolog.Logger

	mu      sync.Mutex
	started time.Time // start of Run: the limit counts from here before any answer
	lastOK  time.Time // last successful ping; zero before the first
	lastErr error
	lost    bool
}

// New returns a monitor; call Run to start pinging.
func New(ping PingFunc, opts Options, log zerolog.Logger) *Monitor {
	if opts.Limit <= 0 {
		panic("heartbeat: Options.Limit must be positive")
	}
	if opts.Interval <= 0 {
		opts.Interval = opts.Limit / 5
	}
	return &Monitor{ping: ping, opts: opts, log: log, started: time.Now()}
}

// Run pings until ctx is done. It returns nil: losing Redis is a state that
// Ready, Err and the callbacks report, not a reason to stop pinging.
func (m *Monitor) Run(ctx context.Context) error {
	m.mu.Lock()
	m.started = time.Now()
	m.mu.Unlock()
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		m.beat(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// beat pings once and moves between the ready and lost states.
func (m *Monitor) beat(ctx context.Context) {
	// One ping may take at most an interval, so that a hung connection is
	// judged on time instead of blocking the checks behind it.
	pctx, cancel := context.WithTimeout(ctx, m.opts.Interval)
	err := m.ping(pctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	now := time.Now()

	m.mu.Lock()
	var lost, back bool
	if err == nil {
		m.lastOK, m.lastErr = now, nil
		back, m.lost = m.lost, false
	} else {
		m.lastErr = err
		since := m.lastOK
		if since.IsZero() {
			since = m.started
		}
		if !m.lost && now.Sub(since) > m.opts.Limit {
			m.lost, lost = true, true
		}
	}
	m.mu.Unlock()

	switch {
	case lost:
		m.log.Error().Err(err).Dur("limit", m.opts.Limit).Msg("redis has not answered within the heartbeat limit; stopping work until it does")
		if m.opts.OnLost != nil {
			m.opts.OnLost(err)
		}
	case back:
		m.log.Info().Msg("redis answers again; resuming work")
		if m.opts.OnBack != nil {
			m.opts.OnBack()
		}
	case err != nil:
		m.log.Warn().Err(err).Msg("redis ping failed")
	}
}

// Ready reports whether Redis answered a ping within the limit.
func (m *Monitor) Ready() bool { return m.Err() == nil }

// Err is nil while Redis answers. Otherwise it wraps ErrNoAnswer and the
// last ping error: before the first answer, and once the limit has passed
// without one.
func (m *Monitor) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	last := m.lastErr
	if last == nil {
		last = errors.New("no ping has finished")
	}
	switch {
	case m.lastOK.IsZero():
		return fmt.Errorf("%w yet: %w", ErrNoAnswer, last)
	case m.lost || time.Since(m.lastOK) > m.opts.Limit:
		return fmt.Errorf("%w for %s: %w", ErrNoAnswer, time.Since(m.lastOK).Round(time.Millisecond), last)
	}
	return nil
}
