package redistest

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// CutProxy forwards TCP to a Redis server. Once armed, the first command
// whose bytes contain every armed string reaches Redis and runs, but its
// reply is dropped and the connection cut, as a connection reset or a
// failover does; go-redis then sends the command again on a new
// connection. It tests code that must not take its own retried command
// for someone else's.
type CutProxy struct {
	t    testing.TB
	addr string

	mu    sync.Mutex
	armed [][]byte
	cuts  int
}

// NewCutProxy starts a proxy to s, stopped when the test ends.
func (s *Server) NewCutProxy(t testing.TB) *CutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &CutProxy{t: t, addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.serve(c, s.Addr) })
		}
	})
	return p
}

// Addr is the proxy's address, for clients with options of their own.
func (p *CutProxy) Addr() string { return p.addr }

// Client returns a client that talks to Redis through the proxy, closed
// when the test ends.
func (p *CutProxy) Client() *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: p.addr})
	p.t.Cleanup(func() { rdb.Close() })
	return rdb
}

// Arm makes the next command that contains every one of match
// (case-insensitively) lose its reply.
func (p *CutProxy) Arm(match ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = nil
	for _, m := range match {
		p.armed = append(p.armed, bytes.ToLower([]byte(m)))
	}
}

// Cuts is how many commands lost their reply.
func (p *CutProxy) Cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

// hit reports whether chunk is the armed command, and disarms.
func (p *CutProxy) hit(chunk []byte) bool {
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

func (p *CutProxy) serve(c net.Conn, upstream string) {
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
		chunk := buf[:n]
		if p.hit(chunk) {
			dropping.Store(true)
			u.Write(chunk)
			select {
			case <-replied:
			case <-done:
			case <-time.After(10 * time.Second):
				p.t.Error("redistest: cut proxy: no reply from Redis to the armed command within 10s")
			}
			return // both connections close: the client sees its connection reset
		}
		if _, err := u.Write(chunk); err != nil {
			return
		}
	}
}
