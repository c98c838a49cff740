package loadgen

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/gateway"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
)

// TestE2EVerdictCountsRefusedEvents: in -e2e -rate mode the gateway
// refuses (almost) every measured event (503: from the start of the
// measured phase Redis cannot append to the DM stream); the target is then
// not met, though refused events are neither lost nor late.
func TestE2EVerdictCountsRefusedEvents(t *testing.T) {
	rs := redistest.Start(t)
	rdb := rs.Client()
	var out bytes.Buffer
	o := E2EOptions{
		RedisURL: rs.URL(), Rate: 500, Duration: 200 * time.Millisecond, Warmup: 20,
		Conns: 4, Grace: 500 * time.Millisecond, Log: zerolog.Nop(),
		OnStart: func() {
			// From here on the DM stream refuses new entries (its last ID is
			// the largest there is), so the gateway answers 503 to every
			// event; the consumer is not disturbed.
			if err := rdb.Do(t.Context(), "XSETID", "gopherbot:events:"+slackevent.MessagePrivate,
				"18446744073709551615-18446744073709551615").Err(); err != nil {
				t.Error(err)
			}
		},
	}
	if err := commandE2E(t.Context(), o, &out); err != nil {
		t.Fatalf("commandE2E: %v\n%s", err, out.String())
	}
	t.Logf("output:\n%s", out.String())
	if !strings.Contains(out.String(), "503:") {
		t.Skip("the gateway answered no 503; the set-up did not work")
	}
	if strings.Contains(out.String(), "none lost): met") {
		t.Errorf("(almost) every measured event was refused (503, see the statuses above), yet the target is reported met")
	}
}

// TestRemoveRunKeepsOthersEntries: checkIdle looks at the streams only
// before a -self/-compare run; an event another writer (a gateway sharing
// the Redis) stored during the run stays when removeRun deletes the run's
// own.
func TestRemoveRunKeepsOthersEntries(t *testing.T) {
	rs := redistest.Start(t)
	rdb := rs.Client()
	if err := checkIdle(t.Context(), rdb, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	// During the run: the run stores its own entry, someone else one more.
	key := "gopherbot:events:" + slackevent.AppMention
	for _, id := range []string{"Evdeadbeef0", "EvSOMEONEELSE"} {
		if err := rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: key, Values: []string{"id", id, "body", "{}"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := removeRun(t.Context(), rdb, "Evdeadbeef"); err != nil {
		t.Fatal(err)
	}
	if n := rdb.XLen(t.Context(), key).Val(); n != 1 {
		t.Errorf("%d entries left after removing run Evdeadbeef's, want the other writer's 1 kept", n)
	}
}

// TestRunShorterThanSignatures: a closed-loop run signs its events when it
// starts, so it must end before the gateway refuses them as stale: past
// that, its answers would be quick 401s counted as throughput.
func TestRunShorterThanSignatures(t *testing.T) {
	if MaxRunDuration >= gateway.MaxClockSkew {
		t.Errorf("MaxRunDuration %v is not below the gateway's MaxClockSkew %v", MaxRunDuration, gateway.MaxClockSkew)
	}
	o := Options{URL: "http://127.0.0.1:9/slack/events", Secret: []byte("s"), Conns: 2, Count: 1, Duration: MaxRunDuration + time.Second}
	if err := o.check(); err == nil || !strings.Contains(err.Error(), "signatures expire") {
		t.Errorf("a run of %v: %v; want it refused", o.Duration, err)
	}
}

// TestAllOK: the -compare verdict counts only runs whose every request was
// answered 200; a refusal or a failure is no throughput.
func TestAllOK(t *testing.T) {
	for _, tt := range []struct {
		r    Result
		want bool
	}{
		{Result{Requests: 10, Statuses: map[int]int{200: 10}}, true},
		{Result{Requests: 10, Statuses: map[int]int{200: 9, 503: 1}}, false},
		{Result{Requests: 10, Errors: 1, Statuses: map[int]int{200: 10}}, false},
		{Result{}, false},
	} {
		if got := allOK(tt.r); got != tt.want {
			t.Errorf("allOK(%+v) = %v, want %v", tt.r, got, tt.want)
		}
	}
}

// TestRunEndsBeforeSignaturesExpire: -d is capped so that a closed-loop
// run ends before its signatures expire, but the warm-up comes on top of
// it. A warm-up that outlasts the signatures, or a measured phase that
// would run past them, must not send stale events, which a gateway answers
// with quick 401s that count as throughput.
func TestRunEndsBeforeSignaturesExpire(t *testing.T) {
	srv := serverTimeouts(&http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(time.Millisecond) // a slow target: at most 1,000 requests a second on one connection
	})})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	u := "http://" + ln.Addr().String() + "/slack/events"

	t.Run("warm-up", func(t *testing.T) {
		// 500 warm-up events take at least 500ms, the signatures here last 50ms.
		res, err := Run(t.Context(), Options{URL: u, Secret: []byte("s"), Conns: 1, Warmup: 500, Count: 10,
			Duration: time.Minute, lifetime: 50 * time.Millisecond})
		if err == nil {
			t.Errorf("a warm-up longer than the signatures' lifetime: nil error, result %+v", res)
		}
	})
	t.Run("measured", func(t *testing.T) {
		// 2,000 events take at least 2s, the signatures here last 100ms:
		// the run stops with them, as it would at -d.
		res, err := Run(t.Context(), Options{URL: u, Secret: []byte("s"), Conns: 1, Count: 2000,
			Duration: time.Minute, lifetime: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests >= 2000 {
			t.Errorf("the run sent all %d events, for %v, though the signatures last 100ms", res.Requests, res.Elapsed)
		}
	})
}
