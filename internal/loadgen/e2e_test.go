package loadgen_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/loadgen"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/internal/slackfake"
)

// answersOf checks the fake Slack's record of a run: every event 0..n-1 was
// answered exactly once, in the DM of the person who sent it (people take
// turns: event i comes from load<i % users>). It returns the problems.
func answersOf(s *slackfake.Server, n, users int) []string {
	var problems []string
	got := map[int]int{}
	for _, c := range s.CallsTo("chat.postMessage") {
		rest, ok := strings.CutPrefix(c.Params["text"], loadgen.AnswerPrefix)
		i, err := strconv.Atoi(rest)
		if !ok || err != nil || !c.OK() {
			problems = append(problems, fmt.Sprintf("unexpected post %q (error %q)", c.Params["text"], c.Error))
			continue
		}
		got[i]++
		ch, _ := s.Channel(c.Params["channel"])
		u, _ := s.User(ch.User)
		if want := fmt.Sprintf("load%05d", i%users); !ch.IsIM || u.Name != want {
			problems = append(problems, fmt.Sprintf("answer %d posted to %s (DM of %q), want the DM of %s", i, c.Params["channel"], u.Name, want))
		}
	}
	for i := range n {
		if got[i] != 1 {
			problems = append(problems, fmt.Sprintf("event %d answered %d times", i, got[i]))
		}
	}
	if len(got) != n {
		problems = append(problems, fmt.Sprintf("%d events answered, want %d", len(got), n))
	}
	return problems
}

// TestE2ELatency offers a few events through the real gateway, Redis and
// consumer, and checks that each is answered once in the fake Slack and
// that its latency is measured.
func TestE2ELatency(t *testing.T) {
	rs := redistest.Start(t)
	const warmup, users = 10, 100
	var problems []string
	res, err := loadgen.RunE2E(t.Context(), loadgen.E2EOptions{
		RedisURL: rs.URL(), Rate: 200, Duration: 250 * time.Millisecond, Warmup: warmup,
		Users: users, Conns: 4, Log: zerolog.Nop(),
		Inspect: func(s *slackfake.Server) { problems = answersOf(s, warmup+50, users) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if res.Events != 50 || res.Answered != 50 || res.Lost != 0 || res.Duplicates != 0 || res.Unexpected != 0 || res.Errors != 0 {
		t.Errorf("events %d, answered %d, lost %d, duplicates %d, unexpected %d, errors %d; want 50 answered, nothing else",
			res.Events, res.Answered, res.Lost, res.Duplicates, res.Unexpected, res.Errors)
	}
	if diff := cmp.Diff(map[int]int{200: 50}, res.Statuses); diff != "" {
		t.Errorf("gateway statuses (-want +got):\n%s", diff)
	}
	for name, d := range map[string]loadgen.Dist{"answer": res.Answer, "accept": res.Accept} {
		if d.N != 50 || !(0 < d.P50 && d.P50 <= d.P90 && d.P90 <= d.P99 && d.P99 <= d.Max) {
			t.Errorf("%s latencies: %+v, want 50 in order", name, d)
		}
	}
	// An answer comes after the gateway took the event; the percentiles
	// need not be of the same events, but the median answer cannot come
	// before the median accept.
	if res.Answer.P50 < res.Accept.P50 {
		t.Errorf("answer p50 %v before accept p50 %v", res.Answer.P50, res.Accept.P50)
	}
	if res.CPU <= 0 {
		t.Errorf("CPU %v, want some", res.CPU)
	}
	st, err := rs.Client().XLen(t.Context(), "gopherbot:events:"+slackevent.MessagePrivate).Result()
	if err != nil || st != 0 {
		t.Errorf("%d entries left in the DM stream (%v), want every one handled and deleted", st, err)
	}
}

// TestCommandE2EThroughput runs `loadgen -e2e -rate 0`: events queued
// through the gateway, then one consumer answers them all.
func TestCommandE2EThroughput(t *testing.T) {
	rs := redistest.Start(t)
	var out, errs bytes.Buffer
	err := loadgen.Command(t.Context(), []string{"-e2e", "-redis", rs.URL(), "-rate", "0", "-n", "300", "-users", "300", "-c", "4"}, "", &out, &errs)
	if err != nil {
		t.Fatalf("Command: %v\nstderr:\n%s", err, errs.String())
	}
	for _, want := range []string{
		"300 people", "gateway 200:300", "answered 300, lost 0, duplicates 0, unexpected posts 0",
		"post-only baseline", "one consumer:", "target (>= 2000 events/s, none lost):",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if errs.Len() > 0 {
		t.Errorf("warnings or errors logged:\n%s", errs.String())
	}
}

// TestE2ERefusesBusyQueue: a Redis whose queue holds unhandled events (from
// -self, say) would have the consumer handle those first.
func TestE2ERefusesBusyQueue(t *testing.T) {
	rs := redistest.Start(t)
	if err := rs.Client().XAdd(t.Context(), &redis.XAddArgs{Stream: "gopherbot:events:" + slackevent.MessagePrivate, Values: []string{"body", "{}"}}).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := loadgen.RunE2E(t.Context(), loadgen.E2EOptions{RedisURL: rs.URL(), Rate: 100, Duration: time.Second, Users: 10, Log: zerolog.Nop()})
	if err == nil || !strings.Contains(err.Error(), "1 unhandled events") {
		t.Errorf("RunE2E on a busy queue: %v, want a refusal naming 1 unhandled event", err)
	}
}
