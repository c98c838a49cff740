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

	"github.com/gophers/gopherbot/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// The secret of a -url target comes from the environment, not a flag,
	// so that it does not show in the process list.
	err := loadgen.Command(ctx, os.Args[1:], os.Getenv("SLACK_SIGNING_SECRET"), os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
