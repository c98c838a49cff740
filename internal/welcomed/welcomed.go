// Package welcomed records which members got the welcome DM, so that the
// consumer (on team_join) and the bgtasks catch-up sweep never both welcome
// the same person.
//
// Each claim carries a random token of its own, so that a claim is
// idempotent: go-redis sends a command again when the connection broke
// before its reply came, and the retry of a claim that the first send made
// finds its own token and still wins, where a bare "set if absent" would
// read "someone else has them" and nobody would welcome them. The token
// also lets Release give back only the claim this Store made.
//
// When the reply is lost for good (go-redis gave up, or the context ended),
// Claim fails without knowing whether its record was written. The Store
// keeps that record, and the next Claim of the same user (the queue's retry
// of the event, or the next sweep) sends the same record again, so that a
// claim which did land is still recognised as ours.
package welcomed

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key is the Redis hash of welcomed members: user ID -> "<unix> <token>",
// the Unix time of the claim and its random token. Records written before
// claims had tokens hold the time alone; they are claims all the same.
const Key = "gopherbot:welcomed"

// heldFor is how long a Store remembers the token of a claim it won, for
// Release. Callers release within seconds, when the DM failed; a claim
// kept longer is a welcome that was sent, or one whose outcome is unknown.
const heldFor = time.Hour

// ErrNotHeld is wrapped by Release's error when this Store holds no claim
// on the user (it never claimed them, or claimed them over an hour ago).
var ErrNotHeld = errors.New("no claim of this store to release")

// Store is the record. It is safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient

	mu      sync.Mutex
	held    map[string]held   // user -> the claim this Store won
	unknown map[string][]held // user -> claims whose outcome is not known, or whose release failed
}

type held struct {
	record string
	at     time.Time
}

// New returns the record kept in rdb.
func New(rdb redis.UniversalClient) *Store {
	return &Store{rdb: rdb, held: map[string]held{}, unknown: map[string][]held{}}
}

// claim sets the user's record unless it is there; a record equal to one
// of ours is our own claim, its first reply lost.
//
// KEYS[1] Key; ARGV[1] user, ARGV[2] the record to write, ARGV[2:] our
// records whose claims got no answer (the one to write among them).
// Returns the index in ARGV of the record that is ours, or 0 when the
// claim is someone else's.
var claim = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 2
end
for i = 2, #ARGV do
  if v == ARGV[i] then return i end
end
return 0
`)

// release deletes the user's record when it is ours. A record already
// gone counts as released: a retry of a release whose reply was lost.
//
// KEYS[1] Key; ARGV[1] user, ARGV[2] our record. Returns 0 when the record
// is someone else's and was left alone.
var release = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
if not v then return 1 end
return 0
`)

// Claim records that user is being welcomed now. It reports false when
// someone already claimed them: the caller must then not send the welcome.
// Claiming before sending means a crash between the two loses a welcome
// rather than sending it twice.
func (s *Store) Claim(ctx context.Context, user string) (bool, error) {
	now := time.Now()
	s.mu.Lock()
	for u, h := range s.held {
		if now.Sub(h.at) > heldFor {
			delete(s.held, u)
		}
	}
	for u, hs := range s.unknown {
		if now.Sub(hs[0].at) > heldFor { // hs[0]: the latest attempt
			delete(s.unknown, u)
		}
	}
	// Claims that failed without an answer may have been written: they
	// go along, so that the record of one that was is recognised as ours.
	// They are taken out while in flight, so that a concurrent Claim of
	// the same user cannot win with them too.
	earlier := s.unknown[user]
	delete(s.unknown, user)
	s.mu.Unlock()
	// A retry writes the first of them rather than a record of its own:
	// of claims that all failed, at most one can have been written, so
	// attempts that keep failing (Redis down for many sweeps) leave one
	// record to remember, not one each.
	records := earlier
	if len(records) == 0 {
		records = []held{{record: strconv.FormatInt(now.Unix(), 10) + " " + rand.Text()}}
	}
	for i := range records {
		records[i].at = now // the latest attempt
	}
	args := []any{user}
	for _, h := range records {
		args = append(args, h.record)
	}

	n, err := claim.Run(ctx, s.rdb, []string{Key}, args...).Int()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Latest first: a concurrent Claim's failed records stay too.
		s.unknown[user] = append(records, s.unknown[user]...)
		return false, fmt.Errorf("welcomed: claim %s: %w", user, err)
	}
	if n < 2 || n-2 >= len(records) {
		return false, nil
	}
	s.held[user] = held{record: records[n-2].record, at: now}
	return true, nil
}

// Release forgets a claim of this Store whose welcome could not be sent, so
// that a retry may send it. A claim that is no longer ours (someone else
// claimed the user after ours was given back) is left alone. When Release
// fails, the next Claim of the user by this Store still wins the claim back
// if it is the one in the record.
func (s *Store) Release(ctx context.Context, user string) error {
	s.mu.Lock()
	h, ok := s.held[user]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("welcomed: release %s: %w", user, ErrNotHeld)
	}
	if err := release.Run(ctx, s.rdb, []string{Key}, user, h.record).Err(); err != nil {
		// The record may still be there, and with it everyone would read
		// the member as welcomed. It goes along with the next Claim, like
		// a claim whose answer was lost: the welcome was never sent, so
		// the retry may win it back.
		s.mu.Lock()
		rest := slices.DeleteFunc(s.unknown[user], func(u held) bool { return u.record == h.record })
		s.unknown[user] = append([]held{{record: h.record, at: time.Now()}}, rest...)
		s.mu.Unlock()
		return fmt.Errorf("welcomed: release %s: %w", user, err)
	}
	s.mu.Lock()
	if s.held[user] == h {
		delete(s.held, user)
	}
	s.mu.Unlock()
	return nil
}

// claimedAtChunk is how many users one HMGET of ClaimedAt asks for.
const claimedAtChunk = 500

// ClaimedAt reads when each of users was claimed, in one round trip; users
// nobody claimed are not in the map. A record that does not start with a
// time (one written before records carried it) is a claim of unknown age:
// the zero time.
func (s *Store) ClaimedAt(ctx context.Context, users []string) (map[string]time.Time, error) {
	pipe := s.rdb.Pipeline()
	var cmds []*redis.SliceCmd
	for c := range slices.Chunk(users, claimedAtChunk) {
		cmds = append(cmds, pipe.HMGet(ctx, Key, c...))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("welcomed: read claims: %w", err)
	}
	out := map[string]time.Time{}
	i := 0
	for _, cmd := range cmds {
		for _, v := range cmd.Val() {
			u := users[i]
			i++
			rec, ok := v.(string)
			if !ok {
				continue // nobody claimed them
			}
			var at time.Time
			if f := strings.Fields(rec); len(f) > 0 {
				if sec, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					at = time.Unix(sec, 0)
				}
			}
			out[u] = at
		}
	}
	return out, nil
}

// Has reports whether user was welcomed.
func (s *Store) Has(ctx context.Context, user string) (bool, error) {
	ok, err := s.rdb.HExists(ctx, Key, user).Result()
	if err != nil {
		return false, fmt.Errorf("welcomed: %w", err)
	}
	return ok, nil
}
