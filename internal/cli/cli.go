// Package cli is the shared start-up of gopherbot's commands: load and check
// the settings once, build the logger, stop on SIGTERM. It keeps every
// cmd/*/main.go a few lines long.
package cli

import (
	"context"
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

// RunFunc is the body of a command.
type RunFunc func(ctx context.Context, cfg config.Config, log zerolog.Logger) error

// Main loads the settings for role, runs run until SIGTERM or SIGINT, and
// exits with a non-zero status when the settings are bad or run fails.
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
	if err := run(ctx, cfg, log); err != nil && ctx.Err() == nil {
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
