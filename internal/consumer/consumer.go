// Package consumer is gopherbot's consumer process: it reads the queued
// Slack events, decodes each into a handler.Message, runs the chat features
// (internal/commands on a handler.Mux), and makes their answers in Slack
// through a Responder that makes each effect of an event at most once, also
// when the event is redelivered after a consumer died.
//
// What is not answered, and why (each logged at debug, or info for drops):
//
//   - the bot's own messages (also a thread_broadcast of its own reply),
//     other bots' messages, and message subtypes that are not someone saying
//     something (edits, deletions, joins, ...): see handler.Skip;
//   - an edited message: Slack sends the app_mention of a message again
//     when it is edited, and the message was answered when it was sent;
//   - a message that mentions the bot in a channel: Slack sends it twice, as
//     a message and as an app_mention, and the app_mention is answered;
//   - in a group DM, where Slack sends the message and may send the
//     app_mention too, the twin of the one handled first (the first claims
//     the message in Redis, gopherbot:effects:message:<channel>:<ts>). The
//     claim stays with the first when its handling fails: its retries
//     answer, and if it is dead-lettered the message goes unanswered, as
//     any message whose event is (see ledger.claimMessage);
//   - a message event older than Config.MessageMaxAge when it is handled
//     (a late answer confuses people more than none). Join events have no
//     age limit: a welcome is still welcome after an outage.
//
// Outside production (shadow mode) only DMs and messages that mention the
// bot get answers; every other effect (a reaction to an unaddressed message,
// a Playground link for a paste, a welcome) is logged as "shadow: would
// send ..." and not sent.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/glossary"
	"github.com/gophers/gopherbot/handler"
	"github.com/gophers/gopherbot/internal/chancache"
	"github.com/gophers/gopherbot/internal/commands"
	"github.com/gophers/gopherbot/internal/heartbeat"
	"github.com/gophers/gopherbot/internal/playground"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/internal/welcomed"
	"github.com/gophers/gopherbot/workqueue"
)

// Slack is the part of the Slack Web API the consumer uses.
type Slack interface {
	// AuthTest says who the token is; an error wrapping
	// slackapi.ErrTokenRejected means the token is no good.
	AuthTest(ctx context.Context) (slackapi.Identity, error)
	PostMessage(ctx context.Context, channel, text string, o slackapi.PostOptions) (ts string, err error)
	PostEphemeral(ctx context.Context, channel, user, text, threadTS string) error
	AddReaction(ctx context.Context, channel, ts, emoji string) error
	OpenDM(ctx context.Context, user string) (channel string, err error)
	DownloadFile(ctx context.Context, url string, maxBytes int64) ([]byte, error)
	// The channel cache asks these on a miss.
	chancache.Lister
}

var _ Slack = (*slackapi.Client)(nil)

// authTimeout bounds the auth.test at start-up, retries included.
const authTimeout = 30 * time.Second

// Consumer handles queued Slack events. It is a workqueue.Handler.
type Consumer struct {
	cfg    config.Config
	log    zerolog.Logger // with component=consumer
	base   zerolog.Logger // as given to New, for the parts with their own component
	rdb    redis.UniversalClient
	slack  Slack
	mux    *handler.Mux
	ledger ledger
	now    func() time.Time

	// me is who the bot is; set by identify before the first Handle.
	me identity

	// tune, when set, adjusts the queue's options (tests shorten its waits).
	tune func(*workqueue.Options)

	// tokenRejected is signalled by Handle when Slack rejects the bot
	// token: Run stops, so that the events wait in the queue for a new
	// token instead of being dead-lettered one by one.
	tokenRejected chan struct{}

	// channels is the channel cache of the handlers, whose listing for a
	// name that missed outlives the handler: Run stops it when it returns.
	channels *chancache.Cache

	// ReadBlock is how long one read of the queue waits for new events,
	// and so how long stopping may wait for the read in progress (its
	// events are run before Run returns); 0 keeps the queue's default,
	// 2s. The local all-in-one shortens it, so that a console script
	// ends soon after its last line.
	ReadBlock time.Duration
}

var _ workqueue.Handler = (*Consumer)(nil)

// New returns a consumer of the events queued in rdb that answers through
// slack. It registers every chat feature (internal/commands); Run starts it.
func New(cfg config.Config, log zerolog.Logger, rdb redis.UniversalClient, slack Slack) (*Consumer, error) {
	if rdb == nil || slack == nil {
		return nil, errors.New("consumer: need a Redis client and a Slack client")
	}
	// The parts below (the queue, the channel cache) name their own
	// component; they get the logger without ours, so no line has two.
	base := log
	log = log.With().Str("component", "consumer").Logger()
	c := &Consumer{
		cfg:    cfg,
		log:    log,
		base:   base,
		rdb:    rdb,
		slack:  slack,
		mux:    handler.NewMux(),
		ledger: newLedger(rdb),
		now:    time.Now,

		tokenRejected: make(chan struct{}, 1),
	}
	// Effects are numbered per handler run; see ledger.
	c.mux.Use(perRoute)
	channels := chancache.New(rdb, slack, base)
	c.channels = channels
	deps := commands.Deps{
		Glossary:            glossary.Default(),
		Channels:            channels,
		Files:               files{slack},
		Welcomed:            welcomed.New(rdb),
		NewbiesChannel:      cfg.NewbiesChannel,
		RecommendedChannels: cfg.RecommendedChannels,
		PlaygroundDenylist:  cfg.PlaygroundDenylist,
		Log:                 log,
	}
	if cfg.PlaygroundURL != "" {
		deps.Playground = &playground.Client{BaseURL: cfg.PlaygroundURL}
	}
	commands.Register(c.mux, deps)
	return c, nil
}

// Mux is the consumer's handler.Mux, with every chat feature registered.
func (c *Consumer) Mux() *handler.Mux { return c.mux }

// Run asks Slack who the bot is, then handles events until ctx is done and
// the handlers in flight have finished (within Config.ShutdownTimeout).
// A token Slack rejects stops it at once with an error that says so.
func (c *Consumer) Run(ctx context.Context) error {
	if err := c.identify(ctx); err != nil {
		return err
	}
	host, _ := os.Hostname()
	opts := workqueue.Options{
		Consumer:       c.cfg.ConsumerName(host + "-" + strconv.Itoa(os.Getpid())),
		DedupTTL:       c.cfg.DedupTTL,
		MaxLen:         c.cfg.StreamMaxLen,
		MaxDeliveries:  c.cfg.MaxDeliveries,
		HandlerTimeout: c.cfg.HandlerTimeout,
		ClaimIdle:      c.cfg.ClaimIdle,
		Concurrency:    c.cfg.Concurrency,
		Drain:          c.cfg.ShutdownTimeout,
		// The reader holds the slots of the batch it asks for while it
		// waits for new entries; asking for at most half of them leaves
		// the reclaimer slots to take over the entries of a dead consumer.
		ReadBatch: max(1, c.cfg.Concurrency/2),
		Block:     c.ReadBlock,
		Log:       c.base,
	}
	if c.tune != nil {
		c.tune(&opts)
	}
	q := workqueue.New(c.rdb, opts)
	defer q.Close()
	defer c.channels.Close() // once the handlers are done
	// Forget a rejection seen by an earlier Run, or after it stopped:
	// identify has just checked the token.
	select {
	case <-c.tokenRejected:
	default:
	}
	c.log.Info().Bool("shadow", !c.cfg.Production).Msg("consuming events")
	return c.consumeWhileRedisAnswers(ctx, q)
}

// consumeWhileRedisAnswers consumes while the Redis heartbeat is ready. When
// Redis has not answered for cfg.RedisHeartbeatLimit the consumer stops
// taking work (the handlers in flight finish or stay pending for others)
// and starts again by itself once Redis answers.
func (c *Consumer) consumeWhileRedisAnswers(ctx context.Context, q *workqueue.Queue) error {
	limit := c.cfg.RedisHeartbeatLimit
	if limit <= 0 {
		limit = 30 * time.Second
	}
	// What the heartbeat said last is what counts: Redis may be lost and
	// back more than once while a round drains its handlers, and a loss
	// already over must neither stop the next round nor make it wait for
	// a return that was reported before it.
	var redisLost atomic.Bool
	changed := make(chan struct{}, 1)
	hb := heartbeat.New(heartbeat.Redis(c.rdb), heartbeat.Options{
		Limit: limit,
		OnLost: func(err error) {
			redisLost.Store(true)
			notify(changed)
			c.log.Error().Err(err).Msg("Redis lost: stopped taking work")
		},
		OnBack: func() {
			redisLost.Store(false)
			notify(changed)
			c.log.Info().Msg("Redis is back: taking work again")
		},
	}, c.log)
	// The heartbeat stops with Run, also when Run returns on its own
	// while ctx is live: its caller then closes the Redis client.
	hbctx, stopHB := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() { defer close(hbDone); hb.Run(hbctx) }()
	defer func() { stopHB(); <-hbDone }()
	for {
		for redisLost.Load() {
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
			}
		}
		qctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- q.Consume(qctx, slackevent.All, c) }()
		var err error
	round:
		for {
			select {
			case err = <-done:
				break round
			case <-changed:
				if redisLost.Load() {
					stop()
					err = <-done
					break round
				}
			case <-c.tokenRejected:
				stop()
				<-done
				return fmt.Errorf("consumer: stopped: Slack rejected the bot token mid-run; the events wait in the queue until SLACK_BOT_TOKEN is replaced: %w", slackapi.ErrTokenRejected)
			}
		}
		stop()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("consumer: %w", err)
		}
	}
}

// notify sends on a channel of one without blocking: one pending signal is enough.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// identify learns the bot's user and bot IDs from auth.test.
func (c *Consumer) identify(ctx context.Context) error {
	actx, cancel := context.WithTimeout(ctx, authTimeout)
	defer cancel()
	id, err := c.slack.AuthTest(actx)
	switch {
	case errors.Is(err, slackapi.ErrTokenRejected):
		return fmt.Errorf("consumer: Slack rejected the bot token; set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-...): %w", err)
	case err != nil:
		return fmt.Errorf("consumer: cannot ask Slack who the bot is (auth.test): %w", err)
	case id.UserID == "":
		return errors.New("consumer: auth.test named no bot user: is SLACK_BOT_TOKEN a bot token?")
	}
	c.me = identity{UserID: id.UserID, BotID: id.BotID}
	c.log.Info().Str("bot_user", id.UserID).Str("bot_id", id.BotID).Str("team", id.TeamID).Msg("Slack says who the bot is")
	return nil
}

// Handle handles one queued event. An event that cannot be decoded is
// permanent (dead-lettered with the reason); a handler's error is returned
// as it is: transient unless it wraps workqueue.ErrPermanent.
func (c *Consumer) Handle(ctx context.Context, d *workqueue.Delivery) error {
	log := c.log.With().Str("event_id", d.ID).Str("kind", d.Kind).Int("attempt", d.Attempt).Logger()
	m, skip, err := decode(d.Body, c.me)
	if err != nil {
		log.Warn().Err(err).Msg("cannot decode the event; dead-lettering it")
		return workqueue.Permanent(fmt.Errorf("consumer: %w", err))
	}
	if skip != "" {
		log.Debug().Str("reason", skip).Str("user", m.User).Str("channel", m.Channel).Msg("ignored")
		return nil
	}
	if m.EventID == "" {
		m.EventID = d.ID
	}
	key := m.EventID
	if key == "" {
		// Not from Slack's Events API; the entry ID is stable across
		// redeliveries all the same.
		key = d.Kind + ":" + d.EntryID
	}
	if m.Kind == handler.KindTeamJoin && !c.cfg.Production {
		// A welcome is never an answer to someone who asked, so shadow mode
		// sends none. Not even the welcome handler runs: it would record the
		// member as welcomed, and production would then never greet them.
		// A channel join goes on to its handler, with a responder that
		// only logs: it says whether production would greet (in the
		// newbies channel) or not (anywhere else).
		log.Info().Str("user", m.User).Msg("shadow: would welcome")
		return nil
	}
	if m.Kind == handler.KindMessage && !m.Time.IsZero() {
		if age := c.now().Sub(m.Time); age > c.maxAge() {
			if d.Attempt > 1 {
				// An earlier handling failed or was cut off: whatever it
				// did not answer stays unanswered.
				log.Warn().Dur("age", age).Str("channel", m.Channel).Str("ts", m.TS).
					Msg("gave up a message: its earlier handling did not finish, and it is now too old to answer (a late answer confuses more than none)")
				return nil
			}
			log.Info().Dur("age", age).Str("channel", m.Channel).Str("ts", m.TS).Msg("dropped a stale message: a late answer confuses more than none")
			return nil
		}
	}
	if mayHaveTwin(m) {
		ok, owner, err := c.ledger.claimMessage(ctx, m.Channel, m.TS, key)
		if err != nil {
			log.Warn().Err(err).Msg("handling failed: cannot tell whether another event answers this message")
			return fmt.Errorf("consumer: %w", err)
		}
		if !ok {
			log.Info().Str("answered_by", owner).Str("channel", m.Channel).Str("ts", m.TS).
				Msg("not answered: the message came as two events, and is answered as its twin")
			return nil
		}
	}
	r := &responder{
		slack:      c.slack,
		ledger:     c.ledger,
		log:        log,
		m:          m,
		event:      key,
		shadow:     !c.cfg.Production && !(m.Kind == handler.KindMessage && m.Addressed()),
		production: c.cfg.Production,
	}
	if err := c.mux.ServeMessage(ctx, m, r); err != nil {
		// Asked of every handler's error, before queueError keeps only
		// those a retry may fix: a rejected token is permanent.
		if errors.Is(err, slackapi.ErrTokenRejected) {
			// No call will work until the token is replaced: this event,
			// like every other, waits in the queue (not a dead letter,
			// even on its last attempt) while Run stops.
			notify(c.tokenRejected)
			log.Error().Err(err).Msg("Slack rejected the bot token; leaving the event in the queue and stopping")
			// Not the event's failure: it keeps its attempts.
			return fmt.Errorf("consumer: %w: %s", workqueue.ErrNotAttempted, err)
		}
		err = queueError(err)
		ev := log.Warn().Err(err).Bool("permanent", errors.Is(err, workqueue.ErrPermanent))
		err = fmt.Errorf("consumer: %w", err)
		// Slack asked to wait (a 429 whose Retry-After did not fit the
		// deadline): the queue's retry waits at least that long.
		if d := slackapi.LongestRetryAfter(err); d > 0 {
			ev = ev.Dur("retry_after", d)
			err = workqueue.RetryAfter(err, d)
		}
		ev.Msg("handling failed")
		return err
	}
	return nil
}

// queueError is the error of a handling as the queue should see it. The Mux
// joins the errors of the handlers that failed; the event is dead-lettered
// at once only when every one of them failed for good. When one failed for
// a reason a retry may fix, the retry runs: the effects already made are
// skipped then (see ledger), and the handlers that failed for good fail
// again, until the queue dead-letters the event after its last attempt.
func queueError(err error) error {
	join, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	var retry []error
	for _, e := range join.Unwrap() {
		if !errors.Is(e, workqueue.ErrPermanent) {
			retry = append(retry, e)
		}
	}
	if len(retry) == 0 || len(retry) == len(join.Unwrap()) {
		return err
	}
	return partlyPermanent{all: err, retry: errors.Join(retry...)}
}

// partlyPermanent reads as all its errors and unwraps to the ones a retry
// may fix, so that errors.Is(err, workqueue.ErrPermanent) is false.
type partlyPermanent struct{ all, retry error }

func (e partlyPermanent) Error() string { return e.all.Error() }
func (e partlyPermanent) Unwrap() error { return e.retry }

func (c *Consumer) maxAge() time.Duration {
	if c.cfg.MessageMaxAge > 0 {
		return c.cfg.MessageMaxAge
	}
	return handler.MaxMessageAge
}

// Run connects to Redis and Slack as cfg says and runs a Consumer until ctx
// is done: the body of cmd/consumer.
func Run(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	opts, err := cfg.RedisOptions()
	if err != nil {
		return fmt.Errorf("consumer: REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	c, err := New(cfg, log, rdb, slackapi.New(cfg.SlackBotToken, cfg.SlackAPIURL, rdb, log))
	if err != nil {
		return err
	}
	return c.Run(ctx)
}

// files downloads files shared in Slack for the Playground feature.
type files struct{ slack Slack }

// Download fetches url with the bot token. Files larger than the
// Playground accepts are refused without reading them whole.
func (f files) Download(ctx context.Context, url string) ([]byte, error) {
	return f.slack.DownloadFile(ctx, url, playground.MaxSnippetSize)
}
