package bgtasks

import (
	"context"
	"testing"
	"time"

	"github.com/gophers/gopherbot/internal/redistest"
)

func TestLease(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	const ttl = 5 * time.Second
	a := NewLease(rdb, "test:lease", ttl)
	b := NewLease(rdb, "test:lease", ttl)
	if a.Token() == b.Token() {
		t.Fatal("two leases got the same token")
	}

	must := func(ok bool, err error) bool {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	acquire := func(l *Lease) (bool, time.Duration) {
		t.Helper()
		held, wait, err := l.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return held, wait
	}

	if held, _ := acquire(a); !held {
		t.Fatal("a could not take a free lease")
	}
	if held, _ := acquire(a); !held {
		t.Fatal("a could not take again the lease it holds")
	}
	held, wait := acquire(b)
	if held {
		t.Fatal("b took a lease a holds")
	}
	if wait <= 0 || wait > ttl {
		t.Errorf("b told to wait %v; want the holder's remaining time, in (0, %v]", wait, ttl)
	}
	if must(b.Renew(ctx)) {
		t.Error("b renewed a lease it does not hold")
	}
	if must(b.Release(ctx)) {
		t.Error("b released a lease it does not hold")
	}
	if !must(a.Renew(ctx)) {
		t.Error("a could not renew its lease")
	}
	if pttl := rdb.PTTL(ctx, "test:lease").Val(); pttl <= ttl-time.Second {
		t.Errorf("after renewal the key lives %v; want about %v", pttl, ttl)
	}

	// Release tells the standbys.
	sub := rdb.Subscribe(ctx, ReleasedChannel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if !must(a.Release(ctx)) {
		t.Fatal("a could not release its lease")
	}
	select {
	case <-sub.Channel():
	case <-time.After(5 * time.Second):
		t.Fatal("no message on the released channel")
	}
	if must(a.Renew(ctx)) {
		t.Error("a renewed a lease it released")
	}
	if held, _ := acquire(b); !held {
		t.Error("b could not take the released lease")
	}
}

func TestLeaseLapses(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	a := NewLease(rdb, "test:lease", 100*time.Millisecond)
	b := NewLease(rdb, "test:lease", 100*time.Millisecond)
	if held, _, err := a.Acquire(ctx); err != nil || !held {
		t.Fatalf("a.Acquire = %v, %v", held, err)
	}
	waitFor(t, 5*time.Second, "the lease to lapse", func() bool { return rdb.Exists(ctx, "test:lease").Val() == 0 })
	if held, _, err := b.Acquire(ctx); err != nil || !held {
		t.Fatalf("b.Acquire after a's lease lapsed = %v, %v", held, err)
	}
	if ok, err := a.Renew(ctx); err != nil || ok {
		t.Errorf("a.Renew after its lease lapsed and b took it = %v, %v; want false", ok, err)
	}
}
