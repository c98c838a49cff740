package slackapi

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// PostBudgetKeyPrefix is followed by the channel ID: the key holds the
// earliest time (Unix ms, Redis's clock) of the channel's next free slot.
const PostBudgetKeyPrefix = "gopherbot:ratelimit:post:"

// reserveSlot reserves the next free posting slot of a channel and returns
// {reserved, wait_ms}. Redis's clock is the one clock every process shares,
// so the slots are spaced the same whichever process takes them. A slot
// further away than ARGV[2] ms (when >= 0) is not reserved, so that a
// caller who cannot wait that long leaves it to the next one.
//
// KEYS[1] the channel's key; ARGV[1] interval ms; ARGV[2] longest wait ms, -1 for any.
var reserveSlot = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local maxwait = tonumber(ARGV[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local wait = slot - now
if maxwait >= 0 and wait > maxwait then
  return {0, wait}
end
redis.call('SET', KEYS[1], slot + interval, 'PX', wait + interval + 1000)
return {1, wait}
`)

// holdSlots moves a channel's next free slot to at least ARGV[1] ms from
// now (Redis's clock): Slack answered a post to it with a 429, and every
// process should wait that out, not only the one that met it.
//
// KEYS[1] the channel's key; ARGV[1] the wait in ms.
var holdSlots = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = now + tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < held then
  redis.call('SET', KEYS[1], held, 'PX', tonumber(ARGV[1]) + 1000)
end
return 1
`)

// errNoSlot is wrapped when the channel's next slot is past the deadline.
var errNoSlot = errors.New("the channel's next posting slot is past the deadline")

// slotCallReserve is the time a post is left for its call after waiting for
// its slot (at most half of what remains before the deadline): a slot taken
// just before the deadline would make a call cut off mid-way, whose outcome
// is unknown.
const slotCallReserve = time.Second

// waitPostSlot waits until this process may post to channel. It fails at
// once, with a transient *Error whose RetryAfter is the wait, when the slot
// is past ctx's deadline.
func (c *Client) waitPostSlot(ctx context.Context, channel string) error {
	if c.rdb == nil || c.postInterval <= 0 {
		return nil
	}
	maxWait := int64(-1)
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		maxWait = max((left - min(slotCallReserve, left/2)).Milliseconds(), 0)
	}
	res, err := reserveSlot.Run(ctx, c.rdb, []string{PostBudgetKeyPrefix + channel},
		c.postInterval.Milliseconds(), maxWait).Int64Slice()
	if err != nil || len(res) != 2 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Posting unpaced risks a 429, which is retried; not posting at
		// all would lose the answer.
		c.log.Warn().Err(err).Str("channel", channel).Msg("post budget unavailable; posting without it")
		return nil
	}
	wait := time.Duration(res[1]) * time.Millisecond
	if res[0] == 0 {
		return &Error{Method: "chat.postMessage", RetryAfter: wait, Err: errNoSlot}
	}
	if wait <= 0 {
		return nil
	}
	return sleep(ctx, wait)
}

// holdPosts makes every process wait d before its next post to channel.
func (c *Client) holdPosts(ctx context.Context, channel string, d time.Duration) {
	if c.rdb == nil || c.postInterval <= 0 || d <= 0 {
		return
	}
	if err := holdSlots.Run(ctx, c.rdb, []string{PostBudgetKeyPrefix + channel}, d.Milliseconds()).Err(); err != nil {
		c.log.Warn().Err(err).Str("channel", channel).Msg("cannot share a 429 through the post budget")
	}
}
