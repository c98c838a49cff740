// Command bgtasks runs gopherbot's background tasks: the channel cache, the
// merged Go CLs, the feeds, the Go Time live announcement and the welcome
// catch-up. Run any number of copies; one holds a lease in Redis and works,
// the others stand by.
//
// Usage:
//
//	bgtasks [-dry-run] [-task NAME]
//
// -dry-run logs what would be posted instead of posting; -task runs one
// task once (without the lease) and exits. Settings come from the
// environment; see the README.
package main

import (
	"flag"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/bgtasks"
	"github.com/gophers/gopherbot/internal/cli"
)

func main() {
	var o bgtasks.Options
	flag.BoolVar(&o.DryRun, "dry-run", false, "log what would be posted instead of posting")
	flag.StringVar(&o.Task, "task", "", "run this one task once and exit (channels, gerrit, feed, gotime, welcome)")
	flag.Parse()
	cli.Main("bgtasks", config.Bgtasks, o.Run)
}
