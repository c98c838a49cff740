// Command queuectl shows the work queue's backlog and dead letters, and
// requeues or discards dead letters. It reads REDIS_URL from the environment:
//
//	queuectl stats
//	queuectl deadletters -n 50 -body
//	queuectl requeue 1732900000000-0
//	heroku run queuectl requeue -all
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/cli"
	"github.com/gophers/gopherbot/internal/queuectl"
	"github.com/gophers/gopherbot/workqueue"
)

func main() {
	os.Exit(run())
}

func run() int {
	cfg, err := config.Load(os.Getenv, config.Ops)
	if err != nil {
		fmt.Fprintf(os.Stderr, "queuectl: %v\n", err)
		return 2
	}
	opts, err := cfg.RedisOptions()
	if err != nil {
		fmt.Fprintf(os.Stderr, "queuectl: %v\n", err)
		return 2
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	// The queue logs what it changes (requeued, discarded) as JSON on
	// stderr, for the app's log trail.
	log := cli.NewLogger(os.Stderr, cfg, "queuectl")
	q := workqueue.New(rdb, workqueue.Options{MaxLen: cfg.StreamMaxLen, Log: log})
	defer q.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err = queuectl.Command(ctx, os.Args[1:], q, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, queuectl.ErrUsage):
		fmt.Fprintln(os.Stderr, err)
		return 2
	case err != nil:
		fmt.Fprintf(os.Stderr, "queuectl: %v\n", err)
		return 1
	}
	return 0
}
