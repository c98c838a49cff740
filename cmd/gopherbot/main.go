// Command gopherbot runs the whole bot in one process: gateway, consumer and
// bgtasks. With no settings at all it runs on an embedded Redis and a
// simulated Slack workspace, with a console to chat with the bot.
//
//	go run ./cmd/gopherbot                      # chat in the console
//	go run ./cmd/gopherbot --script session.txt # run a script, print the bot's calls, exit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/allinone"
	"github.com/gophers/gopherbot/internal/cli"
)

func main() {
	script := flag.String("script", "", "run the console lines of `FILE` (- for stdin), print the bot's calls, and exit")
	allCalls := flag.Bool("all-calls", false, "also print the bot's read-only Web API calls (auth.test, conversations.list, ...)")
	flag.Parse()
	if err := checkFlags(flag.Args(), "", true); err != nil { // the settings are not read yet
		fmt.Fprintf(os.Stderr, "gopherbot: %v\n", err)
		os.Exit(2)
	}

	o := allinone.Options{Console: true, Out: os.Stdout, AllCalls: *allCalls}
	switch {
	case *script != "" && *script != "-":
		f, err := os.Open(*script)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gopherbot: %v\n", err)
			os.Exit(2)
		}
		defer f.Close()
		o.In, o.Script = f, true
	case *script == "-" || !term.IsTerminal(int(os.Stdin.Fd())):
		o.In, o.Script = os.Stdin, true
	default:
		o.In, o.Prompt = os.Stdin, true
	}
	cli.Main("gopherbot", config.AllInOne, func(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
		if err := checkFlags(flag.Args(), *script, cfg.Local); err != nil {
			return err
		}
		if !cfg.Local {
			o.Console, o.In = false, io.Reader(nil)
		}
		return allinone.Run(ctx, cfg, log, o)
	})
}

// checkFlags reports what the command line asks for that gopherbot would
// not do, rather than leave it undone without a word. local is whether it
// runs the simulated workspace (no Slack settings).
func checkFlags(args []string, script string, local bool) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q; to run a script of console lines: --script %s", args[0], args[0])
	}
	if script != "" && !local {
		return errors.New("--script runs the local console, and SLACK_SIGNING_SECRET or SLACK_BOT_TOKEN is set: this is a real deployment, with no console")
	}
	return nil
}
