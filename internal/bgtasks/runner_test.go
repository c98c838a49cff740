package bgtasks

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gophers/gopherbot/internal/fakeweb"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackfake"
)

// logLines returns the JSON log lines of one replica with the message msg.
func (e *env) logLines(replica, msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m["replica"] == replica && m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func TestTaskFailureIsolated(t *testing.T) {
	e := newEnv(t)
	r := e.runner("a", Options{BackoffBase: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond})
	var good, bad, panics atomic.Int32
	r.tasks = []task{
		{"bad", 5 * time.Millisecond, func(context.Context) error { bad.Add(1); return errors.New("boom") }},
		{"panics", 5 * time.Millisecond, func(context.Context) error { panics.Add(1); panic("kaboom") }},
		{"good", 5 * time.Millisecond, func(context.Context) error { good.Add(1); return nil }},
	}
	rn := e.start(r)
	waitFor(t, 10*time.Second, "every task to run five times", func() bool {
		return bad.Load() >= 5 && panics.Load() >= 5 && good.Load() >= 5
	})
	rn.stop(t, false)

	var waits []float64
	sawPanic := false
	for _, l := range e.logLines("a", "task failed") {
		switch l["task"] {
		case "bad":
			if l["error"] != "boom" {
				t.Errorf("bad task logged error %v; want boom", l["error"])
			}
			waits = append(waits, l["retry_in"].(float64))
		case "panics":
			sawPanic = sawPanic || strings.HasPrefix(l["error"].(string), "panic: kaboom")
		}
	}
	if len(waits) < 4 {
		t.Fatalf("bad task logged %d failures; want at least 4", len(waits))
	}
	if diff := cmp.Diff([]float64{10, 20, 40, 40}, waits[:4]); diff != "" {
		t.Errorf("backoff of the failing task in ms (-want +got):\n%s", diff)
	}
	if !sawPanic {
		t.Error("the panicking task's failure was not logged with the panic")
	}
}

func TestOneLeader(t *testing.T) {
	e := newEnv(t)
	e.cfg.GerritPollInterval = 10 * time.Millisecond
	var rs []*running
	for _, name := range []string{"a", "b", "c"} {
		rs = append(rs, e.start(e.runner(name, Options{})))
	}
	leaders := func() (n int, who int) {
		for i, rn := range rs {
			if rn.r.Leading() {
				n, who = n+1, i
			}
		}
		return n, who
	}
	waitFor(t, 5*time.Second, "a leader", func() bool { n, _ := leaders(); return n == 1 })
	_, first := leaders()

	// For several renewals, the leader stays and nobody else leads.
	until := time.Now().Add(3 * e.cfg.BgtasksLeaseTTL)
	for time.Now().Before(until) {
		n, who := leaders()
		if n > 1 {
			t.Fatalf("%d replicas lead at once", n)
		}
		if n == 1 && who != first {
			t.Fatalf("leadership moved from %d to %d while the leader was healthy", first, who)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n, _ := leaders(); n != 1 {
		t.Fatalf("%d leaders after the watch; want 1", n)
	}
	if e.gerrit.Requests() == 0 {
		t.Error("the leader did not poll Gerrit")
	}
}

// setupCLFeed turns on the Gerrit and RSS tasks with short intervals.
func (e *env) setupCLFeed() {
	e.cfg.GerritPollInterval = 10 * time.Millisecond
	e.cfg.FeedPollInterval = 10 * time.Millisecond
	e.cfg.Feeds = e.cfg.Feeds[:1] // the RSS feed, to #gotimefm
}

// waitFirstRuns waits until the Gerrit and feed tasks recorded their start.
func (e *env) waitFirstRuns() {
	e.t.Helper()
	_, feedInit := feedKeys(e.cfg.Feeds[0])
	waitFor(e.t, 10*time.Second, "the first runs", func() bool {
		return e.rdb.Exists(context.Background(), gerritFloorKey, feedInit).Val() == 2
	})
}

// news merges CL n and adds feed item n.
func (e *env) news(n int) {
	e.gerrit.Merge(fakeweb.Change{Number: n, Subject: fmt.Sprintf("change %d", n)})
	e.rss.Add(fakeweb.Item{ID: fmt.Sprint("ep-", n), Title: fmt.Sprint("Episode ", n), Link: fmt.Sprint("https://example.com/", n), Published: time.Now()})
}

// checkOnce checks that CLs and episodes from..to were each posted exactly
// once, in order.
func (e *env) checkOnce(from, to int) {
	e.t.Helper()
	var wantCL, wantEp []string
	for n := from; n <= to; n++ {
		wantCL = append(wantCL, fmt.Sprintf("CL %d merged: change %d\nhttps://go.dev/cl/%d", n, n, n))
		wantEp = append(wantEp, fmt.Sprintf("New from Go Time: Episode %d\nhttps://example.com/%d", n, n))
	}
	if diff := cmp.Diff(wantCL, e.posts("golang-cls")); diff != "" {
		e.t.Errorf("#golang-cls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantEp, e.posts("gotimefm")); diff != "" {
		e.t.Errorf("#gotimefm (-want +got):\n%s", diff)
	}
}

func TestCrashedLeaderReplacedWithinTTL(t *testing.T) {
	e := newEnv(t)
	e.setupCLFeed()
	a := e.start(e.runner("a", Options{}))
	waitFor(t, 5*time.Second, "a to lead", a.r.Leading)
	b := e.start(e.runner("b", Options{}))
	e.waitFirstRuns()

	e.news(1)
	e.waitPosts("golang-cls", 1)
	e.waitPosts("gotimefm", 1)

	a.stop(t, true) // killed: the lease is left to lapse
	killed := time.Now()
	if b.r.Leading() {
		t.Fatal("b leads while a's lease is still valid")
	}
	e.takeover(t, "b", "the crash", killed, b.r.Leading)

	e.news(3) // a last item flushes out any late duplicate
	e.waitPosts("golang-cls", 3)
	e.waitPosts("gotimefm", 3)
	e.checkOnce(1, 3)
}

func TestCleanShutdownReleases(t *testing.T) {
	e := newEnv(t)
	// A long TTL: a takeover faster than the standby's poll (TTL/3) shows
	// the release woke it.
	e.cfg.BgtasksLeaseTTL = 6 * time.Second
	e.setupCLFeed()
	a := e.start(e.runner("a", Options{}))
	waitFor(t, 5*time.Second, "a to lead", a.r.Leading)
	b := e.start(e.runner("b", Options{}))
	e.waitFirstRuns()
	ctx := context.Background()
	waitFor(t, 5*time.Second, "both to listen for releases", func() bool {
		return e.rdb.PubSubNumSub(ctx, ReleasedChannel).Val()[ReleasedChannel] == 2
	})

	stopped := time.Now()
	a.stop(t, false)
	waitFor(t, 5*time.Second, "b to take over", b.r.Leading)
	took := time.Since(stopped)
	t.Logf("takeover %v after a clean shutdown", took)
	if took > time.Second {
		t.Errorf("takeover took %v after a clean release; want well under the poll of %v", took, e.cfg.BgtasksLeaseTTL/3)
	}
	e.news(1)
	e.waitPosts("golang-cls", 1)
	e.waitPosts("gotimefm", 1)
	e.checkOnce(1, 1)
}

// Replicas come and go, cleanly and not, while news keeps coming: every
// item is posted exactly once, in order.
func TestReplicasPostEachItemOnce(t *testing.T) {
	e := newEnv(t)
	e.setupCLFeed()
	rs := []*running{e.start(e.runner("r0", Options{})), e.start(e.runner("r1", Options{}))}
	e.waitFirstRuns()
	leader := func() int {
		for i, rn := range rs {
			if !rn.gone && rn.r.Leading() {
				return i
			}
		}
		return -1
	}
	n := 0
	for round := range 4 {
		for range 3 {
			n++
			e.news(n)
		}
		e.waitPosts("golang-cls", n)
		e.waitPosts("gotimefm", n)
		// Replace the leader: cleanly on even rounds, by a crash on odd.
		waitFor(t, 5*time.Second, "a leader", func() bool { return leader() >= 0 })
		i := leader()
		rs[i].stop(t, round%2 == 1)
		rs = append(rs, e.start(e.runner(fmt.Sprint("r", len(rs)), Options{})))
	}
	n++
	e.news(n)
	e.waitPosts("golang-cls", n)
	e.waitPosts("gotimefm", n)
	e.checkOnce(1, n)
}

func TestShadowModePostsNothing(t *testing.T) {
	for _, tt := range []struct {
		name       string
		production bool
		o          Options
	}{
		{"shadow", false, Options{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.setupCLFeed()
			e.cfg.GoTimePollInterval = time.Hour
			e.cfg.WelcomeSweepInterval = time.Hour
			e.cfg.Production = tt.production
			if !tt.production {
				e.cfg.Env = "staging"
			}
			ctx := context.Background()
			r := e.runner("shadow", tt.o)
			rounds := func(r *Runner) {
				t.Helper()
				for _, name := range []string{"gerrit", "feed", "gotime", "welcome"} {
					if err := r.RunTask(ctx, name); err != nil {
						t.Fatal(err)
					}
				}
			}
			rounds(r) // first runs
			e.news(1)
			e.live.SetLive("Go Time #303", "https://changelog.com/live", time.Now())
			e.addUser(slackfake.User{Name: "gina"})
			rounds(r)

			for _, c := range e.slack.Calls() {
				if c.Method == "chat.postMessage" || c.Method == "conversations.open" {
					t.Errorf("%s called in %s mode: %v", c.Method, tt.name, c.Params)
				}
			}
			if got := len(e.logLines("shadow", "shadow mode: would post")); got != 3 {
				t.Errorf("logged %d posts it would make; want 3 (a CL, an episode, the live show)", got)
			}
			if got := len(e.logLines("shadow", "shadow mode: would send the welcome DM")); got != 1 {
				t.Errorf("logged %d welcome DMs it would send; want 1", got)
			}

			// Going to production starts from the present: no backlog.
			e.cfg.Production, e.cfg.Env = true, "production"
			prod := e.runner("prod", Options{})
			rounds(prod)
			if got := e.slack.CallsTo("chat.postMessage"); len(got) != 0 {
				t.Errorf("production posted the shadow backlog: %v", got)
			}
			e.news(2)
			rounds(prod)
			if got := e.posts("golang-cls"); len(got) != 1 || !strings.HasPrefix(got[0], clPrefix(2)) {
				t.Errorf("production posts = %q; want CL 2 only", got)
			}
		})
	}
}

// A dry run next to a production deployment (an operator trying a task by
// hand, as the README shows) posts nothing and takes nothing: what it
// would have posted, the production leader posts.
func TestDryRunTakesNothing(t *testing.T) {
	e := newEnv(t)
	e.setupCLFeed()
	e.cfg.GoTimePollInterval = time.Hour
	e.cfg.WelcomeSweepInterval = time.Hour
	ctx := context.Background()
	rounds := func(r *Runner) {
		t.Helper()
		for _, name := range []string{"gerrit", "feed", "gotime", "welcome"} {
			if err := r.RunTask(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	prod := e.runner("prod", Options{})
	rounds(prod) // first runs
	e.news(1)
	e.live.SetLive("Go Time #303", "https://changelog.com/live", time.Now())
	gina := e.addUser(slackfake.User{Name: "gina"})

	dry := e.runner("dry", Options{DryRun: true})
	rounds(dry)
	rounds(dry)
	for _, c := range e.slack.Calls() {
		if c.Method == "chat.postMessage" || c.Method == "conversations.open" {
			t.Errorf("%s called in a dry run: %v", c.Method, c.Params)
		}
	}
	if got := len(e.logLines("dry", "shadow mode: would post")); got != 6 {
		t.Errorf("logged %d posts it would make; want 6 (a CL, an episode, the live show, in each of two rounds)", got)
	}
	if got := len(e.logLines("dry", "shadow mode: would send the welcome DM")); got != 2 {
		t.Errorf("logged %d welcome DMs it would send; want 2 (one in each round)", got)
	}

	rounds(prod)
	if got := e.posts("golang-cls"); len(got) != 1 || !strings.HasPrefix(got[0], clPrefix(1)) {
		t.Errorf("#golang-cls = %q; want CL 1", got)
	}
	if got := e.posts("gotimefm"); len(got) != 2 || !strings.Contains(got[0], "Episode 1") || !strings.Contains(got[1], "Go Time #303") {
		t.Errorf("#gotimefm = %q; want the episode and the live show", got)
	}
	if got := e.dms()[gina]; len(got) != 1 {
		t.Errorf("DMs to gina = %q; want the welcome", got)
	}
}

// A post whose outcome is unknown (Slack answered 502) is not tried again,
// neither by the client within the round nor by a later round: it may have
// gone out, and a repeat is worse than a miss.
func TestUnknownPostOutcomeNotRepeated(t *testing.T) {
	e := newEnv(t)
	e.cfg.GerritPollInterval = time.Hour
	r := e.runner("a", Options{})
	ctx := context.Background()
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	e.gerrit.Merge(fakeweb.Change{Number: 1, Subject: "lost", Submitted: time.Now().Add(time.Second)})
	// Three 502s in a row: a client that repeated the post would meet the
	// second one, and then the third.
	e.slack.Inject("chat.postMessage", slackfake.Fault{Status: 502, Times: 3})
	if err := r.RunTask(ctx, "gerrit"); err == nil {
		t.Fatal("RunTask with Slack failing: want an error")
	}
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 1 {
		t.Fatalf("chat.postMessage called %d times for CL 1; want 1, not repeated after its 502", n)
	}
	e.slack.ClearFaults()
	e.gerrit.Merge(fakeweb.Change{Number: 2, Subject: "next", Submitted: time.Now().Add(2 * time.Second)})
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("golang-cls"); len(got) != 1 || !strings.HasPrefix(got[0], clPrefix(2)) {
		t.Errorf("posts = %q; want CL 2 only", got)
	}
	if len(e.logLines("a", "post outcome unknown; not retrying this item, to never post it twice")) != 1 {
		t.Error("the unknown outcome was not logged")
	}
}

// Past the heartbeat limit without Redis, the leader stops its tasks (well
// before its lease would lapse) and leads again when Redis is back.
func TestHeartbeatStopsTasks(t *testing.T) {
	e := newEnv(t)
	e.cfg.BgtasksLeaseTTL = 10 * time.Second
	e.cfg.RedisHeartbeatLimit = 300 * time.Millisecond
	e.cfg.GerritPollInterval = 10 * time.Millisecond
	a := e.start(e.runner("a", Options{}))
	waitFor(t, 5*time.Second, "a to lead", a.r.Leading)

	e.redis.Stop()
	lost := time.Now()
	waitFor(t, 5*time.Second, "a to stop leading", func() bool { return !a.r.Leading() })
	if took := time.Since(lost); took > 3*time.Second {
		t.Errorf("stopped %v after losing Redis; want about the heartbeat limit, well before the lease's renewal deadline", took)
	}
	if len(e.logLines("a", "Redis lost past the heartbeat limit; giving up the lease")) == 0 {
		t.Error("the step-down was not logged")
	}
	if a.r.Ready() {
		t.Error("Ready while Redis is gone")
	}
	e.redis.Restart()
	waitFor(t, 10*time.Second, "a to lead again", a.r.Leading)
}

// Redis gone and the lease not renewable: the leader stops its tasks before
// its lease could lapse, even with a heartbeat limit far away.
func TestUnrenewableLeaseStopsTasks(t *testing.T) {
	e := newEnv(t)
	e.cfg.RedisHeartbeatLimit = time.Hour
	e.cfg.GerritPollInterval = 10 * time.Millisecond
	a := e.start(e.runner("a", Options{}))
	waitFor(t, 5*time.Second, "a to lead", a.r.Leading)
	e.redis.Stop()
	lost := time.Now()
	waitFor(t, 5*time.Second, "a to stop leading", func() bool { return !a.r.Leading() })
	if took := time.Since(lost); took > e.cfg.BgtasksLeaseTTL {
		t.Errorf("tasks ran %v after Redis went; want them stopped within the TTL (%v)", took, e.cfg.BgtasksLeaseTTL)
	}
	if len(e.logLines("a", "could not renew the lease in time; stopping the tasks")) == 0 {
		t.Error("the expiry was not logged")
	}
}

// A leader whose key now holds someone else's token (it lapsed during a
// pause and another replica took it) stops at its next renewal, and stands
// by until the other lets go.
func TestLeaseTakenStopsTasks(t *testing.T) {
	e := newEnv(t)
	e.cfg.GerritPollInterval = 10 * time.Millisecond
	a := e.start(e.runner("a", Options{}))
	waitFor(t, 5*time.Second, "a to lead", a.r.Leading)
	ctx := context.Background()
	if err := e.rdb.Set(ctx, LeaseKey, "someone-else", 2*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	taken := time.Now()
	waitFor(t, 5*time.Second, "a to stop leading", func() bool { return !a.r.Leading() })
	if took := time.Since(taken); took > e.cfg.BgtasksLeaseTTL/2 {
		t.Errorf("a noticed after %v; want at its next renewal, within TTL/3 (%v)", took, e.cfg.BgtasksLeaseTTL/3)
	}
	if len(e.logLines("a", "lost the lease to another replica; stopping the tasks")) == 0 {
		t.Error("the loss was not logged")
	}
	if err := e.rdb.Del(ctx, LeaseKey).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a to lead again", a.r.Leading)
}

// takeover publishes the second CL and episode after the leader died at
// killed, and checks that the standby (leading) took the lease within one
// TTL and posted both.
func (e *env) takeover(t *testing.T, who, how string, killed time.Time, leading func() bool) {
	t.Helper()
	e.news(2)
	waitFor(t, 5*time.Second, who+" to take over", leading)
	took := time.Since(killed)
	t.Logf("takeover %v after %s (TTL %v)", took, how, e.cfg.BgtasksLeaseTTL)
	if limit := e.cfg.BgtasksLeaseTTL + 300*time.Millisecond; took > limit {
		t.Errorf("takeover took %v; want within one TTL (%v, plus scheduling slack)", took, e.cfg.BgtasksLeaseTTL)
	}
	e.waitPosts("golang-cls", 2)
	e.waitPosts("gotimefm", 2)
}

// postErrSlack is a Slack client whose posts fail with err, unclassified.
type postErrSlack struct {
	Slack
	err error
}

func (s postErrSlack) PostMessage(context.Context, string, string, slackapi.PostOptions) (string, error) {
	return "", s.err
}

// A post error the Slack client did not classify (a bare context error,
// which may come after the request went out) proves nothing: the claim
// stays and the item is not posted again.
func TestUnclassifiedPostErrorKeepsClaim(t *testing.T) {
	e := newEnv(t)
	e.cfg.GerritPollInterval = time.Hour
	good := e.runner("a", Options{})
	e.newCL(good, 3)
	ctx := context.Background()
	rdb := e.redis.Client()
	bad := New(e.cfg, e.logger("b"), rdb, postErrSlack{e.slackClient(), context.DeadlineExceeded}, Options{Now: time.Now})
	if err := bad.RunTask(ctx, "gerrit"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("round with the post timing out = %v; want its error", err)
	}
	if err := good.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("golang-cls"); len(got) != 0 {
		t.Errorf("posts = %q; want none: the first post may have gone out", got)
	}
	if len(e.logLines("b", "post outcome unknown; not retrying this item, to never post it twice")) != 1 {
		t.Error("the unknown outcome was not logged")
	}
}
