package cli

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/logtest"
)

// What go-redis logs itself about a Redis it cannot reach comes out as
// JSON lines of ours, not as plain text.
func TestRouteRedisLogs(t *testing.T) {
	var buf logtest.Buffer
	RouteRedisLogs(zerolog.New(&buf).With().Str("proc", "test").Logger())
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Cleanup(func() { redis.SetLogger(discardRedis{}) })
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: 1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Fatal("Ping of a closed port succeeded")
	}
	out := buf.String()
	if out == "" {
		t.Fatal("go-redis logged nothing about the failed dials; the test no longer shows anything")
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if m["component"] != "go-redis" || m["level"] != "warn" || m["proc"] != "test" || m["message"] == "" {
			t.Errorf("line %q: want component go-redis, level warn, proc test and a message", line)
		}
	}
}

type discardRedis struct{}

func (discardRedis) Printf(context.Context, string, ...any) {}
