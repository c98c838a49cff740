package welcomed

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/redistest"
)

func TestClaimOnce(t *testing.T) {
	srv := redistest.Start(t)
	s := New(srv.Client())
	ctx := context.Background()

	// The consumer and the sweep race for the same newcomer: one wins.
	var wg sync.WaitGroup
	wins := make(chan bool, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.Claim(ctx, "U1")
			if err != nil {
				t.Error(err)
			}
			wins <- ok
		}()
	}
	wg.Wait()
	close(wins)
	n := 0
	for ok := range wins {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d claims won, want 1", n)
	}
	if ok, _ := s.Has(ctx, "U1"); !ok {
		t.Error("Has(U1) = false after a claim")
	}

	// A welcome that could not be sent is released and can be claimed again.
	if err := s.Release(ctx, "U1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Has(ctx, "U1"); ok {
		t.Error("Has(U1) = true after Release")
	}
	if ok, err := s.Claim(ctx, "U1"); !ok || err != nil {
		t.Errorf("Claim after Release = %v, %v; want true", ok, err)
	}
}

func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	s := New(srv.Client())
	srv.Stop()
	if _, err := s.Claim(context.Background(), "U1"); err == nil || errors.Unwrap(err) == nil {
		t.Errorf("Claim with Redis down: err = %v, want a wrapped error", err)
	}
}

// A claim whose reply was lost, sent again by go-redis, is won: the retry
// finds the record its first send wrote.
func TestClaimReplyLost(t *testing.T) {
	srv := redistest.Start(t)
	p := srv.NewCutProxy(t)
	s := New(p.Client())
	ctx := context.Background()
	if err := claim.Load(ctx, srv.Client()).Err(); err != nil {
		t.Fatal(err)
	}
	p.Arm("evalsha", claim.Hash(), "UCUT")
	ok, err := s.Claim(ctx, "UCUT")
	if p.Cuts() != 1 {
		t.Fatalf("the proxy cut %d replies; want the claim's", p.Cuts())
	}
	if err != nil || !ok {
		t.Fatalf("Claim with its reply lost = %v, %v; want true: nobody else claimed UCUT", ok, err)
	}
	if ok, err := New(srv.Client()).Claim(ctx, "UCUT"); err != nil || ok {
		t.Errorf("another Claim(UCUT) = %v, %v; want false", ok, err)
	}
	// The claim is ours to give back.
	if err := s.Release(ctx, "UCUT"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Has(ctx, "UCUT"); ok {
		t.Error("Has(UCUT) = true after Release")
	}
}

// A record written before claims had tokens (the time alone) is a claim.
func TestOldFormatClaimHonoured(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	if err := rdb.HSet(ctx, Key, "UOLD", "1700000000").Err(); err != nil {
		t.Fatal(err)
	}
	s := New(rdb)
	if ok, err := s.Claim(ctx, "UOLD"); err != nil || ok {
		t.Errorf("Claim over an old record = %v, %v; want false", ok, err)
	}
	if ok, _ := s.Has(ctx, "UOLD"); !ok {
		t.Error("Has(UOLD) = false for an old record")
	}
}

// Release gives back only a claim this Store made and still holds: not
// someone else's claim made after ours went, nor one it never made.
func TestReleaseOnlyOwnClaim(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := New(srv.Client()), New(srv.Client())
	if ok, err := a.Claim(ctx, "U1"); err != nil || !ok {
		t.Fatalf("a.Claim = %v, %v", ok, err)
	}
	if err := b.Release(ctx, "U1"); !errors.Is(err, ErrNotHeld) {
		t.Errorf("b.Release of a's claim = %v; want ErrNotHeld", err)
	}
	if ok, _ := a.Has(ctx, "U1"); !ok {
		t.Fatal("b's Release removed a's claim")
	}

	// a's record is replaced by another (its release ran, and b claimed
	// since): a late release by a leaves b's claim alone.
	if err := srv.Client().HSet(ctx, Key, "U1", "1700000000 someone-else").Err(); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, "U1"); err != nil {
		t.Fatal(err)
	}
	if got := srv.Client().HGet(ctx, Key, "U1").Val(); got != "1700000000 someone-else" {
		t.Errorf("record after a's late release = %q; want the other claim's", got)
	}
}

// A claim whose reply was lost and whose error reached the caller (go-redis
// did not, or could not, send it again) is still this Store's: the caller
// retries the welcome (the consumer's queue retries the event, the next
// sweep the member), and that retry must win, or nobody ever welcomes them.
func TestClaimRetriedAfterError(t *testing.T) {
	srv := redistest.Start(t)
	p := srv.NewCutProxy(t)
	noRetry := redis.NewClient(&redis.Options{Addr: p.Client().Options().Addr, MaxRetries: -1})
	t.Cleanup(func() { noRetry.Close() })
	s := New(noRetry)
	ctx := context.Background()
	if err := claim.Load(ctx, srv.Client()).Err(); err != nil {
		t.Fatal(err)
	}
	p.Arm("evalsha", claim.Hash(), "UCUT")
	if ok, err := s.Claim(ctx, "UCUT"); err == nil {
		t.Fatalf("Claim with its reply cut and no retry = %v, nil; want an error", ok)
	}
	if p.Cuts() != 1 {
		t.Fatalf("the proxy cut %d replies; want the claim's", p.Cuts())
	}
	if ok, _ := srv.Client().HExists(ctx, Key, "UCUT").Result(); !ok {
		t.Fatal("the cut claim did not reach Redis; the test proves nothing")
	}
	if ok, err := s.Claim(ctx, "UCUT"); err != nil || !ok {
		t.Fatalf("the retry of a claim whose reply was lost = %v, %v; want true: nobody else claimed UCUT", ok, err)
	}
	if ok, err := New(srv.Client()).Claim(ctx, "UCUT"); err != nil || ok {
		t.Errorf("another Store's Claim(UCUT) = %v, %v; want false", ok, err)
	}
	if err := s.Release(ctx, "UCUT"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Has(ctx, "UCUT"); ok {
		t.Error("Has(UCUT) = true after Release")
	}
}

// Claims that keep failing (Redis down through many sweeps and queue
// retries) must not pile up a record each: at most one of them can have
// been written, and each retry that sends the same record again recognises
// it. The Store remembers one record per user, not one per attempt.
func TestFailedClaimsDoNotPileUp(t *testing.T) {
	srv := redistest.Start(t)
	addr := srv.Client().Options().Addr
	srv.Stop()
	down := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { down.Close() })
	s := New(down)
	ctx := context.Background()
	for range 5 {
		if _, err := s.Claim(ctx, "UDOWN"); err == nil {
			t.Fatal("Claim with Redis down succeeded")
		}
	}
	s.mu.Lock()
	n := len(s.unknown["UDOWN"])
	s.mu.Unlock()
	if n > 1 {
		t.Errorf("5 failed claims left %d records to send with the next one; want 1", n)
	}
}

// A release that failed (Redis did not answer in time) leaves this Store's
// claim in the record, though its welcome was never sent. The retry of the
// welcome (the queue's retry of the event, the next sweep) must win that
// claim back, or the member is never welcomed: everyone else reads the
// record as "already welcomed".
func TestClaimAfterFailedRelease(t *testing.T) {
	srv := redistest.Start(t)
	s := New(srv.Client())
	ctx := context.Background()
	if ok, err := s.Claim(ctx, "U1"); err != nil || !ok {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	timedOut, cancel := context.WithCancel(ctx)
	cancel()
	for range 2 { // the caller may try the release again
		if err := s.Release(timedOut, "U1"); err == nil {
			t.Fatal("Release with its context done succeeded")
		}
	}
	s.mu.Lock()
	n := len(s.unknown["U1"])
	s.mu.Unlock()
	if n != 1 {
		t.Errorf("two failed releases of one claim left %d records to send with the next claim; want 1", n)
	}
	if ok, _ := s.Has(ctx, "U1"); !ok {
		t.Fatal("the failed release removed the claim; the test proves nothing")
	}
	if ok, err := New(srv.Client()).Claim(ctx, "U1"); err != nil || ok {
		t.Errorf("another Store's Claim(U1) = %v, %v; want false: the claim is still ours", ok, err)
	}
	if ok, err := s.Claim(ctx, "U1"); err != nil || !ok {
		t.Fatalf("the retry after a failed release = %v, %v; want true: the welcome was never sent", ok, err)
	}
	if err := s.Release(ctx, "U1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Has(ctx, "U1"); ok {
		t.Error("Has(U1) = true after Release")
	}
}

// A failed release whose command did reach Redis gave the claim back, and
// someone else may have claimed the member since: the retry must not take
// their claim for ours.
func TestClaimAfterReleaseReplyLost(t *testing.T) {
	srv := redistest.Start(t)
	p := srv.NewCutProxy(t)
	noRetry := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1})
	t.Cleanup(func() { noRetry.Close() })
	s := New(noRetry)
	ctx := context.Background()
	if err := release.Load(ctx, srv.Client()).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Claim(ctx, "U1"); err != nil || !ok {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	p.Arm("evalsha", release.Hash(), "U1")
	if err := s.Release(ctx, "U1"); err == nil {
		t.Fatal("Release with its reply cut and no retry succeeded")
	}
	if ok, _ := srv.Client().HExists(ctx, Key, "U1").Result(); ok {
		t.Fatal("the cut release did not reach Redis; the test proves nothing")
	}
	if ok, err := New(srv.Client()).Claim(ctx, "U1"); err != nil || !ok {
		t.Fatalf("another Store's Claim(U1) = %v, %v; want true", ok, err)
	}
	if ok, err := s.Claim(ctx, "U1"); err != nil || ok {
		t.Errorf("the retry after a released claim was taken = %v, %v; want false", ok, err)
	}
}
