package bgtasks

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// claimTokenTTL is how long the token of a claim in a sorted set is kept.
// It only has to outlive the claim's own retries (go-redis repeats a
// command whose reply was lost at once) and the post that follows, whose
// failure may release the claim: PostTimeout, 30s by default.
const claimTokenTTL = 24 * time.Hour

// A setClaim is an item taken, before it is posted, in the sorted set
// where a task records the items it has posted or seen (Gerrit's CLs, a
// feed's items): the item is the set's member. A random token, kept next to
// the set under the key set:claim:member, tells our claim from another's.
//
// The token makes the claim idempotent per attempt: go-redis sends a
// command again when the connection broke before its reply came, and when
// the first send had already added the member, the retry finds it there.
// Without the token that retry would read as "someone else claimed it" and
// nobody would post the item. A member without a token (recorded by a
// first run, posted long ago, or claimed before claims had tokens) is
// someone else's claim.
type setClaim struct {
	set, member, token string
}

func (c setClaim) keys() []string { return []string{c.set, c.tokenKey()} }

// tokenKey is where the claim's token is kept; it also names the claim in
// claimTokens.
func (c setClaim) tokenKey() string { return c.set + ":claim:" + c.member }

// newClaim is a claim of member in set, with the token of an earlier claim
// of it whose outcome this replica does not know (see claimTokens).
func (r *Runner) newClaim(set, member string) setClaim {
	c := setClaim{set: set, member: member}
	c.token = r.tokens.take(c.tokenKey())
	return c
}

// claimItem takes c for an item with score. Once sent, the claim is not
// cut short by ctx: a claim that Redis made while we stopped listening
// (the lease lost, a shutdown) would hold the item with a token nobody
// knows, and nobody would ever post it. When its answer does not come all
// the same (go-redis gave up), its token is kept for the next claim of the
// item, which then finds the claim ours if it was made.
//
// A dry run takes nothing: the item is one to post when nobody holds it.
func (r *Runner) claimItem(ctx context.Context, c setClaim, score int64) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if r.opts.DryRun {
		err := r.rdb.ZScore(ctx, c.set, c.member).Err()
		if errors.Is(err, redis.Nil) {
			return true, nil
		}
		return false, err
	}
	cctx, cancel := releaseContext(ctx)
	defer cancel()
	ours, err := c.claim(cctx, r.rdb, score)
	if err != nil {
		r.tokens.keep(c.tokenKey(), c.token)
	}
	return ours, err
}

// claimMember adds the member with its score unless it is there, and then
// records the token; a member that is there with our token is ours (a
// retry of this very claim).
//
// KEYS[1] the set, KEYS[2] the token's key; ARGV[1] score, ARGV[2] member,
// ARGV[3] token, ARGV[4] the token's TTL in ms. Returns 1 when the claim is
// ours.
var claimMember = redis.NewScript(`
if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2]) == 1 then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  return 1
end
if redis.call('GET', KEYS[2]) == ARGV[3] then return 1 end
return 0
`)

// releaseMember removes the member when the claim is still ours. A member
// already gone with its token counts as released: a retry of a release
// whose reply was lost, after which someone else may have claimed the
// member anew, which the retry must leave alone.
//
// KEYS as claimMember; ARGV[1] member, ARGV[2] token. Returns 0 when the
// claim is someone else's and was left alone.
var releaseMember = redis.NewScript(`
local tok = redis.call('GET', KEYS[2])
if tok == ARGV[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
  return 1
end
if not tok and not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
return 0
`)

// claim takes the item with score; it reports false when someone else
// holds it.
func (c setClaim) claim(ctx context.Context, rdb redis.Scripter, score int64) (bool, error) {
	n, err := claimMember.Run(ctx, rdb, c.keys(), score, c.member, c.token, claimTokenTTL.Milliseconds()).Int()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// release gives the claim back, unless it is no longer ours; it reports
// whether it was ours.
func (c setClaim) release(ctx context.Context, rdb redis.Scripter) (bool, error) {
	n, err := releaseMember.Run(ctx, rdb, c.keys(), c.member, c.token).Int()
	if err != nil {
		return false, fmt.Errorf("release %s: %w", c.member, err)
	}
	return n == 1, nil
}

// releaser is deliver's release of the claim c of an item of task.
func (r *Runner) releaser(task string, c setClaim) func(context.Context) error {
	return func(ctx context.Context) error {
		ours, err := c.release(ctx, r.rdb)
		if err != nil {
			// The claim may still be there, ours: the next claim of the
			// item sends the same token, and finds it so.
			r.tokens.keep(c.tokenKey(), c.token)
		}
		if err == nil && !ours {
			r.log.Warn().Str("task", task).Str("item", c.member).Msg("the claim of an item that was not posted is someone else's now; left alone")
		}
		return err
	}
}

// claimTokens remembers, per claim (named by the key of its token), the
// token of a claim whose outcome this replica does not know: Redis may
// have made it without our hearing the answer, or kept it when we could
// not give it back after a post that went nowhere. The next claim of the
// same item sends the same token, so that a claim that is there is known
// for ours; with a fresh token it would read as someone else's, and
// nobody would ever post the item. A token is handed out once, and
// forgotten after claimTokenTTL, when Redis has forgotten it too.
type claimTokens struct {
	mu sync.Mutex
	m  map[string]keptToken
}

type keptToken struct {
	token string
	at    time.Time
}

// take returns the token for the claim named key: the one kept for it,
// which is forgotten, or a fresh one.
func (c *claimTokens) take(key string) string {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, t := range c.m {
		if now.Sub(t.at) > claimTokenTTL {
			delete(c.m, k)
		}
	}
	if t, ok := c.m[key]; ok {
		delete(c.m, key)
		return t.token
	}
	return rand.Text()
}

// has reports whether a token is kept for the claim named key.
func (c *claimTokens) has(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[key]
	return ok
}

// keep remembers token as that of the claim named key, whose outcome is
// not known.
func (c *claimTokens) keep(key, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]keptToken{}
	}
	c.m[key] = keptToken{token: token, at: time.Now()}
}
