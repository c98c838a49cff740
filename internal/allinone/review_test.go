package allinone

import (
	"context"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/workqueue"
)

// loadLocal loads the settings of the local all-in-one from env (none
// gives the defaults).
func loadLocal(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] }, config.AllInOne)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// localListener is a listener on a free local port, for the gateway.
func localListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// newSimulation returns the simulated workspace of the local all-in-one on
// the default settings, closed when the test ends, and those settings as
// simulate left them: pointed at the simulated services.
func newSimulation(t *testing.T) (*Simulation, config.Config) {
	t.Helper()
	cfg := loadLocal(t, nil)
	s, err := simulate(&cfg, zerolog.Nop(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, cfg
}

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
	cfg := loadLocal(t, env)
	var out logtest.Buffer
	logs := &logtest.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	o.Console, o.Script, o.In, o.Out, o.Listener = true, true, strings.NewReader(script), &out, localListener(t)
	err := Run(ctx, cfg, zerolog.New(logs), o)
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

// Someone who talks in a channel they are not in, such as a new person
// in a channel /in made, joins it first, as Slack has them do: the
// bot's ephemeral note to them reaches them instead of being refused
// (user_not_in_channel), logged as an error and dead-lettered.
func TestNewcomerInNewChannel(t *testing.T) {
	var code strings.Builder
	code.WriteString("\"\"\"\npackage main\n\nimport \"fmt\"\n\nfunc main() {\n")
	for range 10 {
		code.WriteString("\tfmt.Println(\"hello\")\n")
	}
	code.WriteString("}\n\"\"\"\n")
	out, logs, err := runLocalLogs(t, nil, Options{}, "/as dave\n/in #gophers\n"+code.String())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "chat.postEphemeral #gophers to @dave:") || strings.Contains(out, "[answered") {
		t.Errorf("the paste note did not reach dave:\n%s", out)
	}
	if logs.Contains(`"level":"error"`) {
		t.Errorf("errors logged:\n%s", logs)
	}
}

// holdWriter is a console Out whose first write holds on until release
// is closed: the console writes under its output lock, so the lock is
// held until then. It reports writes made while another is in progress.
type holdWriter struct {
	t                *testing.T
	entered, release chan struct{}
	busy             atomic.Bool
	mu               sync.Mutex
	writes           []string
}

func (w *holdWriter) Write(p []byte) (int, error) {
	if !w.busy.CompareAndSwap(false, true) {
		w.t.Errorf("%q written while another write is in progress", p)
	} else {
		defer w.busy.Store(false)
	}
	w.mu.Lock()
	first := len(w.writes) == 0
	w.writes = append(w.writes, string(p))
	w.mu.Unlock()
	if first {
		close(w.entered)
		<-w.release
	}
	return len(p), nil
}

// The note a command prints when the bot posted nothing ("the bot posted
// nothing about ...") goes through the console's output lock, as all
// else the console prints: written past it, it races with the bot's
// calls printed between lines by another goroutine.
func TestPostNoteUnderConsoleLock(t *testing.T) {
	s, cfg := newSimulation(t)
	s.postWait = 10 * time.Millisecond
	w := &holdWriter{t: t, entered: make(chan struct{}), release: make(chan struct{})}
	s.console(context.Background(), Options{Out: w}, "http://127.0.0.1:1/slack/events", "secret",
		func(context.Context) error { return nil })
	go s.con.Interject("chat.postMessage #random: printed between two lines\n")
	<-w.entered // the console's output lock is held until w.release
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.waitPost(context.Background(), s.lastSeq(), cfg.GerritChannel, "the CL", "")
	}()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !waitsForLock("waitPost") {
		select {
		case <-done:
			close(w.release)
			t.Fatalf("the note was written while the console's output lock was held: %q", w.writes)
		case <-deadline:
			close(w.release)
			t.Fatal("waitPost neither wrote its note nor waited for the console's output lock")
		case <-tick.C:
		}
	}
	close(w.release)
	<-done
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.writes) != 2 || !strings.Contains(w.writes[1], "the bot posted nothing about the CL") {
		t.Errorf("writes %q; want the interjection, then the note", w.writes)
	}
}

// waitsForLock reports whether a goroutine whose stack names fn waits to
// take a sync.Mutex.
func waitsForLock(fn string) bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "[sync.Mutex.Lock") && strings.Contains(g, "."+fn+"(") {
			return true
		}
	}
	return false
}

// The commands that drive the simulated services each need what the
// README's usage names (/merge SUBJECT, /episode TITLE, /live TITLE):
// without it they refuse at once, saying what they want.
func TestSimulationCommandsWantArgument(t *testing.T) {
	s, _ := newSimulation(t)
	for name, cmd := range s.commands() {
		// No background tasks poll here: a command that went ahead would
		// wait for them until ctx ends, and fail for another reason.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := cmd.Run(ctx, "")
		cancel()
		if err == nil || !strings.HasPrefix(err.Error(), name+" wants ") {
			t.Errorf("%s with nothing after it: %v; want it refused, saying what it wants", name, err)
		}
	}
}
