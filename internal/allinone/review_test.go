package allinone

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/workqueue"
)

// runLocal runs script through the local all-in-one with the settings env,
// as `gopherbot --script` does, and returns what it printed and Run's error.
func runLocal(t *testing.T, env map[string]string, o Options, script string) (string, error) {
	t.Helper()
	out, _, err := runLocalLogs(t, env, o, script)
	return out, err
}

// runLocalLogs is runLocal that also returns the logs.
func runLocalLogs(t *testing.T, env map[string]string, o Options, script string) (string, *logtest.Buffer, error) {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] }, config.AllInOne)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var out logtest.Buffer
	logs := &logtest.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	o.Console, o.Script, o.In, o.Out, o.Listener = true, true, strings.NewReader(script), &out, ln
	err = Run(ctx, cfg, zerolog.New(logs), o)
	if ctx.Err() != nil {
		t.Fatalf("the script did not finish in time; output so far:\n%s\nlogs:\n%s", out.String(), logs.String())
	}
	return out.String(), logs, err
}

// The console's errors say "console:" once.
func TestScriptErrorPrefix(t *testing.T) {
	_, err := runLocal(t, nil, Options{}, "/nosuch\n")
	if err == nil || strings.Contains(err.Error(), "console: console:") {
		t.Errorf("Run = %v; want one error, prefixed once", err)
	}
}

// A REDIS_URL where no Redis answers (a typo, a server not started) stops
// the local all-in-one with an error naming it, instead of a console that
// waits for the bot forever without a word.
func TestLocalRedisNotAnswering(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = runLocal(t, map[string]string{"REDIS_URL": "redis://:hunter2@" + addr + "/0"}, Options{}, "hello\n")
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Run = %v; want an error naming the Redis at %s", err, addr)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error shows REDIS_URL's password: %v", err)
	}
}

// The console waits for the bot after each line; when Redis stops
// answering in the middle of a session, it says so instead of waiting on
// in silence.
func TestWaitIdleRedisGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	q := workqueue.New(rdb, workqueue.Options{Log: zerolog.Nop()})
	defer q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = waitIdle(ctx, q, 300*time.Millisecond)
	if err == nil || ctx.Err() != nil {
		t.Errorf("waitIdle = %v (ctx: %v); want Redis's error well before the test's deadline", err, ctx.Err())
	}
}

// With a kept Redis (REDIS_URL), a second local run starts a new simulated
// workspace, but Redis remembers the first one's welcomes and merged CLs.
// A newcomer of the second run is still welcomed, and its merged CL still
// announced, as the README's session shows.
func TestKeptRedisSecondRun(t *testing.T) {
	rs := redistest.Start(t)
	env := map[string]string{"REDIS_URL": rs.URL()}
	script := "/as dave\n/join\n/merge net/http: add a test\n"
	for run := 1; run <= 2; run++ {
		out, err := runLocal(t, env, Options{}, script)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		for _, want := range []string{"chat.postMessage @dave:", "merged: net/http: add a test"} {
			if !strings.Contains(out, want) {
				t.Errorf("run %d printed no %q:\n%s", run, want, out)
			}
		}
		// What the simulated Gerrit holds from before is no news.
		if strings.Contains(out, "merged before the bot started") {
			t.Errorf("run %d announced the CL merged before it started:\n%s", run, out)
		}
	}
}

// With --all-calls, the calls the bot makes as it starts (the channel
// cache, the first welcome sweep) are printed before the first line, not
// under it as if the line had caused them.
func TestAllCallsStartupFirst(t *testing.T) {
	out, err := runLocal(t, nil, Options{AllCalls: true}, "hello\n")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(out, "alice in #general> hello\n")
	if !ok {
		t.Fatalf("no echo of the line:\n%s", out)
	}
	if after != "" {
		t.Errorf("printed under \"hello\", which says nothing to the bot:\n%s\nwhole output:\n%s", after, out)
	}
}

// /live again on the same day posts nothing, and the console says why:
// the bot logs nothing about it.
func TestLiveTwiceSaysWhy(t *testing.T) {
	out, err := runLocal(t, nil, Options{}, "/live One\n/live Two\n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "once a day") {
		t.Errorf("the second /live posts nothing, and the console does not say why:\n%s", out)
	}
}
