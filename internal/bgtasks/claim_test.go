package bgtasks

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/fakeweb"
	"github.com/gophers/gopherbot/internal/slackfake"
)

// A claim sent twice (go-redis repeating it after a lost reply) is ours
// both times; another's claim of the same item is not; a release leaves a
// claim that is no longer ours alone, and a release sent twice is done.
func TestSetClaim(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const set = keyPrefix + "test:seen"
	check := func(what string, got bool, err error, want bool) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s = %v, %v; want %v", what, got, err, want)
		}
	}
	mine := newSetClaim(set, "item")
	ok, err := mine.claim(ctx, e.rdb, 1)
	check("claim", ok, err, true)
	ok, err = mine.claim(ctx, e.rdb, 1)
	check("the same claim again", ok, err, true)
	ok, err = newSetClaim(set, "item").claim(ctx, e.rdb, 1)
	check("another claim of the item", ok, err, false)

	ok, err = mine.release(ctx, e.rdb)
	check("release", ok, err, true)
	ok, err = mine.release(ctx, e.rdb)
	check("the same release again", ok, err, true)
	if n := e.rdb.ZCard(ctx, set).Val(); n != 0 {
		t.Fatalf("%d members after the release; want none", n)
	}

	// Someone else claims the item after our release: a late repeat of our
	// release, or of our claim, leaves theirs alone.
	theirs := newSetClaim(set, "item")
	ok, err = theirs.claim(ctx, e.rdb, 2)
	check("their claim", ok, err, true)
	ok, err = mine.release(ctx, e.rdb)
	check("our release over their claim", ok, err, false)
	ok, err = mine.claim(ctx, e.rdb, 1)
	check("our claim over theirs", ok, err, false)
	if s, err := e.rdb.ZScore(ctx, set, "item").Result(); err != nil || s != 2 {
		t.Errorf("their claim after ours came back: score %v, %v; want 2", s, err)
	}
}

// evalHook runs fn in place of the EVALSHA (or EVAL) of script, or of
// the first script run whose arguments include key, once; other commands,
// and the script's later runs, go through untouched. A run that Redis
// answers NOSCRIPT (go-redis then sends EVAL) does not count.
type evalHook struct {
	script *redis.Script
	key    string
	done   atomic.Bool
	fn     func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error
}

func (h *evalHook) match(cmd redis.Cmder) bool {
	args := cmd.Args()
	if name := cmd.Name(); len(args) < 2 || (name != "evalsha" && name != "eval") {
		return false
	}
	if h.script != nil {
		return args[1] == h.script.Hash() // load the script first: EVAL is not matched
	}
	return slices.Contains(args, any(h.key))
}

func (h *evalHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *evalHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *evalHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.match(cmd) && h.done.CompareAndSwap(false, true) {
			err := h.fn(ctx, cmd, next)
			if redis.HasErrorPrefix(err, "NOSCRIPT") {
				h.done.Store(false)
			}
			return err
		}
		return next(ctx, cmd)
	}
}

// hookedRunner is a replica whose Redis client passes through h.
func (e *env) hookedRunner(name string, h redis.Hook) *Runner {
	rdb := redis.NewClient(&redis.Options{Addr: e.redis.Addr})
	e.t.Cleanup(func() { rdb.Close() })
	rdb.AddHook(h)
	// Loaded, so that the hooked EVALSHA runs the script, with no NOSCRIPT
	// first.
	for _, s := range []*redis.Script{claimMember, releaseMember} {
		if err := s.Load(context.Background(), e.rdb).Err(); err != nil {
			e.t.Fatal(err)
		}
	}
	return New(e.cfg, e.logger(name), rdb, e.slackClient(), Options{Now: time.Now, BackoffBase: 20 * time.Millisecond})
}

// claimTask is a task that claims the items it posts.
type claimTask struct {
	name, channel string
	prefix        string                  // of the post of the new item
	on            func(e *env)            // turns the task on, before the runners are made
	news          func(e *env, r *Runner) // runs the first round, then adds one new item
}

var claimTasks = []claimTask{
	{"gerrit", "golang-cls", clPrefix(4260),
		func(e *env) { e.cfg.GerritPollInterval = time.Hour },
		func(e *env, r *Runner) { e.newCL(r, 4260) }},
	{"feed", "gotimefm", "New from Go Time: News",
		func(e *env) { e.cfg.FeedPollInterval = time.Hour; e.cfg.Feeds = e.cfg.Feeds[:1] },
		func(e *env, r *Runner) {
			feedRounds(e.t, r, 1)
			e.rss.Add(fakeweb.Item{ID: "news", Title: "News", Link: "https://example.com/news", Published: time.Now()})
		}},
}

// checkPostedOnce checks that the new item of tt was posted, once.
func (e *env) checkPostedOnce(tt claimTask) {
	e.t.Helper()
	if got := e.posts(tt.channel); len(got) != 1 || !strings.HasPrefix(got[0], tt.prefix) {
		e.t.Errorf("posts = %q; want the new item once", got)
	}
}

// checkRetriedAsOurs runs a round of tt on r, which must fail (round says
// how), then two more, which must not, and checks that the new item was
// posted once.
func (e *env) checkRetriedAsOurs(r *Runner, tt claimTask, round string) {
	e.t.Helper()
	if err := r.RunTask(context.Background(), tt.name); err == nil {
		e.t.Fatalf("%s: want an error", round)
	}
	runRounds(e.t, r, tt.name, 2)
	e.checkPostedOnce(tt)
}

// The lease is lost (or the process told to stop) while a claim is on its
// way: the claim is made in Redis, but the replica, its context cancelled,
// never reads the answer. Nobody may then hold a claim that nobody knows:
// the item is posted once, by this replica or the next leader.
func TestClaimNotLostToCancel(t *testing.T) {
	for _, tt := range claimTasks {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.on(e)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := e.hookedRunner("a", &evalHook{script: claimMember, fn: func(cctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
				err := next(context.WithoutCancel(cctx), cmd) // the claim is made
				cancel()                                      // the lease is lost meanwhile
				if cctx.Err() != nil {
					return cctx.Err() // go-redis stops waiting for the answer
				}
				return err
			}})
			tt.news(e, r)
			r.RunTask(ctx, tt.name) // cancelled half-way: its error says so
			next := e.runner("b", Options{})
			runRounds(t, next, tt.name, 2)
			e.checkPostedOnce(tt)
		})
	}
}

// go-redis gives up on a claim whose answer it never got (it repeats a
// command a few times, then fails): the claim may have been made. The
// replica's next round claims the item with the same token, so that it
// finds its own claim and posts.
func TestClaimWithoutAnswerRetriedAsOurs(t *testing.T) {
	for _, tt := range claimTasks {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.on(e)
			r := e.hookedRunner("a", &evalHook{script: claimMember, fn: func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
				next(ctx, cmd) // made, but its answer is lost on every attempt
				return errors.New("read tcp: connection reset by peer")
			}})
			tt.news(e, r)
			e.checkRetriedAsOurs(r, tt, "round with the claim's answer lost")
		})
	}
}

// A post that certainly went nowhere (Slack refused the channel), whose
// claim could not be given back (Redis failed just then): the next round
// claims the item with the same token, finds its own claim, and posts.
func TestUnreleasedClaimRetriedAsOurs(t *testing.T) {
	for _, tt := range claimTasks {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.on(e)
			r := e.hookedRunner("a", &evalHook{script: releaseMember, fn: func(context.Context, redis.Cmder, redis.ProcessHook) error {
				return errors.New("dial tcp: connection refused")
			}})
			tt.news(e, r)
			e.slack.Inject("chat.postMessage", slackfake.Fault{Error: "channel_not_found"})
			e.checkRetriedAsOurs(r, tt, "round with the post refused")
		})
	}
}

// newSetClaim is a claim of member with a fresh token, as a claimant with
// no kept token of its own makes it.
func newSetClaim(set, member string) setClaim {
	return setClaim{set: set, member: member, token: rand.Text()}
}
