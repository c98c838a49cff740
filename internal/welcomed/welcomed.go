// Package welcomed records which members got the welcome DM, so that the
// consumer (on team_join) and the bgtasks catch-up sweep never both welcome
// the same person.
package welcomed

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key is the Redis hash of welcomed members: user ID -> Unix time of the claim.
const Key = "gopherbot:welcomed"

// Store is the record.
type Store struct{ rdb redis.UniversalClient }

// New returns the record kept in rdb.
func New(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// Claim records that user is being welcomed now. It reports false when
// someone already claimed them: the caller must then not send the welcome.
// Claiming before sending means a crash between the two loses a welcome
// rather than sending it twice.
func (s *Store) Claim(ctx context.Context, user string) (bool, error) {
	ok, err := s.rdb.HSetNX(ctx, Key, user, time.Now().Unix()).Result()
	if err != nil {
		return false, fmt.Errorf("welcomed: claim %s: %w", user, err)
	}
	return ok, nil
}

// Release forgets a claim whose welcome could not be sent, so that a retry
// may send it.
func (s *Store) Release(ctx context.Context, user string) error {
	if err := s.rdb.HDel(ctx, Key, user).Err(); err != nil {
		return fmt.Errorf("welcomed: release %s: %w", user, err)
	}
	return nil
}

// Has reports whether user was welcomed.
func (s *Store) Has(ctx context.Context, user string) (bool, error) {
	ok, err := s.rdb.HExists(ctx, Key, user).Result()
	if err != nil {
		return false, fmt.Errorf("welcomed: %w", err)
	}
	return ok, nil
}
