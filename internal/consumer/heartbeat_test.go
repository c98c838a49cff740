package consumer

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gophers/gopherbot/internal/slackapi"
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.c.Run(ctx) }()
	e.publish(e.message(said{user: "alice", channel: "dm", text: "books"}))
	e.waitIdle()
	if !goroutineRunning("heartbeat.(*Monitor).Run") {
		t.Fatal("no heartbeat running under Run: the test shows nothing")
	}
	e.slack.RevokeToken()
	e.publish(e.message(said{user: "alice", channel: "dm", text: "books"}))
	select {
	case err := <-done:
		if !errors.Is(err, slackapi.ErrTokenRejected) {
			t.Fatalf("Run = %v; want ErrTokenRejected", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run still running 15s after Slack rejected the token")
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
