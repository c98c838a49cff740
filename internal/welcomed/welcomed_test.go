package welcomed

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	p := startCutProxy(t, srv.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: p.addr})
	t.Cleanup(func() { rdb.Close() })
	s := New(rdb)
	ctx := context.Background()
	if err := claim.Load(ctx, srv.Client()).Err(); err != nil {
		t.Fatal(err)
	}
	p.arm("evalsha", claim.Hash(), "UCUT")
	ok, err := s.Claim(ctx, "UCUT")
	if p.cutCount() != 1 {
		t.Fatalf("the proxy cut %d replies; want the claim's", p.cutCount())
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

// cutProxy forwards TCP to Redis. Once armed, the first command whose
// bytes contain every armed string reaches Redis and runs, but its reply
// is dropped and the connection cut.
type cutProxy struct {
	t    *testing.T
	addr string

	mu    sync.Mutex
	armed [][]byte
	cuts  int
}

func startCutProxy(t *testing.T, upstream string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{t: t, addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.serve(c, upstream) })
		}
	})
	return p
}

func (p *cutProxy) arm(match ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = nil
	for _, m := range match {
		p.armed = append(p.armed, bytes.ToLower([]byte(m)))
	}
}

func (p *cutProxy) cutCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

func (p *cutProxy) hit(chunk []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.armed) == 0 {
		return false
	}
	lower := bytes.ToLower(chunk)
	for _, m := range p.armed {
		if !bytes.Contains(lower, m) {
			return false
		}
	}
	p.armed = nil
	p.cuts++
	return true
}

func (p *cutProxy) serve(c net.Conn, upstream string) {
	defer c.Close()
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer u.Close()
	var dropping atomic.Bool
	replied := make(chan struct{}) // closed when the dropped reply came: the command ran
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := u.Read(buf)
			if n > 0 && dropping.Load() {
				close(replied)
				return
			}
			if n > 0 {
				c.Write(buf[:n])
			}
			if err != nil {
				c.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if p.hit(buf[:n]) {
			dropping.Store(true)
			u.Write(buf[:n])
			select {
			case <-replied:
			case <-done:
			case <-time.After(10 * time.Second):
				p.t.Error("cut proxy: no reply from Redis to the armed command within 10s")
			}
			return
		}
		if _, err := u.Write(buf[:n]); err != nil {
			return
		}
	}
}
