package loadgen_test

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/loadgen"
	"github.com/gophers/gopherbot/internal/redistest"
)

// BenchmarkEndToEnd is a short `loadgen -e2e`: the real gateway, Redis (a
// redis-server), one real consumer and the fake Slack, in this process.
//
//   - latency: 500 events/s offered open loop for 2s; p50/p99 from each
//     event's scheduled send time to the fake Slack receiving its answer,
//     and, as the baseline of the same run, to the gateway's 200.
//   - throughput: 5000 events queued through the gateway, then one
//     consumer handles them; its steady events/s and, as the baseline of
//     the same run, the posts/s its own Slack client makes to the fake with
//     no queue and no handler in between.
//
// Each iteration is a whole run; run it with -benchtime=1x (or let the
// first iteration, longer than a second, be the only one).
func BenchmarkEndToEnd(b *testing.B) {
	b.Run("latency", func(b *testing.B) {
		rs := redistest.Start(b)
		for range b.N {
			r := run(b, loadgen.E2EOptions{RedisURL: rs.URL(), Rate: 500, Duration: 2 * time.Second, Warmup: 250})
			b.ReportMetric(ms(r.Answer.P50), "p50-ms")
			b.ReportMetric(ms(r.Answer.P99), "p99-ms")
			b.ReportMetric(ms(r.Accept.P99), "accept-p99-ms")
			b.ReportMetric(r.Steady, "events/s")
		}
	})
	b.Run("throughput", func(b *testing.B) {
		rs := redistest.Start(b)
		for range b.N {
			r := run(b, loadgen.E2EOptions{RedisURL: rs.URL(), Count: 5000})
			b.ReportMetric(r.Steady, "events/s")
			b.ReportMetric(r.PostOnly, "post-only/s")
			b.ReportMetric(100*r.Steady/r.PostOnly, "%-of-post-only")
		}
	})
}

func run(b *testing.B, o loadgen.E2EOptions) loadgen.E2EResult {
	b.Helper()
	o.Log = zerolog.Nop()
	r, err := loadgen.RunE2E(b.Context(), o)
	if err != nil {
		b.Fatal(err)
	}
	if r.Answered != r.Events || r.Duplicates != 0 || r.Unexpected != 0 {
		b.Fatalf("%d events, %d answered, %d lost, %d duplicates, %d unexpected posts", r.Events, r.Answered, r.Lost, r.Duplicates, r.Unexpected)
	}
	b.ReportMetric(0, "ns/op") // one op is a whole run: not a figure
	// Time runnable but waiting for a CPU (Linux): high when the machine
	// is busy with other work, and then every other figure suffers.
	b.ReportMetric(float64(r.Waited+r.RedisWaited)/float64(time.Microsecond)/float64(max(r.Answered, 1)), "cpu-wait-µs/event")
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
