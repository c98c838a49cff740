package bgtasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// LeaseKey holds the token of the replica that runs the background tasks.
const LeaseKey = "gopherbot:bgtasks:leader"

// ReleasedChannel is published to when a leader gives up its lease, so that
// standbys try at once instead of at their next poll.
const ReleasedChannel = "gopherbot:bgtasks:leader:released"

// A Lease is one replica's claim on LeaseKey. It is a plain Redis lock: a
// random token set with NX and a TTL, extended and deleted only by the holder
// of the token (compare-and-extend, compare-and-delete, in Lua so that the
// check and the change are one step). It does not fence: a leader that lost
// its lease may still finish a request it started. The tasks do not rely on
// the lease for correctness; each item they post is claimed in Redis first,
// so two leaders at once would still post it once. The lease is what keeps
// the work, and the calls to Slack and Gerrit, in one place.
type Lease struct {
	rdb   redis.UniversalClient
	key   string
	token string
	ttl   time.Duration
}

// NewLease returns a lease on key with a fresh random token.
func NewLease(rdb redis.UniversalClient, key string, ttl time.Duration) *Lease {
	var b [16]byte
	rand.Read(b[:])
	return &Lease{rdb: rdb, key: key, token: hex.EncodeToString(b[:]), ttl: ttl}
}

// Token is this replica's token.
func (l *Lease) Token() string { return l.token }

// acquireScript takes the key when it is free, or extends it when this
// token already holds it (a retry after a lost reply must not lock us out).
// Otherwise it returns the holder's remaining time in milliseconds, negated,
// so the caller can come back just when it lapses.
var acquireScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return -ttl
`)

var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[1])
  return 1
end
return 0
`)

// Acquire tries to take the lease. When another replica holds it, held is
// false and wait is how long its lease has left.
func (l *Lease) Acquire(ctx context.Context) (held bool, wait time.Duration, err error) {
	n, err := acquireScript.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int64()
	if err != nil {
		return false, 0, fmt.Errorf("lease: acquire: %w", err)
	}
	if n == 1 {
		return true, 0, nil
	}
	return false, time.Duration(-n) * time.Millisecond, nil
}

// Renew extends the lease by its TTL when this token still holds it. It
// reports false when the lease was lost (it lapsed, and maybe someone else
// took it).
func (l *Lease) Renew(ctx context.Context) (bool, error) {
	n, err := renewScript.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int64()
	if err != nil {
		return false, fmt.Errorf("lease: renew: %w", err)
	}
	return n == 1, nil
}

// Release gives the lease up when this token holds it and tells standbys.
func (l *Lease) Release(ctx context.Context) (bool, error) {
	n, err := releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token, ReleasedChannel).Int64()
	if err != nil {
		return false, fmt.Errorf("lease: release: %w", err)
	}
	return n == 1, nil
}
