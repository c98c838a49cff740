package consumer

import (
	"strings"
	"testing"
	"time"
)

// waitLog polls the consumer's logs for s.
func (e *env) waitLog(s string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.logs.String(), s) {
		if time.Now().After(deadline) {
			e.t.Fatalf("no %q in the logs after 10s", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRedisLostAndBack stops Redis under a running consumer: past the
// heartbeat limit it stops taking work, and once Redis is back it consumes
// again by itself, with nothing restarted by hand.
func TestRedisLostAndBack(t *testing.T) {
	e := newEnv(t, envOptions{settings: map[string]string{"REDIS_HEARTBEAT_LIMIT": "300ms"}})
	e.start()
	e.publish(e.message(said{user: "alice", channel: "dm", text: "books"}))
	e.waitIdle()

	e.redis.Stop()
	e.waitLog("Redis lost: stopped taking work")
	e.redis.Restart() // its data is gone: the stream and the group too
	e.waitLog("Redis is back: taking work again")

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
