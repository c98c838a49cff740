package redistest

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	c := s.Client()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered after Stop")
	}
	s.Restart()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	if n, _ := c.Exists(ctx, "k").Result(); n != 0 {
		t.Error("data survived a restart with persistence off")
	}
}

// TestPortTakenByAnotherServer is the race where another test's server took
// the port between choosing it and binding it: the new server must notice
// that the one answering is not its own.
func TestPortTakenByAnotherServer(t *testing.T) {
	a := Start(t)
	b := &Server{tb: t, dir: t.TempDir(), Addr: a.Addr}
	err := b.tryStart()
	if err == nil {
		b.kill()
		t.Fatal("tryStart on a taken port succeeded")
	}
	if !strings.Contains(err.Error(), a.Addr) {
		t.Errorf("error %q does not name the address", err)
	}
	if err := a.Client().Ping(context.Background()).Err(); err != nil {
		t.Errorf("the other server was harmed: %v", err)
	}
}

// TestTLS: a TLS server answers its own client, and refuses a plain
// connection and a client without the password.
func TestTLS(t *testing.T) {
	s := StartTLS(t)
	if !strings.HasPrefix(s.URL(), "rediss://:") {
		t.Errorf("URL() = %q, want rediss:// with a password", s.URL())
	}
	ctx := context.Background()
	if err := s.Client().Ping(ctx).Err(); err != nil {
		t.Fatalf("PING over TLS: %v", err)
	}
	plain := redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.password, MaxRetries: -1})
	defer plain.Close()
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Error("PING without TLS answered")
	}
	o := s.options()
	o.Password = ""
	anon := redis.NewClient(o)
	defer anon.Close()
	if err := anon.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("PING without the password: %v, want NOAUTH", err)
	}
	s.Stop()
	s.Restart()
	if err := s.Client().Ping(ctx).Err(); err != nil {
		t.Fatalf("PING over TLS after a restart: %v", err)
	}
}
