package workqueue

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/cputime"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
)

// benchBody is about the size and shape of a real message event (what the
// load tool sends, about 1 KB).
var benchBody = []byte(`{"token":"ZZZZZZWSxiZZZ2yIvs3peJ","team_id":"T029RQSE6","context_team_id":"T029RQSE6","api_app_id":"A01GOPHBOT","event":{"client_msg_id":"8c4f1e5a-2b7d-4e0c-9a61-3f2d8b7c9e10","type":"message","text":"<@U01GOPHBOT> how do I set a timeout on an http.Client? I tried context.WithTimeout but the body read still hangs","user":"U0GOPHER1","ts":"1700000000.000100","blocks":[{"type":"rich_text","block_id":"a1B2c","elements":[{"type":"rich_text_section","elements":[{"type":"user","user_id":"U01GOPHBOT"},{"type":"text","text":" how do I set a timeout on an http.Client? I tried context.WithTimeout but the body read still hangs"}]}]}],"team":"T029RQSE6","channel":"C029RQSE8","event_ts":"1700000000.000100","channel_type":"channel"},"type":"event_callback","event_id":"Ev0001","event_time":1700000000,"authorizations":[{"enterprise_id":null,"team_id":"T029RQSE6","user_id":"U01GOPHBOT","is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false}`)

// publishDirect is the baseline: one round trip per event, no batching.
// The script must be loaded.
func (q *Queue) publishDirect(ctx context.Context, e Event) (bool, error) {
	reqs := []*pubReq{{e: e, done: make(chan struct{}, 1)}}
	cmd := redis.NewCmd(ctx, q.publishArgs(nil, reqs)...)
	_ = q.rdb.Process(ctx, cmd)
	q.publishResults(reqs, cmd)
	return reqs[0].added, reqs[0].err
}

// BenchmarkPublish compares publishing through the batcher with one round
// trip per event, from one goroutine and from 16 (the gateway's load-test
// connections). Compare the ns/op of batched/parallel with direct/parallel,
// and with batched-1/parallel: the batcher with one batch in flight at a
// time instead of the default two.
// On a shared machine the CPU time per event, of this process (cpu-µs/op)
// and of Redis (redis-µs/op), varies less than ns/op; events/call is the
// mean batch size.
func BenchmarkPublish(b *testing.B) {
	srv := redistest.Start(b)
	rdb := srv.Client()
	opts := fastOptions("bench")
	opts.MaxLen = 1 << 30 // measure publishing, not trimming
	q, _ := newQueue(b, rdb, opts)
	opts.PublishInFlight = 1
	q1, _ := newQueue(b, rdb, opts)
	var seq atomic.Int64
	event := func() Event {
		return Event{ID: "Ev" + strconv.FormatInt(seq.Add(1), 10), Kind: slackevent.MessageChannel, Body: benchBody}
	}
	ctx := context.Background()
	if err := publishScript.Load(ctx, rdb).Err(); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name    string
		publish func(context.Context, Event) (bool, error)
	}{
		{"direct", q.publishDirect},
		{"batched", q.Publish},
		{"batched-1", q1.Publish},
	} {
		b.Run(mode.name+"/serial", func(b *testing.B) {
			defer measureCPU(b, rdb)()
			for b.Loop() {
				if _, err := mode.publish(ctx, event()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(mode.name+"/parallel", func(b *testing.B) {
			defer measureCPU(b, rdb)()
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

// measureCPU starts measuring the CPU time of this process and of Redis,
// and the script calls; the function it returns reports them per op.
func measureCPU(b *testing.B, rdb *redis.Client) (stop func()) {
	ctx := context.Background()
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	self0, redis0 := cputime.Process(), redisInfoCPU(ctx, b, rdb)
	return func() {
		if b.N == 0 {
			return
		}
		self, rd := cputime.Process()-self0, redisInfoCPU(ctx, b, rdb)-redis0
		b.ReportMetric(float64(self.Microseconds())/float64(b.N), "cpu-µs/op")
		b.ReportMetric(float64(rd.Microseconds())/float64(b.N), "redis-µs/op")
		stats, err := rdb.Info(ctx, "commandstats").Result()
		if err != nil {
			b.Fatal(err)
		}
		if calls := commandCalls(stats, "evalsha"); calls > 0 {
			b.ReportMetric(float64(commandCalls(stats, "xadd"))/float64(calls), "events/call")
		}
	}
}

// redisInfoCPU is the CPU time, user and system, the Redis server has used.
func redisInfoCPU(ctx context.Context, b *testing.B, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for line := range strings.Lines(info) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// commandCalls is the number of calls of cmd in an INFO commandstats reply.
func commandCalls(stats, cmd string) int64 {
	for line := range strings.Lines(stats) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest+",", ',')], 10, 64)
		return n
	}
	return 0
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
