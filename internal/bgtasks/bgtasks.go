// Package bgtasks runs gopherbot's periodic jobs: the channel cache, the
// merged Go CLs from Gerrit, the feeds, the Go Time live announcement and the
// welcome catch-up sweep.
//
// # One worker among replicas
//
// Any number of replicas may run. The one holding a lease in Redis (see
// Lease) runs every task; the others wait and take over when it lets go or
// dies. Losing the lease cancels the tasks at once.
//
// # Never twice
//
// Each task keeps its progress in Redis (high-water marks, sets of items
// seen), so a restart or a new leader carries on where the last one
// stopped. Posting is at most once per item: an item is claimed in Redis
// (an atomic "add if absent") before it is posted, and whoever loses the
// claim does not post. A claim carries a random token of its own, and
// finding the item already claimed with our token counts as winning: go-redis
// sends a command again when its reply was lost on a broken connection, and
// the retry of a claim must not take the claim its first send made for
// someone else's (the item would be skipped by everyone). For the same
// reason a claim, once sent, is not abandoned when the lease is lost, and a
// claim whose answer never came (or that could not be given back) leaves
// its token with the replica, for its next claim of the item (see
// claimTokens). Claims made before they had tokens are someone else's, as
// they were.
//
// Slack's answer to the post decides what becomes of the claim:
//
//   - Posted: the claim stays, as the record that it was.
//   - Slack may have posted (the error wraps slackapi.ErrOutcomeUnknown: its
//     answer was lost or cut off, or it answered a 5xx other than 503,
//     internal_error or fatal_error; slackapi does not repeat such a post),
//     or the process dies between claim and post: the claim stays and, if
//     the message did not go out, that one item is lost. We prefer a missed
//     announcement to a repeated one, as everywhere in gopherbot.
//   - Slack refused the item itself for good (msg_too_long, no_text,
//     invalid_blocks, ...): the claim stays, so that the item is never
//     tried again, an error names it, and the items after it go on.
//   - Anything else certainly posted nothing (a refusal of the channel or
//     the token, a 429 or 503, no posting slot before the deadline, Slack
//     unreachable, a channel name that does not resolve): the claim is
//     given back (only if it is still ours) and the round fails, to be
//     retried after a backoff.
//
// A post that has been claimed finishes even if the lease is lost meanwhile
// (the claim already keeps a new leader from posting it again).
//
// # Shadow mode
//
// Outside production (GOPHERBOT_ENV not "production"), tasks log what they
// would post and post nothing, but they record items as seen exactly as in
// production. Switching to production therefore starts from the present
// instead of dumping everything seen in shadow mode. The welcome sweep
// records newcomers as known in shadow mode but does not mark them
// welcomed, since they were not.
//
// With -dry-run, tasks log what they would post and change nothing in
// Redis: a dry run is tried next to a production deployment, and what it
// recorded as seen, the production leader would never post.
package bgtasks

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/heartbeat"
	"github.com/gophers/gopherbot/internal/welcomed"
)

// keyPrefix starts every Redis key of the tasks' state.
const keyPrefix = "gopherbot:bgtasks:"

// Options are the command-line choices of cmd/bgtasks and the knobs tests
// turn. The zero value is production behaviour.
type Options struct {
	// DryRun logs what would be posted instead of posting, as shadow mode
	// does, also in production; unlike shadow mode it records nothing (see
	// the package comment).
	DryRun bool
	// Task, when set, makes Run run that one task once and return.
	Task string

	// BackoffBase is the wait after a task's first failure in a row,
	// doubling with each further one up to BackoffMax. Defaults 5s and 10m.
	BackoffBase, BackoffMax time.Duration
	// PostTimeout bounds one claimed post (default 30s).
	PostTimeout time.Duration
	// HTTPClient fetches Gerrit, the feeds and the live status (default:
	// a client with a 30s timeout).
	HTTPClient *http.Client
	// Now is the clock of the tasks' date rules (default time.Now).
	Now func() time.Time
}

// Runner runs the background tasks on the replica that holds the lease.
type Runner struct {
	cfg   config.Config
	log   zerolog.Logger
	rdb   redis.UniversalClient
	opts  Options
	httpc *http.Client
	now   func() time.Time

	out     *outbox
	tokens  claimTokens // of claims whose outcome is not known
	chans   refresher   // may be nil: no channel cache task
	welcome *welcomed.Store

	tasks []task
	lease *Lease
	ttl   time.Duration // lease TTL
	poll  time.Duration // standby's retry interval
	hb    *heartbeat.Monitor

	redisLost chan struct{}
	leading   atomic.Bool
	crashed   atomic.Bool // tests: stop like a killed process, releasing nothing
}

// Run connects to Redis and Slack as cfg says and runs the tasks until ctx
// is done. It is the body of cmd/bgtasks with default options.
func Run(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	return Options{}.Run(ctx, cfg, log)
}

// Run is Run with these options; it has the shape of cli.RunFunc.
func (o Options) Run(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	ropts, err := cfg.RedisOptions()
	if err != nil {
		return fmt.Errorf("bgtasks: %w", err)
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()
	sc := newSlack(cfg, rdb, log)
	return New(cfg, log, rdb, sc, o).Run(ctx)
}

// New returns a runner over an existing Redis client and Slack client (the
// all-in-one passes its embedded Redis and a client of the fake Slack).
func New(cfg config.Config, log zerolog.Logger, rdb redis.UniversalClient, sc Slack, o Options) *Runner {
	if o.BackoffBase <= 0 {
		o.BackoffBase = 5 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 10 * time.Minute
	}
	if o.BackoffMax < o.BackoffBase {
		o.BackoffMax = o.BackoffBase
	}
	if o.PostTimeout <= 0 {
		o.PostTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	httpc := o.HTTPClient
	if httpc == nil {
		httpc = &http.Client{Timeout: 30 * time.Second}
	}
	ttl := cfg.BgtasksLeaseTTL
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	r := &Runner{
		cfg:       cfg,
		log:       log,
		rdb:       rdb,
		opts:      o,
		httpc:     httpc,
		now:       o.Now,
		welcome:   welcomed.New(rdb),
		lease:     NewLease(rdb, LeaseKey, ttl),
		ttl:       ttl,
		poll:      ttl / 3,
		redisLost: make(chan struct{}, 1),
	}
	r.hb = r.newHeartbeat()
	r.out, r.chans = newOutbox(cfg, log, rdb, sc, !cfg.Production || o.DryRun)
	r.tasks = r.table()
	return r
}

// table is every task of the bot, in one place.
func (r *Runner) table() []task {
	var ts []task
	if r.chans != nil && r.cfg.ChannelCacheInterval > 0 {
		ts = append(ts, task{"channels", r.cfg.ChannelCacheInterval, r.chans.Refresh})
	}
	if r.cfg.GerritURL != "" && r.cfg.GerritChannel != "" && r.cfg.GerritPollInterval > 0 {
		ts = append(ts, task{"gerrit", r.cfg.GerritPollInterval, r.pollGerrit})
	}
	if r.cfg.FeedPollInterval > 0 {
		for _, f := range r.cfg.Feeds {
			ts = append(ts, task{"feed:" + f.Channel + "=" + config.RedactURL(f.URL), r.cfg.FeedPollInterval, func(ctx context.Context) error { return r.pollFeed(ctx, f) }})
		}
	}
	if r.cfg.GoTimeStatusURL != "" && r.cfg.GoTimeChannel != "" && r.cfg.GoTimePollInterval > 0 {
		ts = append(ts, task{"gotime", r.cfg.GoTimePollInterval, r.pollGoTime})
	}
	if r.cfg.WelcomeSweepInterval > 0 {
		ts = append(ts, task{"welcome", r.cfg.WelcomeSweepInterval, r.sweepMembers})
	}
	return ts
}
