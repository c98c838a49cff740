package heartbeat_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/heartbeat"
	"github.com/gophers/gopherbot/internal/redistest"
)

func TestLostAndBack(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()

	lost := make(chan error, 1)
	back := make(chan struct{}, 1)
	m := heartbeat.New(heartbeat.Redis(rdb), heartbeat.Options{
		Limit:    300 * time.Millisecond,
		Interval: 30 * time.Millisecond,
		OnLost:   func(err error) { lost <- err },
		OnBack:   func() { back <- struct{}{} },
	}, zerolog.Nop())

	if m.Ready() {
		t.Fatal("Ready before any ping: want false")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "first answer", m.Ready)

	stopped := time.Now()
	srv.Stop()
	select {
	case err := <-lost:
		if err == nil {
			t.Error("OnLost got a nil error")
		}
		// The limit runs from the last answered ping, which came at most
		// one interval before the stop.
		if d := time.Since(stopped); d < 300*time.Millisecond-30*time.Millisecond {
			t.Errorf("OnLost after %v: before the 300ms limit", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnLost not called within 5s of stopping Redis")
	}
	if m.Ready() {
		t.Error("Ready after the limit: want false")
	}
	if err := m.Err(); !errors.Is(err, heartbeat.ErrNoAnswer) {
		t.Errorf("Err() = %v, want it to wrap ErrNoAnswer", err)
	}

	srv.Restart()
	select {
	case <-back:
	case <-time.After(5 * time.Second):
		t.Fatal("OnBack not called within 5s of restarting Redis")
	}
	if err := m.Err(); err != nil {
		t.Errorf("Err() after Redis came back = %v, want nil", err)
	}
	select {
	case <-lost:
		t.Error("OnLost called twice for one outage")
	default:
	}
}

// A short blip, shorter than the limit, must not stop the process.
func TestBlipUnderLimit(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	lost := make(chan error, 1)
	m := heartbeat.New(heartbeat.Redis(rdb), heartbeat.Options{
		Limit:    10 * time.Second,
		Interval: 20 * time.Millisecond,
		OnLost:   func(err error) { lost <- err },
	}, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "first answer", m.Ready)

	srv.Stop()
	// Wait until at least one ping has failed, then bring Redis back.
	failed := func() bool { return rdb.Ping(context.Background()).Err() != nil }
	waitFor(t, "a failing ping", failed)
	if !m.Ready() {
		t.Error("not Ready during a blip shorter than the limit")
	}
	srv.Restart()
	waitFor(t, "redis back", func() bool { return rdb.Ping(context.Background()).Err() == nil })
	select {
	case err := <-lost:
		t.Errorf("OnLost(%v) during a blip shorter than the limit", err)
	default:
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
