package bgtasks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/fakeweb"
	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackfake"
)

// env is one test's world: a real Redis, the fake Slack with the seeded
// workspace, and fake Gerrit, feeds and live status servers.
type env struct {
	t      *testing.T
	redis  *redistest.Server
	rdb    *redis.Client
	slack  *slackfake.Server
	ws     slackfake.Workspace
	gerrit *fakeweb.Gerrit
	rss    *fakeweb.Feed
	atom   *fakeweb.Feed
	live   *fakeweb.Live
	clock  *clock
	logs   *logtest.Buffer
	cfg    config.Config
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		t:      t,
		redis:  redistest.Start(t),
		slack:  slackfake.New(),
		gerrit: fakeweb.NewGerrit(),
		rss:    fakeweb.NewFeed(fakeweb.RSS, "Go Time", "https://example.com/gotime"),
		atom:   fakeweb.NewFeed(fakeweb.Atom, "The Go Blog", "https://example.com/blog"),
		live:   fakeweb.NewLive(),
		clock:  &clock{t: time.Date(2025, 3, 4, 18, 0, 0, 0, time.UTC)},
		logs:   &logtest.Buffer{},
	}
	e.rdb = e.redis.Client()
	t.Cleanup(func() { e.logs.CheckKeys(t) })
	t.Cleanup(e.slack.Close)
	ws, err := e.slack.Seed()
	if err != nil {
		t.Fatal(err)
	}
	e.ws = ws
	gerritSrv := httptest.NewServer(e.gerrit)
	rssSrv := httptest.NewServer(e.rss)
	atomSrv := httptest.NewServer(e.atom)
	liveSrv := httptest.NewServer(e.live)
	t.Cleanup(func() { gerritSrv.Close(); rssSrv.Close(); atomSrv.Close(); liveSrv.Close() })

	// Every task is off unless a test turns it on by giving it an interval.
	e.cfg = config.Config{
		Env:                 "production",
		Production:          true,
		SlackBotToken:       e.slack.Token(),
		SlackAPIURL:         e.slack.APIURL(),
		RedisURL:            e.redis.URL(),
		RedisHeartbeatLimit: 10 * time.Second,
		BgtasksLeaseTTL:     600 * time.Millisecond,
		GerritURL:           gerritSrv.URL,
		GerritChannel:       "golang-cls",
		Feeds: []config.Feed{
			{Channel: "gotimefm", URL: rssSrv.URL + "/rss"},
			{Channel: "random", URL: atomSrv.URL + "/atom"},
		},
		FeedMaxAge:          7 * 24 * time.Hour,
		GoTimeStatusURL:     liveSrv.URL + "/status",
		GoTimeChannel:       "gotimefm",
		RecommendedChannels: []string{"general", "newbies", "golang-cls"},
	}
	return e
}

// slackClient is a Web API client of the fake, without the 1/s pacing so
// that tests run fast.
func (e *env) slackClient() *slackapi.Client {
	return slackapi.New(e.cfg.SlackBotToken, e.cfg.SlackAPIURL, e.rdb, e.logger("slackapi"),
		slackapi.WithPostInterval(0), slackapi.WithBackoff(5*time.Millisecond, 20*time.Millisecond), slackapi.WithMaxAttempts(3))
}

func (e *env) logger(name string) zerolog.Logger {
	return zerolog.New(zerolog.MultiLevelWriter(e.logs, zerolog.NewTestWriter(e.t))).With().Str("replica", name).Logger()
}

// runner returns a replica with its own Redis connection, as a separate
// process would have.
func (e *env) runner(name string, o Options) *Runner {
	if o.BackoffBase == 0 {
		o.BackoffBase = 20 * time.Millisecond
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 100 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	rdb := redis.NewClient(&redis.Options{Addr: e.redis.Addr})
	e.t.Cleanup(func() { rdb.Close() })
	return New(e.cfg, e.logger(name), rdb, e.slackClient(), o)
}

// running is a runner started in the background.
type running struct {
	r      *Runner
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	gone   bool // stopped
}

func (e *env) start(r *Runner) *running {
	ctx, cancel := context.WithCancel(context.Background())
	rn := &running{r: r, cancel: cancel, done: make(chan error, 1)}
	go func() { rn.done <- r.Run(ctx) }()
	e.t.Cleanup(func() { rn.stop(e.t, false) })
	return rn
}

// stop ends the runner: cleanly (releasing the lease) or, with crash, as a
// killed process would, leaving the lease to lapse. Later calls do nothing.
func (rn *running) stop(t *testing.T, crash bool) {
	t.Helper()
	rn.once.Do(func() {
		rn.gone = true
		if crash {
			rn.r.crashed.Store(true)
		}
		rn.cancel()
		select {
		case err := <-rn.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("runner did not stop within 10s")
		}
	})
}

// posts returns the texts posted successfully to the channel named name.
func (e *env) posts(name string) []string {
	id := e.ws.Channels[name]
	var out []string
	for _, c := range e.slack.CallsTo("chat.postMessage") {
		if c.OK() && c.Params["channel"] == id {
			out = append(out, c.Params["text"])
		}
	}
	return out
}

// waitPosts waits until the channel has at least n posts and returns them.
func (e *env) waitPosts(name string, n int) []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.slack.WaitFor(ctx, func([]slackfake.Call) bool { return len(e.posts(name)) >= n })
	got := e.posts(name)
	if len(got) < n {
		e.t.Fatalf("#%s: got %d posts within 10s, want %d: %q", name, len(got), n, got)
	}
	return got
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// runRounds runs n rounds of task on r, failing the test on an error.
func runRounds(t *testing.T, r *Runner, task string, n int) {
	t.Helper()
	for range n {
		if err := r.RunTask(context.Background(), task); err != nil {
			t.Fatal(err)
		}
	}
}

func clPrefix(n int) string { return fmt.Sprintf("CL %d merged:", n) }

// clock is a settable clock for the date rules.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newCL runs the Gerrit task's first round, then merges CL n after it.
func (e *env) newCL(r *Runner, n int) {
	e.t.Helper()
	if err := r.RunTask(context.Background(), "gerrit"); err != nil {
		e.t.Fatalf("first run: %v", err)
	}
	e.gerrit.Merge(fakeweb.Change{Number: n, Subject: "a change", Submitted: time.Now().Add(time.Second)})
}

// postStep is what slackProxy does with one chat.postMessage call.
type postStep struct {
	forward bool   // pass the call on to the fake Slack (the message is posted)
	status  int    // then answer this status instead of the fake's answer (0: the fake's answer)
	body    string // with this body
	header  map[string]string
}

// slackProxy puts a proxy between the bot and the fake Slack, as Slack's
// edge would be, and points cfg at it: every call is passed on, except that
// chat.postMessage calls follow steps in order (calls past the steps are
// passed on untouched). It shows what the fake cannot: a post that went
// out, answered with an error.
func (e *env) slackProxy(steps ...postStep) {
	e.t.Helper()
	target, err := url.Parse(e.slack.URL())
	if err != nil {
		e.t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/chat.postMessage") {
			rp.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if i >= len(steps) {
			rp.ServeHTTP(w, r)
			return
		}
		s := steps[i]
		if s.forward {
			if s.status == 0 {
				rp.ServeHTTP(w, r)
				return
			}
			rp.ServeHTTP(httptest.NewRecorder(), r) // posted; the answer is lost on the way back
		} else {
			io.Copy(io.Discard, r.Body)
		}
		for k, v := range s.header {
			w.Header().Set(k, v)
		}
		if strings.HasPrefix(s.body, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(s.status)
		io.WriteString(w, s.body)
	}))
	e.t.Cleanup(srv.Close)
	e.cfg.SlackAPIURL = srv.URL + "/api/"
}
