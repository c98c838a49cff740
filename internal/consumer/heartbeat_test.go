package consumer

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackfake"
)

// TestRedisLostAndBack stops Redis under a running consumer: past the
// heartbeat limit it stops taking work, and once Redis is back it consumes
// again by itself, with nothing restarted by hand.
func TestRedisLostAndBack(t *testing.T) {
	e := newEnv(t, envOptions{settings: map[string]string{"REDIS_HEARTBEAT_LIMIT": "300ms"}})
	e.start()
	e.publish(e.message(said{user: "alice", channel: "dm", text: "books"}))
	e.waitIdle()

	e.redis.Stop()
	e.logs.WaitFor(t, "Redis lost: stopped taking work", 10*time.Second)
	e.redis.Restart() // its data is gone: the stream and the group too
	e.logs.WaitFor(t, "Redis is back: taking work again", 10*time.Second)

	e.publish(e.message(said{user: "bob", channel: "dm", text: "books"}))
	e.waitIdle()
	var replies []string
	for _, s := range e.seen() {
		if strings.HasPrefix(s, "chat.postMessage") {
			replies = append(replies, strings.SplitN(s, ":", 2)[0])
		}
	}
	if want := "chat.postMessage @alice,chat.postMessage @bob"; strings.Join(replies, ",") != want {
		t.Errorf("replies = %q, want %q", replies, want)
	}
}

// TestRunStopsItsHeartbeat: when Run returns on its own (here: Slack
// rejected the token), while its ctx is still live, the Redis heartbeat it
// started stops too, instead of pinging (and logging about) a Redis client
// its caller is about to close.
func TestRunStopsItsHeartbeat(t *testing.T) {
	e := newEnv(t, envOptions{})
	done := e.runInBackground()
	e.publish(e.message(said{user: "alice", channel: "dm", text: "books"}))
	e.waitIdle()
	if !goroutineRunning("heartbeat.(*Monitor).Run") {
		t.Fatal("no heartbeat running under Run: the test shows nothing")
	}
	if err := e.rejectToken(done, e.message(said{user: "alice", channel: "dm", text: "books"})); !errors.Is(err, slackapi.ErrTokenRejected) {
		t.Fatalf("Run = %v; want ErrTokenRejected", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for goroutineRunning("heartbeat.(*Monitor).Run") {
		if time.Now().After(deadline) {
			t.Fatal("the heartbeat still runs 5s after Run returned")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// goroutineRunning reports whether a goroutine has fn on its stack.
func goroutineRunning(fn string) bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Contains(string(buf[:n]), fn)
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestRedisFlapsWhileDraining: Redis is lost, comes back, is lost again and
// comes back again, all while the consumer still waits for a handler it had
// running when Redis was first lost. Redis answers at the end, so the
// consumer takes work again, instead of acting on the second loss, which is
// over, and waiting for a return that was already reported.
func TestRedisFlapsWhileDraining(t *testing.T) {
	e := newEnv(t, envOptions{settings: map[string]string{
		"REDIS_HEARTBEAT_LIMIT": "300ms",
		// Long enough for the flaps below to happen within the drain.
		"SHUTDOWN_TIMEOUT": "20s",
		"HANDLER_TIMEOUT":  "20s",
		"QUEUE_CLAIM_IDLE": "30s",
	}})
	// Hold the first reply in the fake Slack: the handler runs on through
	// the flaps, and the consumer waits for it before it stops reading.
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	stop := e.slack.OnCall(func(c slackfake.Call) {
		if c.Method == "chat.postMessage" {
			once.Do(func() { close(arrived); <-release })
		}
	})
	defer stop()
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock)

	e.start()
	e.publish(e.message(said{user: "alice", channel: "dm", text: "books"}))
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the consumer never posted its reply")
	}
	for i := 1; i <= 2; i++ {
		e.redis.Stop()
		waitLogged(t, e.logs, "Redis lost: stopped taking work", i)
		e.redis.Restart()
		waitLogged(t, e.logs, "Redis is back: taking work again", i)
	}
	unblock()

	e.publish(e.message(said{user: "bob", channel: "dm", text: "books"}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.slack.WaitFor(ctx, func(calls []slackfake.Call) bool {
		for _, c := range calls {
			if c.Method == "chat.postMessage" && c.OK() && strings.HasPrefix(e.slack.Render(c), "chat.postMessage @bob") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("no answer to bob after Redis came back for good: %v", err)
	}
}

// waitLogged waits until s was logged n times.
func waitLogged(t *testing.T, logs *logtest.Buffer, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%q logged %d times after 10s, want %d", s, strings.Count(logs.String(), s), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
