package slackapi

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackfake"
)

// BenchmarkPostMessage compares posting through this package with posting
// through slack-go alone (the baseline), with and without the Redis post
// budget. The budget runs with a zero interval here, so the benchmark
// measures the script's round trip rather than Slack's one-per-second pace.
func BenchmarkPostMessage(b *testing.B) {
	fake := slackfake.New(slackfake.WithRecordLimit(10000))
	defer fake.Close()
	ws, _ := fake.Seed()
	general := ws.Channels["general"]
	rdb := redistest.Start(b).Client()
	ctx := context.Background()

	b.Run("slack-go", func(b *testing.B) {
		api := slack.New(fake.Token(), slack.OptionAPIURL(fake.APIURL()))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := api.PostMessageContext(ctx, general, slack.MsgOptionText("hi", false)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("client-no-budget", func(b *testing.B) {
		c := New(fake.Token(), fake.APIURL(), nil, zerolog.Nop())
		benchClient(b, c, general)
	})
	b.Run("client-budget", func(b *testing.B) {
		c := New(fake.Token(), fake.APIURL(), rdb, zerolog.Nop(), WithPostInterval(time.Nanosecond))
		benchClient(b, c, general)
	})
}

func benchClient(b *testing.B, c *Client, channel string) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.PostMessage(context.Background(), channel, "hi", PostOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
