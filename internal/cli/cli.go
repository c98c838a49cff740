// Package cli is the shared start-up of gopherbot's commands: load and check
// the settings once, build the logger, stop on SIGTERM. It keeps every
// cmd/*/main.go a few lines long.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
)

// ErrUnfinished is wrapped by the error of a RunFunc that a signal stopped
// before its work was done, when that work has an end (a console script):
// Main then exits 1, where a stop by signal otherwise exits 0.
var ErrUnfinished = errors.New("stopped before the end")

// RunFunc is the body of a command.
type RunFunc func(ctx context.Context, cfg config.Config, log zerolog.Logger) error

// Main loads the settings for role, runs run until SIGTERM or SIGINT, and
// exits with a non-zero status when the settings are bad or run fails (after
// a signal, only when its error wraps ErrUnfinished).
func Main(name string, role config.Role, run RunFunc) {
	cfg, err := config.Load(os.Getenv, role)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	log := NewLogger(os.Stderr, cfg, name)
	RouteRedisLogs(log)
	log.Info().Object("config", cfg).Msg("starting")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		// After the first signal, a second one kills the process as Go
		// does by default, should the shutdown hang.
		<-ctx.Done()
		stop()
	}()
	// After a signal, what run returns is the consequence of stopping,
	// unless it says it left its work unfinished.
	if err := run(ctx, cfg, log); err != nil && (ctx.Err() == nil || errors.Is(err, ErrUnfinished)) {
		log.Error().Err(err).Msg("stopped")
		os.Exit(1)
	}
	log.Info().Msg("stopped")
}

// NewLogger returns the JSON logger of a process, tagged with the process
// name and, on Heroku, the dyno and slug.
func NewLogger(w io.Writer, cfg config.Config, name string) zerolog.Logger {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	c := zerolog.New(w).Level(cfg.LogLevel).With().Timestamp().Str("proc", name)
	if cfg.Dyno != "" {
		c = c.Str("dyno", cfg.Dyno)
	}
	if cfg.HerokuSlugCommit != "" {
		c = c.Str("slug", cfg.HerokuSlugCommit)
	}
	return c.Logger()
}

// RouteRedisLogs sends what go-redis logs itself (failed dials, pool
// trouble; plain text on stderr by default) to log as warnings, so that a
// process's stderr stays one JSON object a line. go-redis has one logger
// per process: the last call wins.
func RouteRedisLogs(log zerolog.Logger) {
	redis.SetLogger(redisLogger{log.With().Str("component", "go-redis").Logger()})
}

type redisLogger struct{ log zerolog.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn().Msg(strings.TrimSpace(fmt.Sprintf(format, v...)))
}
