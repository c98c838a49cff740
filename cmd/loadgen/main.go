// Command loadgen measures the gateway's throughput and latency with
// pre-signed Slack events; -compare measures a bare net/http handler and the
// in-process gateway in one run and prints the ratio; -e2e runs the gateway,
// one consumer and the fake Slack in-process and measures the latency from
// an event's send time to its answer in Slack (-rate R) or one consumer's
// throughput (-rate 0). See the README.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gophers/gopherbot/internal/loadgen"
)

func main() {
	// Every signal that ends a run by default ends it through ctx, so that
	// -split puts back the CPUs of the Redis server (a Redis left on one
	// CPU spoils every later run) and -self/-compare remove what they
	// stored: Ctrl-C, kill or a supervisor (SIGTERM), a closed terminal
	// (SIGHUP).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// The secret of a -url target comes from the environment, not a flag,
	// so that it does not show in the process list.
	err := loadgen.Command(ctx, os.Args[1:], os.Getenv("SLACK_SIGNING_SECRET"), os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
