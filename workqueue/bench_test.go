package workqueue

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
)

// benchBody is about the size of a real message event.
var benchBody = []byte(`{"token":"x","team_id":"T0001","api_app_id":"A0001","event":{"type":"message","channel":"C0001","user":"U0001","text":"hello gophers, how do I cancel a context?","ts":"1700000000.000100","channel_type":"channel"},"type":"event_callback","event_id":"Ev0001","event_time":1700000000}`)

// publishDirect is the baseline: one round trip per event, no batching.
func (q *Queue) publishDirect(ctx context.Context, e Event) (bool, error) {
	keys, args := q.publishArgs(e)
	return q.publishResult(e, publishScript.Run(ctx, q.rdb, keys, args...))
}

// BenchmarkPublish compares publishing through the batcher with one round
// trip per event, from one goroutine and from 16 (the gateway's load-test
// connections). Compare the ns/op of batched/parallel with direct/parallel.
func BenchmarkPublish(b *testing.B) {
	srv := redistest.Start(b)
	rdb := srv.Client()
	opts := fastOptions("bench")
	opts.MaxLen = 1 << 30 // measure publishing, not trimming
	q, _ := newQueue(b, rdb, opts)
	var seq atomic.Int64
	event := func() Event {
		return Event{ID: "Ev" + strconv.FormatInt(seq.Add(1), 10), Kind: slackevent.MessageChannel, Body: benchBody}
	}
	ctx := context.Background()
	for _, mode := range []struct {
		name    string
		publish func(context.Context, Event) (bool, error)
	}{
		{"direct", q.publishDirect},
		{"batched", q.Publish},
	} {
		b.Run(mode.name+"/serial", func(b *testing.B) {
			for b.Loop() {
				if _, err := mode.publish(ctx, event()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(mode.name+"/parallel", func(b *testing.B) {
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := mode.publish(ctx, event()); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		if err := srv.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishConsume measures events from Publish to acknowledged
// handler runs, end to end, with 16 publishing goroutines and one consumer.
func BenchmarkPublishConsume(b *testing.B) {
	srv := redistest.Start(b)
	opts := fastOptions("bench")
	opts.MaxLen = 1 << 30
	opts.Concurrency = 64
	pub, _ := newQueue(b, srv.Client(), opts)
	q, _ := newQueue(b, srv.Client(), opts)
	var handled atomic.Int64
	var target atomic.Int64
	done := make(chan struct{}, 1)
	consume(b, q, slackevent.All, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		if handled.Add(1) == target.Load() {
			done <- struct{}{}
		}
		return nil
	}))
	var seq atomic.Int64
	ctx := context.Background()
	b.ResetTimer()
	target.Store(int64(b.N))
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			e := Event{ID: "Ev" + strconv.FormatInt(n, 10), Kind: slackevent.All[n%int64(len(slackevent.All))], Body: benchBody}
			if _, err := pub.Publish(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	receive(b, done)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
