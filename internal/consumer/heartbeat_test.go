package consumer

import (
	"strings"
	"testing"
	"time"
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
