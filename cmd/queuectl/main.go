// Command queuectl shows the work queue's backlog and dead letters, and
// requeues or discards dead letters. It reads REDIS_URL from the environment:
//
//	queuectl stats
//	queuectl deadletters -n 50 -body
//	queuectl requeue 1732900000000-0
//	heroku run queuectl requeue -all
//	heroku run queuectl discard -all
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gophers/gopherbot/internal/queuectl"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return queuectl.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
}
