package bgtasks

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/chancache"
	"github.com/gophers/gopherbot/internal/fakeweb"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackfake"
)

func (e *env) gerritRunner() *Runner {
	e.cfg.GerritPollInterval = time.Hour // on, but rounds are run by hand
	return e.runner("a", Options{})
}

func TestGerritFirstRunPostsNothing(t *testing.T) {
	e := newEnv(t)
	base := time.Now().Add(-time.Hour)
	for i := range 3 {
		e.gerrit.Merge(fakeweb.Change{Number: 1000 + i, Subject: fmt.Sprintf("old change %d", i), Submitted: base.Add(time.Duration(i) * time.Minute)})
	}
	r := e.gerritRunner()
	ctx := context.Background()
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatalf("first run: %v", err)
	}
	if got := e.posts("golang-cls"); len(got) != 0 {
		t.Fatalf("first run posted %q; want nothing", got)
	}

	// A CL that shows up late but was submitted before the newest of the
	// first run is history too; a new one is news.
	e.gerrit.Merge(fakeweb.Change{Number: 999, Subject: "late old change", Submitted: base.Add(-time.Minute), Updated: time.Now()})
	e.gerrit.Merge(fakeweb.Change{Number: 1010, Subject: "new change"})
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	got := e.posts("golang-cls")
	if len(got) != 1 || !strings.HasPrefix(got[0], clPrefix(1010)) {
		t.Fatalf("posts after the first run = %q; want only CL 1010, once", got)
	}
}

// A CL submitted in the same millisecond as the floor is news unless the
// first run saw it, whether the floor is the newest CL or the first run's
// time (seen flaky under load: the test merged within the millisecond).
func TestGerritSameMillisecondAsFloor(t *testing.T) {
	at := time.Now().Truncate(time.Millisecond).Add(-time.Minute)
	t.Run("newest CL", func(t *testing.T) {
		e := newEnv(t)
		e.gerrit.Merge(fakeweb.Change{Number: 1, Subject: "history", Submitted: at})
		r := e.gerritRunner()
		ctx := context.Background()
		if err := r.RunTask(ctx, "gerrit"); err != nil {
			t.Fatal(err)
		}
		e.gerrit.Merge(fakeweb.Change{Number: 2, Subject: "same millisecond", Submitted: at.Add(500 * time.Microsecond)})
		for range 2 {
			if err := r.RunTask(ctx, "gerrit"); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.posts("golang-cls"); len(got) != 1 || !strings.HasPrefix(got[0], clPrefix(2)) {
			t.Fatalf("posts = %q; want CL 2 alone, once", got)
		}
	})
	t.Run("no CL yet", func(t *testing.T) {
		e := newEnv(t)
		e.cfg.GerritPollInterval = time.Hour
		r := e.runner("a", Options{Now: func() time.Time { return at }})
		ctx := context.Background()
		if err := r.RunTask(ctx, "gerrit"); err != nil {
			t.Fatal(err)
		}
		e.gerrit.Merge(fakeweb.Change{Number: 7, Subject: "first ever", Submitted: at.Add(200 * time.Microsecond)})
		if err := r.RunTask(ctx, "gerrit"); err != nil {
			t.Fatal(err)
		}
		if got := e.posts("golang-cls"); len(got) != 1 || !strings.HasPrefix(got[0], clPrefix(7)) {
			t.Fatalf("posts = %q; want CL 7", got)
		}
	})
}

func TestGerritFirstRunEmpty(t *testing.T) {
	e := newEnv(t)
	r := e.gerritRunner()
	ctx := context.Background()
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	e.gerrit.Merge(fakeweb.Change{Number: 5, Subject: "first ever", Submitted: time.Now().Add(time.Second)})
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("golang-cls"); len(got) != 1 {
		t.Fatalf("posts = %q; want CL 5", got)
	}
}

// A first run that sees no submit time records now as the floor, not 0: a
// CL submitted before the first run, which Gerrit shows only later, is
// history, not news.
func TestGerritFirstRunUndated(t *testing.T) {
	e := newEnv(t)
	r := e.gerritRunner()
	ctx := context.Background()
	e.gerrit.Merge(fakeweb.Change{Number: 1, Subject: "undated", Undated: true, Updated: time.Now().Add(-time.Hour)})
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	e.gerrit.Merge(fakeweb.Change{Number: 2, Subject: "old", Submitted: time.Now().Add(-30 * time.Minute), Updated: time.Now()})
	e.gerrit.Merge(fakeweb.Change{Number: 3, Subject: "new", Submitted: time.Now().Add(time.Second)})
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("golang-cls"); len(got) != 1 || !strings.HasPrefix(got[0], clPrefix(3)) {
		t.Errorf("posts = %q; want CL 3 only", got)
	}
}

func TestGerritOldestFirstAcrossPages(t *testing.T) {
	e := newEnv(t)
	r := e.gerritRunner()
	ctx := context.Background()
	e.gerrit.Merge(fakeweb.Change{Number: 1, Subject: "before", Submitted: time.Now().Add(-time.Hour)})
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}

	// More than a page (100) merged at once, numbered against time order,
	// and some touched after merging, which reorders Gerrit's answer.
	const n = 130
	start := time.Now().Add(-30 * time.Minute)
	var want []string
	for i := range n {
		num := 5000 - i
		e.gerrit.Merge(fakeweb.Change{Number: num, Subject: fmt.Sprintf("change %d", i), Submitted: start.Add(time.Duration(i) * time.Second)})
		if i%7 == 0 {
			e.gerrit.Touch(num, time.Now())
		}
		want = append(want, clPrefix(num))
	}
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range e.posts("golang-cls") {
		got = append(got, p[:strings.Index(p, ":")+1])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("posted CLs (-want +got):\n%s", diff)
	}
	if e.gerrit.Requests() < 3 {
		t.Errorf("Gerrit saw %d requests; want the first run and two pages", e.gerrit.Requests())
	}
}

func TestGerritText(t *testing.T) {
	e := newEnv(t)
	r := e.gerritRunner()
	ctx := context.Background()
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	msg := "net/http: keep <b> & </b> escaped\n\n" +
		"The server no longer waits for the body\nwhen the handler returned.\n\n" +
		"Fixes golang/go#12345\n\n" +
		"Change-Id: I0123456789abcdef0123456789abcdef01234567\n" +
		"Reviewed-on: https://go-review.googlesource.com/c/go/+/2001\n" +
		"Reviewed-by: Gopher <gopher@golang.org>\n"
	now := time.Now().Add(time.Second) // after the first run's floor
	e.gerrit.Merge(fakeweb.Change{Number: 2001, Project: "go", Subject: "net/http: keep <b> & </b> escaped", Message: msg, Submitted: now})
	e.gerrit.Merge(fakeweb.Change{Number: 2002, Project: "tools", Subject: "gopls: faster completion", Submitted: now.Add(time.Second)})
	e.gerrit.Merge(fakeweb.Change{Number: 2003, Project: "go", Branch: "release-branch.go1.24", Subject: "[release-branch.go1.24] cmd/go: fix", Submitted: now.Add(2 * time.Second)})
	e.gerrit.Merge(fakeweb.Change{Number: 2004, Project: "tools", Branch: "gopls-release-branch.0.18", Subject: "gopls: fix a crash", Submitted: now.Add(3 * time.Second)})
	e.gerrit.Merge(fakeweb.Change{Number: 2005, Project: "go", Subject: "abandoned", Status: "ABANDONED", Updated: now})
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CL 2001 merged: net/http: keep &lt;b&gt; &amp; &lt;/b&gt; escaped\nhttps://go.dev/cl/2001\n```\n" +
			"The server no longer waits for the body\nwhen the handler returned.\n\nFixes golang/go#12345\n```",
		"CL 2002 merged: [tools] gopls: faster completion\nhttps://go.dev/cl/2002",
		"CL 2003 merged: [release-branch.go1.24] cmd/go: fix\nhttps://go.dev/cl/2003",
		"CL 2004 merged: [tools] gopls: fix a crash (gopls-release-branch.0.18)\nhttps://go.dev/cl/2004",
	}
	if diff := cmp.Diff(want, e.posts("golang-cls")); diff != "" {
		t.Errorf("posts (-want +got):\n%s", diff)
	}
}

func TestParseGerritXSSI(t *testing.T) {
	for _, body := range []string{
		")]}'\n[{\"_number\":7,\"project\":\"go\",\"status\":\"MERGED\",\"submitted\":\"2025-01-02 03:04:05.000000000\"}]",
		")]}'[{\"_number\":7,\"project\":\"go\",\"status\":\"MERGED\",\"submitted\":\"2025-01-02 03:04:05.000000000\"}]",
	} {
		cs, err := parseGerrit([]byte(body))
		if err != nil {
			t.Fatalf("parseGerrit(%q): %v", body, err)
		}
		if len(cs) != 1 || cs[0].Number != 7 || !cs[0].Submitted.Equal(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("parseGerrit(%q) = %+v", body, cs)
		}
	}
	if _, err := parseGerrit([]byte(`<html>Sign in</html>`)); err == nil {
		t.Error("parseGerrit of an HTML page: want an error")
	}
}

func TestCommitBody(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"subject only\n", ""},
		{"subject\n\nbody\n\nChange-Id: I1\n", "body"},
		// A paragraph with a line that is not a trailer is kept whole.
		{"subject\n\nbody\n\nNote: kept\nbecause this is prose\n", "body\n\nNote: kept\nbecause this is prose"},
		{"subject\n\n" + strings.Repeat("x", maxCommitBody+10), strings.Repeat("x", maxCommitBody) + "…"},
	}
	for _, tt := range tests {
		if got := commitBody(tt.msg); got != tt.want {
			t.Errorf("commitBody(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

func TestGerritUnreachableIsAnError(t *testing.T) {
	e := newEnv(t)
	r := e.gerritRunner()
	e.gerrit.FailNext(1)
	if err := r.RunTask(context.Background(), "gerrit"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("RunTask with Gerrit failing = %v; want an error naming the 500", err)
	}
}

// Slack documents internal_error as "some aspect of the operation may have
// succeeded": a post answered so may be there, and is not posted again.
func TestGerritInternalErrorAfterPostNotReposted(t *testing.T) {
	e := newEnv(t)
	internal := postStep{status: 200, body: `{"ok":false,"error":"internal_error"}`}
	posted := internal
	posted.forward = true
	// The post reaches Slack and is made; any repeat would get internal_error.
	e.slackProxy(posted, internal, internal)
	r := e.gerritRunner()
	e.newCL(r, 4242)
	ctx := context.Background()
	if err := r.RunTask(ctx, "gerrit"); err == nil {
		t.Fatal("round with internal_error: want an error")
	}
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("golang-cls"); len(got) != 1 {
		t.Errorf("CL 4242 posted %d times; want once: %q", len(got), got)
	}
}

// A 502 whose post went out is the outcome that counts, whatever a later
// attempt would have been answered (here 429s): the CL is not posted again.
func TestGerritUnknownThenRateLimitedNotReposted(t *testing.T) {
	e := newEnv(t)
	limited := postStep{status: 429, body: `{"ok":false,"error":"ratelimited"}`, header: map[string]string{"Retry-After": "0"}}
	e.slackProxy(postStep{forward: true, status: 502, body: "<html>bad gateway</html>"}, limited, limited)
	r := e.gerritRunner()
	e.newCL(r, 4243)
	ctx := context.Background()
	if err := r.RunTask(ctx, "gerrit"); err == nil {
		t.Fatal("round with a 502: want an error")
	}
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("golang-cls"); len(got) != 1 {
		t.Errorf("CL 4243 posted %d times; want once: %q", len(got), got)
	}
}

// Within one round, a post answered 502 after it went out is not repeated.
func TestGerritPostNotRepeatedAfter5xx(t *testing.T) {
	e := newEnv(t)
	e.slackProxy(postStep{forward: true, status: 502, body: "<html>bad gateway</html>"})
	r := e.gerritRunner()
	e.newCL(r, 4244)
	if err := r.RunTask(context.Background(), "gerrit"); err == nil {
		t.Error("round with a 502: want an error")
	}
	if got := e.posts("golang-cls"); len(got) != 1 {
		t.Errorf("CL 4244 posted %d times in one round; want once: %q", len(got), got)
	}
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 1 {
		t.Errorf("chat.postMessage called %d times; want 1 (no repeat after a 502)", n)
	}
}

// When the channel's shared posting slot is further away than the post's
// deadline, slackapi fails before sending anything: the claim is given back
// and a later round posts the CL.
func TestGerritNoPostingSlotRetried(t *testing.T) {
	e := newEnv(t)
	e.cfg.GerritPollInterval = time.Hour
	sc := slackapi.New(e.cfg.SlackBotToken, e.cfg.SlackAPIURL, e.rdb, e.logger("slackapi"),
		slackapi.WithPostInterval(time.Second), slackapi.WithBackoff(5*time.Millisecond, 20*time.Millisecond), slackapi.WithMaxAttempts(3))
	r := New(e.cfg, e.logger("a"), e.redis.Client(), sc, Options{PostTimeout: 500 * time.Millisecond, Now: time.Now})
	e.newCL(r, 4245)
	ctx := context.Background()

	// The consumers have booked #golang-cls's slots for the next minute.
	now, err := e.rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	key := slackapi.PostBudgetKeyPrefix + e.ws.Channels["golang-cls"]
	if err := e.rdb.Set(ctx, key, strconv.FormatInt(now.Add(time.Minute).UnixMilli(), 10), time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.RunTask(ctx, "gerrit"); err == nil {
		t.Fatal("round with no posting slot: want an error")
	}
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 0 {
		t.Fatalf("chat.postMessage called %d times; the test wants nothing sent", n)
	}
	// The slots free up.
	if err := e.rdb.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r.RunTask(ctx, "gerrit"); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.posts("golang-cls"); len(got) != 1 {
		t.Errorf("CL 4245, never sent, was posted %d times afterwards; want once", len(got))
	}
}

// A post that could not even connect to Slack sent nothing: the claim is
// given back, and the CL is posted once the network is back.
func TestGerritSlackUnreachableRetried(t *testing.T) {
	e := newEnv(t)
	good := e.gerritRunner()
	e.newCL(good, 4246)
	ctx := context.Background()
	// The channel cache is warm, as it is in production.
	if err := e.rdb.HSet(ctx, chancache.KeyByName, "golang-cls", e.ws.Channels["golang-cls"]).Err(); err != nil {
		t.Fatal(err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	e.cfg.SlackAPIURL = dead.URL + "/api/"
	cut := e.runner("cut-off", Options{})
	if err := cut.RunTask(ctx, "gerrit"); err == nil {
		t.Fatal("round with Slack unreachable: want an error")
	}
	for range 2 {
		if err := good.RunTask(ctx, "gerrit"); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.posts("golang-cls"); len(got) != 1 {
		t.Errorf("CL 4246, never sent, was posted %d times afterwards; want once", len(got))
	}
}

// The claim's reply is lost and go-redis sends the claim again: the retry
// finds the claim the first send made, which is ours, and the CL is posted.
func TestGerritLostClaimReplyStillPosted(t *testing.T) {
	e := newEnv(t)
	e.cfg.GerritPollInterval = time.Hour
	p := e.redis.NewCutProxy(t)
	r := New(e.cfg, e.logger("a"), p.Client(), e.slackClient(), Options{Now: time.Now})
	e.newCL(r, 4247)
	ctx := context.Background()
	// Loaded, so that the claim is the one EVALSHA the proxy cuts.
	if err := claimMember.Load(ctx, e.rdb).Err(); err != nil {
		t.Fatal(err)
	}
	p.Arm("evalsha", claimMember.Hash(), "4247")
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatalf("round with the claim's reply lost: %v", err)
	}
	if p.Cuts() != 1 {
		t.Fatalf("the proxy cut %d replies; want the claim's", p.Cuts())
	}
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("golang-cls"); len(got) != 1 || !strings.HasPrefix(got[0], clPrefix(4247)) {
		t.Errorf("posts = %q; want CL 4247 once", got)
	}
}

// A CL claimed before claims had tokens (a bare member of the seen set) is
// someone else's claim: it is not posted.
func TestGerritOldFormatClaimHonoured(t *testing.T) {
	e := newEnv(t)
	r := e.gerritRunner()
	e.newCL(r, 4248)
	e.gerrit.Merge(fakeweb.Change{Number: 4249, Subject: "next", Submitted: time.Now().Add(2 * time.Second)})
	ctx := context.Background()
	if err := e.rdb.ZAdd(ctx, gerritSeenKey, redis.Z{Score: float64(time.Now().UnixMilli()), Member: "4248"}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("golang-cls"); len(got) != 1 || !strings.HasPrefix(got[0], clPrefix(4249)) {
		t.Errorf("posts = %q; want CL 4249 alone", got)
	}
}

// A CL Slack refuses for what it says is skipped for good, with an error
// naming it, and the CLs after it are posted; a channel Slack refuses gives
// the claim back and fails the round, since every CL would meet it.
func TestGerritRefusedPost(t *testing.T) {
	for _, tt := range []struct {
		code      string
		itemLevel bool
	}{
		{"msg_too_long", true},
		{"invalid_blocks", true},
		{"no_text", true},
		{"not_in_channel", false},
		{"channel_not_found", false},
		{"is_archived", false},
		{"invalid_auth", false},
	} {
		t.Run(tt.code, func(t *testing.T) {
			e := newEnv(t)
			r := e.gerritRunner()
			e.newCL(r, 4250)
			e.gerrit.Merge(fakeweb.Change{Number: 4251, Subject: "next", Submitted: time.Now().Add(2 * time.Second)})
			e.slack.Inject("chat.postMessage", slackfake.Fault{Error: tt.code})
			ctx := context.Background()
			err := r.RunTask(ctx, "gerrit")
			if tt.itemLevel != (err == nil) {
				t.Errorf("round with CL 4250 refused (%s) = %v; want an error: %v", tt.code, err, !tt.itemLevel)
			}
			for range 2 {
				if err := r.RunTask(ctx, "gerrit"); err != nil {
					t.Fatal(err)
				}
			}
			want := []string{clPrefix(4251)}
			if !tt.itemLevel {
				want = []string{clPrefix(4250), clPrefix(4251)}
			}
			var got []string
			for _, p := range e.posts("golang-cls") {
				got = append(got, p[:strings.Index(p, ":")+1])
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("posted CLs (-want +got):\n%s", diff)
			}
			logged := e.logLines("a", "Slack refuses this item for good; skipping it for ever, to let the next ones through")
			switch {
			case !tt.itemLevel && len(logged) != 0:
				t.Errorf("a channel-level refusal was logged as the item's: %v", logged)
			case tt.itemLevel && (len(logged) != 1 || logged[0]["item"] != "CL 4250" || logged[0]["reason"] != tt.code || logged[0]["level"] != "error"):
				t.Errorf("logged %v; want one error naming CL 4250 and %s", logged, tt.code)
			}
			if n := len(e.slack.CallsTo("chat.postMessage")); n != len(want)+1 {
				t.Errorf("chat.postMessage called %d times; want %d (the refused one once)", n, len(want)+1)
			}
		})
	}
}

// gerritHook serves the fake Gerrit through a handler that calls after
// with the number of each request (from 1) once its answer is written,
// before the answer reaches the bot: the test changes Gerrit between two
// page requests of one round. It points cfg at the handler.
func (e *env) gerritHook(after func(n int)) {
	e.t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.gerrit.ServeHTTP(w, r)
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		after(i)
	}))
	e.t.Cleanup(srv.Close)
	e.cfg.GerritURL = srv.URL
}

// clPosts returns how many times each CL, by number, was posted to
// #golang-cls; a post there that does not start "CL n merged:" fails the test.
func (e *env) clPosts() map[int]int {
	e.t.Helper()
	got := map[int]int{}
	for _, p := range e.posts("golang-cls") {
		var num int
		if _, err := fmt.Sscanf(p, "CL %d merged:", &num); err != nil {
			e.t.Fatalf("post %q: %v", p, err)
		}
		got[num]++
	}
	return got
}

// Gerrit lists changes newest update first, so a change updated (a
// comment, a merge) while a catch-up pages through the list moves, and
// shifts the others: no merged CL may be skipped for that, and none posted
// twice.
func TestGerritListChangesBetweenPages(t *testing.T) {
	const n = 150 // a page and a half
	for _, tt := range []struct {
		name   string
		change func(e *env, start time.Time)
	}{
		// The oldest CL, not read yet, moves to the top of the list
		// after the first page: offset paging reads past it.
		{"unread CL updated", func(e *env, _ time.Time) { e.gerrit.Touch(3000, time.Now()) }},
		// A CL of the first page moves up, and out of a list bounded by
		// the round's start: the rest shift up by one.
		{"read CL updated", func(e *env, _ time.Time) { e.gerrit.Touch(3000+n-10, time.Now()) }},
		{"last CL of the page updated", func(e *env, _ time.Time) { e.gerrit.Touch(3000+n-100, time.Now()) }},
		// Gerrit's update times may have whole seconds only: a CL
		// updated meanwhile can show the time of the newest one read.
		{"unread CL updated in the same second as the newest", func(e *env, start time.Time) {
			e.gerrit.Touch(3000, start.Add((n-1)*90*time.Second))
		}},
		// A new merge shifts everything down by one.
		{"CL merged", func(e *env, _ time.Time) {
			e.gerrit.Merge(fakeweb.Change{Number: 9999, Subject: "merged meanwhile", Submitted: time.Now()})
		}},
		{"several", func(e *env, _ time.Time) {
			e.gerrit.Touch(3001, time.Now())
			e.gerrit.Touch(3000+n-1, time.Now())
			e.gerrit.Merge(fakeweb.Change{Number: 9999, Subject: "merged meanwhile", Submitted: time.Now()})
			e.gerrit.Touch(3002, time.Now())
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			// The catch-up spans more than gerritLate, so that a CL
			// skipped by one round is too old for the next.
			start := time.Now().Add(-4 * time.Hour)
			e.gerrit.Merge(fakeweb.Change{Number: 1, Subject: "history", Submitted: start.Add(-time.Hour)})
			var armed atomic.Bool
			e.gerritHook(func(i int) {
				if armed.Load() && i == 2 { // the catch-up's first page was answered
					tt.change(e, start)
				}
			})
			r := e.gerritRunner()
			ctx := context.Background()
			if err := r.RunTask(ctx, "gerrit"); err != nil { // request 1: the first run
				t.Fatal(err)
			}
			want := map[int]int{}
			for i := range n {
				e.gerrit.Merge(fakeweb.Change{Number: 3000 + i, Subject: fmt.Sprintf("change %d", i), Submitted: start.Add(time.Duration(i) * 90 * time.Second)})
				want[3000+i] = 1
			}
			armed.Store(true)
			runRounds(t, r, "gerrit", 2)
			got := e.clPosts()
			delete(got, 9999) // merged meanwhile: posted once, checked below
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("times each CL was posted (-want +got):\n%s", diff)
			}
			if c := strings.Count(strings.Join(e.posts("golang-cls"), "\n"), clPrefix(9999)); c > 1 {
				t.Errorf("CL 9999 posted %d times; want once", c)
			}
		})
	}
}

// Changes updated within one millisecond (a bulk update) cannot be paged
// by time: the pages go on by offset among them, and every CL is posted.
func TestGerritPageOfOneMillisecond(t *testing.T) {
	e := newEnv(t)
	r := e.gerritRunner()
	ctx := context.Background()
	e.gerrit.Merge(fakeweb.Change{Number: 1, Subject: "history", Submitted: time.Now().Add(-time.Hour)})
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	const n = 250
	start := time.Now().Add(-30 * time.Minute)
	bulk := time.Now().Truncate(time.Millisecond)
	want := map[int]int{}
	for i := range n {
		e.gerrit.Merge(fakeweb.Change{Number: 6000 + i, Subject: "bulk", Submitted: start.Add(time.Duration(i) * time.Second), Updated: bulk})
		want[6000+i] = 1
	}
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, e.clPosts()); diff != "" {
		t.Errorf("times each CL was posted (-want +got):\n%s", diff)
	}
	if n := e.gerrit.Requests(); n > 1+5 {
		t.Errorf("Gerrit saw %d requests for three pages", n)
	}
}
