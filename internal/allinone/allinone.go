// Package allinone runs the whole bot in one process: the gateway, the
// consumer and bgtasks, composed from the same constructors the three
// commands use.
//
// With Slack settings it is a real single-process deployment for small
// workspaces. Without them (config.Config.Local) it needs nothing at all: an
// embedded in-process Redis (miniredis, speaking the same protocol, so the
// same work queue code runs), a simulated Slack workspace (internal/slackfake),
// and simulated Go Playground, Gerrit, feed and live-status servers, with a
// console to chat with the bot.
package allinone

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/bgtasks"
	"github.com/gophers/gopherbot/internal/cli"
	"github.com/gophers/gopherbot/internal/consumer"
	"github.com/gophers/gopherbot/internal/gateway"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/workqueue"
)

// Options are the all-in-one's flags.
type Options struct {
	// Console runs the local console on In/Out. Only in local mode.
	Console bool
	In      io.Reader
	Out     io.Writer
	// Script: run In's lines, wait until the bot is idle, and return.
	Script bool
	// Prompt shows a prompt before each line (a terminal).
	Prompt bool
	// AllCalls prints the bot's read-only Web API calls too.
	AllCalls bool
	// Listener, when set, is where the gateway serves instead of PORT.
	Listener net.Listener
	// Session fixes the console's event_id prefix (see console.Console).
	Session string
}

// Run runs the bot until ctx ends, or in script mode until the script is done.
func Run(ctx context.Context, cfg config.Config, log zerolog.Logger, o Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var sim *Simulation
	if cfg.Local {
		var err error
		// A console session of its own (a run, not a test) gets a
		// simulated workspace of its own too.
		sim, err = simulate(&cfg, log, o.Session == "")
		if err != nil {
			return err
		}
		defer sim.Close()
	}

	ropts, err := cfg.RedisOptions()
	if err != nil {
		return fmt.Errorf("allinone: %w", err)
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()
	if cfg.Local && sim.Redis == nil {
		// A REDIS_URL given to try the bot locally names a Redis that
		// should answer now; without this check a typo or a server not
		// started leaves the console waiting for the bot without a word.
		if err := ping(ctx, rdb, localRedisWait); err != nil {
			return fmt.Errorf("allinone: the Redis at %s (REDIS_URL) does not answer: %w", ropts.Addr, err)
		}
	}

	ln := o.Listener
	if ln == nil {
		ln, err = listen(cfg, log)
		if err != nil {
			return err
		}
	}
	gatewayURL := "http://" + ln.Addr().String() + "/slack/events"

	slack := slackapi.New(cfg.SlackBotToken, cfg.SlackAPIURL, rdb, log.With().Str("part", "slack").Logger())
	cons, err := consumer.New(cfg, log.With().Str("part", "consumer").Logger(), rdb, slack)
	if err != nil {
		return err
	}
	if cfg.Local {
		// Stopping waits for the read in progress; a console user or a
		// script should not wait 2s for it.
		cons.ReadBlock = localReadBlock
	}
	gw := gateway.New(cfg, log.With().Str("part", "gateway").Logger(), rdb)
	bg := bgtasks.New(cfg, log.With().Str("part", "bgtasks").Logger(), rdb, slack, bgtasks.Options{})

	// One failing part stops the others: a half-running bot is worse than
	// a stopped one, which the platform restarts.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	start := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	start("gateway", func(ctx context.Context) error { return gw.Serve(ctx, ln) })
	start("consumer", cons.Run)
	start("bgtasks", bg.Run)
	log.Info().Str("url", gatewayURL).Bool("local", cfg.Local).Msg("all-in-one running: gateway, consumer and bgtasks")

	if sim != nil && o.Console {
		q := workqueue.New(rdb, workqueue.Options{Log: log})
		defer q.Close()
		done := sim.console(ctx, o, gatewayURL, cfg.SlackSigningSecret, func(ctx context.Context) error {
			return waitIdle(ctx, q, cfg.RedisHeartbeatLimit)
		})
		start("console", func(ctx context.Context) error {
			err := done(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				// Reported before the cancel, after which start would
				// take it for a consequence of stopping. The console's
				// errors say "console:" themselves.
				errs <- err
			case o.Script && errors.Is(err, context.Canceled):
				// Stopped (Ctrl-C, SIGTERM) before the script's end: not
				// every line ran, which is no success.
				errs <- fmt.Errorf("console: %w of the script: its last lines did not run", cli.ErrUnfinished)
			}
			cancel() // the script or the input is over: stop the bot
			return nil
		})
	}

	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// listen opens the gateway's port. Locally, a busy default port is not worth
// failing over: take a free one and say so.
func listen(cfg config.Config, log zerolog.Logger) (net.Listener, error) {
	host := ""
	if cfg.Local {
		host = "127.0.0.1" // the simulated workspace is nobody else's business
	}
	addr := net.JoinHostPort(host, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil && cfg.Local {
		log.Warn().Err(err).Msg("port busy; listening on a free port instead")
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("allinone: listen: %w", err)
	}
	return ln, nil
}

// localReadBlock is how long the local consumer's reads wait for events.
const localReadBlock = 100 * time.Millisecond

// localRedisWait is how long the local all-in-one waits for the Redis of
// its REDIS_URL to answer at start.
const localRedisWait = 5 * time.Second

// ping waits until rdb answers, for at most wait.
func ping(ctx context.Context, rdb *redis.Client, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error // Redis's last answer, more telling than the deadline
	for {
		err := rdb.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		if ctx.Err() == nil || last == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return last
		case <-tick.C:
		}
	}
}

// waitIdle returns once every stream is drained: nothing waiting, nothing in
// flight. An entry is acknowledged only after its handler finished, so every
// Web API call an event caused has been made by then. When Redis has not
// answered for limit (the bot has stopped working by then too), it gives
// up with Redis's error.
func waitIdle(ctx context.Context, q *workqueue.Queue, limit time.Duration) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var failing time.Time // since when Stats has failed; zero while it works
	for {
		st, err := q.Stats(ctx, slackevent.All)
		switch {
		case err == nil && st.Idle():
			return nil
		case err == nil:
			failing = time.Time{}
		case ctx.Err() != nil:
		case failing.IsZero():
			failing = time.Now()
		case time.Since(failing) >= limit:
			return fmt.Errorf("redis has not answered for %v: %w", limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// serve runs h on a fresh loopback port until Close.
type server struct {
	srv *http.Server
	ln  net.Listener
}

func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *server) URL() string { return "http://" + s.ln.Addr().String() }
func (s *server) Close()      { s.srv.Close() }
