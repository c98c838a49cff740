package consumer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// EffectsTTL is how long the record of an event's effects is kept. It must
// outlive every redelivery of the event: the queue gives up on an entry after
// a few attempts spread over minutes, and Slack stops retrying after about
// five minutes, so a day is far more than needed and still cheap.
const EffectsTTL = 24 * time.Hour

// effectsPrefix is the key prefix of the per-event effect records.
const effectsPrefix = "gopherbot:effects:"

// States of an effect in its event's record.
const (
	effectInflight = "inflight"
	effectDone     = "done"
)

// ledger remembers, per event, which effects (Slack calls with a visible
// result) were started or completed, so that a redelivered event does not
// repeat them.
//
// An event's handlers are deterministic: the same event makes the same calls
// in the same order (Message.Rand is seeded by the event ID). So the n-th
// effect of one handling is the n-th effect of any other handling of the
// same event, and its position is the effect's identity. The position is
// counted per handler run by the Mux (its Route, such as "command help"),
// not across the whole message: the Mux runs every handler of a message even
// when an earlier one failed, so a handler that fails before its effect on
// one attempt and makes it on the next must not shift the numbers of the
// handlers after it. The field of an effect is "<route>#<n>".
//
// The protocol for one effect:
//
//  1. claim: HSETNX field "inflight <token> <what>", with a token of this
//     claim. If the field exists with another value, the effect was done, or
//     started by a consumer that may have done it: skip it. If it holds our
//     own token, the claim's reply was lost and go-redis sent it again: the
//     claim is ours.
//  2. make the Slack call.
//  3. on success: HSET field "done <what>". When the call certainly did not
//     happen (Slack refused it, with an error code, a 429, a 503 or a 4xx,
//     or the request never went out), HDEL field, so that the queue's retry
//     makes the call again. When Slack may have acted on it
//     (slackapi.ErrOutcomeUnknown: the answer was lost, cut off by the
//     deadline, or a 500), the claim stays. A reaction, and the opening of
//     a DM before its post, are not such calls: made twice they show once,
//     so the responder releases them like a call that did not happen.
//
// The window that remains: a consumer that dies (or loses Redis, or runs out
// of time) after the claim and before it learns Slack's answer, or whose
// call's outcome is unknown, leaves the effect "inflight"; every later
// handling skips it. That effect is lost if Slack never made it, and never
// doubled if it did: effects happen at most once, as DESIGN.md asks, not
// exactly once.
//
// One more case is closed within a process: a claim whose reply was lost
// for good (go-redis gave up, or the deadline came) fails, though Redis may
// have written it. The ledger keeps that claim's value, and this process's
// next claim of the same effect (the queue's retry) sends the same value
// again, so that it finds its own claim instead of taking it for another
// handling's and skipping an effect nobody made.
type ledger struct {
	rdb  redis.UniversalClient
	lost *lostClaims
}

// newLedger returns the ledger kept in rdb.
func newLedger(rdb redis.UniversalClient) ledger {
	return ledger{rdb: rdb, lost: &lostClaims{m: map[string]lostClaim{}}}
}

// lostClaimTTL is how long a claim whose reply was lost is remembered: the
// queue retries an event within minutes.
const lostClaimTTL = time.Hour

// lostClaims are the values of claims that failed without an answer, by
// event and field.
type lostClaims struct {
	mu sync.Mutex
	m  map[string]lostClaim
}

type lostClaim struct {
	value string
	at    time.Time
}

// take returns the value a failed claim of key sent, and forgets it while
// the caller's claim is in flight (a concurrent claim of the same effect
// must not win with it too).
func (l *lostClaims) take(key string) (string, bool) {
	if l == nil {
		return "", false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.m[key]
	delete(l.m, key)
	return c.value, ok && time.Since(c.at) < lostClaimTTL
}

// put remembers the value of a claim of key that failed without an answer.
func (l *lostClaims) put(key, value string) {
	if l == nil {
		return
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, c := range l.m {
		if now.Sub(c.at) >= lostClaimTTL {
			delete(l.m, k)
		}
	}
	l.m[key] = lostClaim{value: value, at: now}
}

// claim reports whether the caller owns the effect field of event and must
// make it; false means a previous handling already made or started it, and
// prev is the state it left.
func (l ledger) claim(ctx context.Context, event, field, what string) (ok bool, prev string, err error) {
	key := effectsPrefix + event
	lostKey := event + "\x00" + field
	mine, again := l.lost.take(lostKey)
	if !again {
		mine = effectInflight + " " + claimToken() + " " + what
	}
	var set *redis.BoolCmd
	var get *redis.StringCmd
	// One round trip; MULTI so that the expiry is set with the first claim
	// even if the connection breaks in between.
	_, err = l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		set = p.HSetNX(ctx, key, field, mine)
		p.Expire(ctx, key, EffectsTTL)
		get = p.HGet(ctx, key, field)
		return nil
	})
	if err != nil {
		// Redis may have written it: the next claim of this effect sends
		// the same value, to know it for ours.
		l.lost.put(lostKey, mine)
		return false, "", fmt.Errorf("effects: claim %s %s: %w", event, field, err)
	}
	if set.Val() || get.Val() == mine {
		return true, "", nil
	}
	return false, get.Val(), nil
}

// claimToken returns a random token that tells one claim from any other.
func claimToken() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// done records that the effect field of event happened.
func (l ledger) done(ctx context.Context, event, field, what string) error {
	if err := l.rdb.HSet(ctx, effectsPrefix+event, field, effectDone+" "+what).Err(); err != nil {
		// The claim stays "inflight", which later handlings skip just the same.
		return fmt.Errorf("effects: done %s %s: %w", event, field, err)
	}
	return nil
}

// release forgets the claim of an effect that did not happen, so that a
// retry makes it.
func (l ledger) release(ctx context.Context, event, field string) error {
	if err := l.rdb.HDel(ctx, effectsPrefix+event, field).Err(); err != nil {
		return fmt.Errorf("effects: release %s %s: %w", event, field, err)
	}
	return nil
}

// messagePrefix is the key prefix of the record of which event answers a
// message that comes as two events (see claimMessage).
const messagePrefix = "gopherbot:effects:message:"

// claimMessage makes event the one that answers the message at channel
// and ts, unless another event already is: a message that mentions the
// bot in a group DM may come both as a message event and as an
// app_mention, with different event IDs and so different effect records.
// It reports whether event answers it, and otherwise which event does.
// The value is the event itself, so that a claim whose reply was lost is
// recognised as its own by the event's retry, in any process.
//
// The claim is never given back, not even when the event fails for good:
// the twins have separate effect records, so the twin answering in its
// place could repeat an effect the first made before it failed, and it
// would mostly meet the same failure. A requeued dead letter keeps its
// event ID, and so its claim.
func (l ledger) claimMessage(ctx context.Context, channel, ts, event string) (ok bool, owner string, err error) {
	key := messagePrefix + channel + ":" + ts
	var get *redis.StringCmd
	_, err = l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, key, event, EffectsTTL)
		get = p.Get(ctx, key)
		return nil
	})
	if err != nil {
		return false, "", fmt.Errorf("effects: claim message %s %s: %w", channel, ts, err)
	}
	return get.Val() == event, get.Val(), nil
}

// effectField names the n-th effect of the handler run route.
func effectField(route string, n int) string {
	return route + "#" + strconv.Itoa(n)
}
