package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/gateway"
	"github.com/gophers/gopherbot/internal/loadgen"
	"github.com/gophers/gopherbot/internal/redistest"
)

// The two benchmarks below send the same pre-signed requests over 16
// keep-alive loopback connections (8 per CPU on 2 cores); the ratio of
// their ns/op is the gateway's share of a bare handler's throughput:
//
//	go test -run '^$' -bench 'Gateway$|BareHandler$' ./internal/gateway/
//
// cmd/loadgen -compare measures the same with latency percentiles.

// BenchmarkGateway: signed events through the gateway into a real Redis.
func BenchmarkGateway(b *testing.B) {
	rs := redistest.Start(b)
	cfg := testConfig()
	srv := gateway.New(cfg, zerolog.Nop(), rs.Client())
	defer srv.Close()
	benchHTTP(b, srv.Handler(), strconv.FormatInt(time.Now().UnixNano(), 36))
	if st := srv.Stats(); st.Enqueued != st.Requests {
		b.Fatalf("stats %+v: not every event was enqueued", st)
	}
}

// BenchmarkBareHandler: the same requests to a handler that only reads
// the body: the ceiling.
func BenchmarkBareHandler(b *testing.B) {
	benchHTTP(b, loadgen.BareHandler(), "bare")
}

func benchHTTP(b *testing.B, h http.Handler, nonce string) {
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ReadHeaderTimeout = 5 * time.Second
	ts.Config.ReadTimeout = 10 * time.Second
	ts.Config.WriteTimeout = 10 * time.Second
	ts.Start()
	defer ts.Close()
	u, _ := url.Parse(ts.URL + "/slack/events")
	// Signed with the real clock: the gateway under test has no fake one.
	reqs := loadgen.Presign([]byte(secret), u, nonce, b.N, time.Now())
	var next atomic.Int64
	var failed atomic.Int64

	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := loadgen.Dial(context.Background(), u.Host)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		for pb.Next() {
			status, err := c.Do(reqs[next.Add(1)-1], 10*time.Second)
			if err != nil || status != 200 {
				failed.Add(1)
			}
		}
	})
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
}
