package loadgen_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/gateway"
	"github.com/gophers/gopherbot/internal/loadgen"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
)

func TestPercentile(t *testing.T) {
	var ten []time.Duration
	for i := 1; i <= 10; i++ {
		ten = append(ten, time.Duration(i))
	}
	for _, tt := range []struct {
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{nil, 0.5, 0},
		{[]time.Duration{7}, 0.99, 7},
		{ten, 0.5, 5},
		{ten, 0.9, 9},
		{ten, 0.91, 10},
		{ten, 0.99, 10},
		{ten, 1, 10},
		{ten, 0.01, 1},
	} {
		if got := loadgen.Percentile(tt.sorted, tt.q); got != tt.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.sorted, tt.q, got, tt.want)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/slack/events", true},
		{"http://[::1]:8080/slack/events", true},
		{"http://localhost:8080/slack/events", true},
		{"redis://127.0.0.1:7001", true},
		{"http://10.0.0.1:8080/slack/events", false},
		{"http://example.com/slack/events", false},
		{"https://127.0.0.1/slack/events", false},
		{"127.0.0.1:8080", false},
	} {
		if err := loadgen.CheckLoopback(tt.url); (err == nil) != tt.ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}

// TestPresign: every request is a well-formed signed HTTP request with a
// unique event_id, and the kinds cycle.
func TestPresign(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:9/slack/events")
	now := time.Unix(1716140000, 0)
	reqs := loadgen.Presign([]byte("s3cret"), u, "n0nce", 8, now)
	seen := map[string]bool{}
	var kinds []string
	for i, raw := range reqs {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if r.Method != "POST" || r.URL.Path != "/slack/events" || r.Host != "127.0.0.1:9" {
			t.Errorf("request %d: %s %s host %s", i, r.Method, r.URL, r.Host)
		}
		ts := r.Header.Get("X-Slack-Request-Timestamp")
		if ts != strconv.FormatInt(now.Unix(), 10) {
			t.Errorf("request %d: timestamp %q", i, ts)
		}
		if got, want := r.Header.Get("X-Slack-Signature"), gateway.Signature([]byte("s3cret"), ts, body); got != want {
			t.Errorf("request %d: signature %s, want %s", i, got, want)
		}
		var ev struct {
			Type    string `json:"type"`
			EventID string `json:"event_id"`
			Event   struct {
				Type        string `json:"type"`
				ChannelType string `json:"channel_type"`
			} `json:"event"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatalf("request %d: body is not JSON: %v", i, err)
		}
		if ev.Type != "event_callback" || seen[ev.EventID] || !strings.HasPrefix(ev.EventID, "Evn0nce") {
			t.Errorf("request %d: type %q, event_id %q (seen before: %v)", i, ev.Type, ev.EventID, seen[ev.EventID])
		}
		seen[ev.EventID] = true
		kinds = append(kinds, ev.Event.Type+"/"+ev.Event.ChannelType)
	}
	want := []string{"message/channel", "message/im", "app_mention/", "message/channel"}
	want = append(want, want...)
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
}

func TestRunBare(t *testing.T) {
	u, stop, err := loadgen.StartBare(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	res, err := loadgen.Run(t.Context(), loadgen.Options{
		URL: u, Secret: []byte("s"), Conns: 4, Count: 300, Warmup: 20, Duration: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 300 || res.Errors != 0 || !cmp.Equal(res.Statuses, map[int]int{200: 300}) {
		t.Errorf("result %+v, want 300 answers of 200", res)
	}
	if !(0 < res.P50 && res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.Max) {
		t.Errorf("percentiles out of order: %v %v %v %v", res.P50, res.P90, res.P99, res.Max)
	}
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// TestRunStopsAtDuration: a run ends when its duration is up, with what it
// measured so far.
func TestRunStopsAtDuration(t *testing.T) {
	u, stop, err := loadgen.StartBare(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	res, err := loadgen.Run(t.Context(), loadgen.Options{URL: u, Secret: []byte("s"), Conns: 2, Count: 20000, Duration: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests >= 20000 {
		t.Errorf("a run of 1ns sent everything: %+v", res)
	}
}

func TestRunRefuses(t *testing.T) {
	base := loadgen.Options{URL: "http://127.0.0.1:9/slack/events", Secret: []byte("s"), Conns: 1, Count: 1, Duration: time.Second}
	for name, mod := range map[string]func(o *loadgen.Options){
		"remote target":   func(o *loadgen.Options) { o.URL = "http://192.0.2.1/slack/events" },
		"no connections":  func(o *loadgen.Options) { o.Conns = 0 },
		"too many events": func(o *loadgen.Options) { o.Count = loadgen.MaxCount + 1 },
		"too long":        func(o *loadgen.Options) { o.Duration = loadgen.MaxDuration + time.Second },
		"no secret":       func(o *loadgen.Options) { o.Secret = nil },
	} {
		o := base
		mod(&o)
		if _, err := loadgen.Run(t.Context(), o); err == nil {
			t.Errorf("%s: Run = nil error", name)
		}
	}
}

// TestCompare runs the command as `loadgen -compare` does: the baseline,
// then the real gateway on a real Redis, which stores every event.
// -compare measures both targets, and the gateway run removes what it
// stored: a second run finds an idle queue, and no run's dedup records are
// left behind.
func TestCompare(t *testing.T) {
	rs := redistest.Start(t)
	rdb := rs.Client()
	for run := 1; run <= 2; run++ {
		var out, errs bytes.Buffer
		err := loadgen.Command(t.Context(), []string{"-compare", "-redis", rs.URL(), "-c", "4", "-n", "200", "-warmup", "40", "-d", "30s"}, "", &out, &errs)
		if err != nil {
			t.Fatalf("run %d: Command: %v\nstderr:\n%s", run, err, errs.String())
		}
		for _, want := range []string{"Redis PING round trip, one at a time: median", "baseline", "gateway", "200:200", "gateway/baseline throughput:", "events a batch", "mean round trip to Redis"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("run %d: output lacks %q:\n%s", run, want, out.String())
			}
		}
		// Every event was stored (Lua's commands count in commandstats)...
		stats := rdb.Info(t.Context(), "commandstats").Val()
		if want := "cmdstat_xadd:calls=" + strconv.Itoa(240*run) + ","; !strings.Contains(stats, want) {
			t.Errorf("run %d: want %s (200 + 40 warm-up a run) in\n%s", run, want, stats)
		}
		// ...and removed afterwards.
		for _, kind := range slackevent.All {
			if n := rdb.XLen(t.Context(), "gopherbot:events:"+kind).Val(); n != 0 {
				t.Errorf("run %d: %d entries left in %s", run, n, kind)
			}
		}
		if keys := rdb.Keys(t.Context(), "gopherbot:dedup:*").Val(); len(keys) != 0 {
			t.Errorf("run %d: %d dedup records left, such as %s", run, len(keys), keys[0])
		}
	}
}

// -self refuses a queue that holds unhandled events: they would be removed
// with the run's own.
func TestSelfRefusesBusyQueue(t *testing.T) {
	rs := redistest.Start(t)
	if err := rs.Client().XAdd(t.Context(), &redis.XAddArgs{Stream: "gopherbot:events:" + slackevent.AppMention, Values: []string{"body", "{}"}}).Err(); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	err := loadgen.Command(t.Context(), []string{"-self", "-redis", rs.URL(), "-c", "2", "-n", "20"}, "", &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "1 unhandled events") {
		t.Errorf("-self on a busy queue: %v, want a refusal naming 1 unhandled event", err)
	}
	if n := rs.Client().XLen(t.Context(), "gopherbot:events:"+slackevent.AppMention).Val(); n != 1 {
		t.Errorf("stream length %d after the refusal, want the 1 entry untouched", n)
	}
}

func TestCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"-baseline", "-self", "-redis", "redis://127.0.0.1:1"},
		{"-self"},
		{"-compare", "-redis", "redis://192.0.2.1:6380"},
		{"-url", "http://192.0.2.1/slack/events"},
		{"-baseline", "extra"},
		{"-e2e", "-split", "-redis", "redis://127.0.0.1:1"},
		{"-url", "http://127.0.0.1:1/slack/events", "-split"},
	} {
		var out, errs bytes.Buffer
		if err := loadgen.Command(t.Context(), args, "s", &out, &errs); err == nil {
			t.Errorf("Command(%q) = nil error", args)
		}
	}
}

// TestRunInterrupted: a run whose context ends midway (Ctrl-C, SIGTERM)
// measured a part of what it was asked to, under a server that may be
// shutting down: it returns an error, so that no row and no verdict is
// printed from it, and still its IDPrefix, so that what it stored can be
// removed.
func TestRunInterrupted(t *testing.T) {
	u, stop, err := loadgen.StartBare(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	res, err := loadgen.Run(ctx, loadgen.Options{
		URL: u, Secret: []byte("s"), Conns: 2, Count: 1000, Warmup: 10, Duration: 30 * time.Second,
		OnStart: cancel, // interrupted as the measured phase starts
	})
	if err == nil {
		t.Errorf("interrupted run: nil error, result %+v", res)
	}
	if res.IDPrefix == "" {
		t.Errorf("interrupted run: no IDPrefix, its events could not be removed")
	}
}
