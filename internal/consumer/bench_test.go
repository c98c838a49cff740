package consumer

import (
	"context"
	"testing"
	"time"
)

// BenchmarkConsume measures events handled per second by one consumer, from
// a full queue: chatter nobody answers (the bulk of a workspace's traffic),
// and DMs that each get a reply from the fake Slack.
func BenchmarkConsume(b *testing.B) {
	for _, bc := range []struct {
		name string
		text string
		dm   bool
	}{
		{"chatter", "does anyone have an opinion on generics in interfaces?", false},
		{"dm-reply", "books", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, envOptions{settings: map[string]string{"LOG_LEVEL": "warn"}})
			ch := "general"
			if bc.dm {
				ch = "dm"
			}
			evs := make([]queued, b.N)
			for i := range evs {
				// Fresh enough to be answered when the consumer gets to it.
				evs[i] = e.message(said{user: "alice", channel: ch, text: bc.text, at: time.Now().Add(20 * time.Second)})
			}
			ctx := context.Background()
			for _, ev := range evs {
				if _, err := e.q.Publish(ctx, ev.Event); err != nil {
					b.Fatal(err)
				}
			}
			e.slack.Reset()
			b.ResetTimer()
			start := time.Now()
			e.start()
			e.waitIdle()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			if bc.dm {
				if n := len(e.slack.CallsTo("chat.postMessage")); n != b.N {
					b.Fatalf("%d replies for %d DMs", n, b.N)
				}
			}
		})
	}
}
