package redistest

import (
	"context"
	"strings"
	"testing"
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
