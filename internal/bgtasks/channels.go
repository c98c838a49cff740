package bgtasks

import (
	"context"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/chancache"
)

// cacheRefresher adapts the channel cache's Refresh to a task.
type cacheRefresher struct{ c *chancache.Cache }

// Refresh pages through conversations.list and replaces the cache. A 429
// in the middle of the listing is waited out inside the Slack client, which
// resumes from the same cursor.
func (r cacheRefresher) Refresh(ctx context.Context) error {
	_, err := r.c.Refresh(ctx)
	return err
}

// newOutbox builds the channel cache over sc and the outbox that resolves
// channel names through it.
func newOutbox(cfg config.Config, log zerolog.Logger, rdb redis.UniversalClient, sc Slack, shadow bool) (*outbox, refresher) {
	cc := chancache.New(rdb, sc, log)
	return &outbox{slack: sc, chans: cc, shadow: shadow, log: log}, cacheRefresher{cc}
}
