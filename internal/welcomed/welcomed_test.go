package welcomed

import (
	"context"
	"errors"
	"sync"
	"testing"

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
