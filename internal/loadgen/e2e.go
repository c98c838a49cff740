package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/consumer"
	"github.com/gophers/gopherbot/internal/cputime"
	"github.com/gophers/gopherbot/internal/gateway"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/internal/slackfake"
	"github.com/gophers/gopherbot/workqueue"
)

// Limits of an end-to-end run, whatever the flags say.
const (
	MaxUsers = 20000
	MaxRate  = 20000
)

// E2EOptions of an end-to-end run: the real gateway, one real consumer and
// the fake Slack Web API in this process, on a real Redis.
//
// Every event is a direct message from one of Users simulated people, each
// with a DM open with the bot, taken in turn: Slack allows about one post per
// second per channel (the consumer keeps to it through Redis), so spreading
// the events over many DMs is what a busy workspace looks like. Event n says
// "d/example.com/e<n>" and is answered "https://pkg.go.dev/example.com/e<n>",
// which ties each chat.postMessage the fake receives to its event.
type E2EOptions struct {
	RedisURL string // redis:// on a loopback address; its queue must be idle

	// Rate > 0 is the latency mode: an open loop that offers Rate events per
	// second for Duration after Warmup events at the same rate. Each event
	// is signed just before its scheduled send time, and its latency runs
	// from that time, not from when a connection was free to send it, so a
	// slow answer delays no measurement (no coordinated omission).
	Rate     float64
	Duration time.Duration
	Warmup   int

	// Rate 0 is the throughput mode: Count events are queued through the
	// gateway first, then the consumer is started and handles them all; the
	// result is its rate between the 10% and the 90% answer. A post-only
	// baseline comes first (see E2EResult.PostOnly).
	Count int

	Users int           // simulated people; 0: enough for the pacing (see DefaultUsers)
	Conns int           // keep-alive connections to the gateway; default 16
	Grace time.Duration // wait this long without a new answer before counting the rest lost; default 5s

	Concurrency int // consumer handlers in flight; 0: CONSUMER_CONCURRENCY's default
	RecordLimit int // calls the fake Slack keeps; default 10000

	Log     zerolog.Logger          // of the gateway, the consumer and its Slack client
	OnStart func()                  // called when the measured phase starts
	Inspect func(*slackfake.Server) // called after the run, before the fake Slack closes
}

// DefaultUsers is how many people a run simulates when E2EOptions.Users is
// 0: each DM then gets an event every 2 seconds at rate (every 4 at most in
// the throughput mode at 2,500 events/s), well inside Slack's pacing of one
// post per second per channel.
func DefaultUsers(rate float64) int {
	if rate <= 0 {
		return 10000
	}
	return min(max(1000, int(math.Ceil(2*rate))), MaxUsers)
}

// Dist is a latency distribution.
type Dist struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

func dist(d []time.Duration) Dist {
	slices.Sort(d)
	r := Dist{N: len(d), P50: Percentile(d, 0.50), P90: Percentile(d, 0.90), P99: Percentile(d, 0.99)}
	if len(d) > 0 {
		r.Max = d[len(d)-1]
	}
	return r
}

// E2EResult of a run. Counts are of the measured events (in the latency
// mode, those after the warm-up) unless said otherwise.
type E2EResult struct {
	Users      int
	Events     int         // measured events
	Statuses   map[int]int // the gateway's answers to them
	Errors     int         // requests that got no answer from the gateway
	Answered   int         // events answered in the fake Slack
	Lost       int         // events the gateway took (200) and nobody answered within the grace time
	Duplicates int         // answers beyond the first of an event (every event, warm-up included)
	Unexpected int         // other chat.postMessage calls, or failed ones

	// Latency mode.
	Answer Dist // scheduled send time to the fake Slack receiving the answer
	Accept Dist // scheduled send time to the gateway's 200: the baseline, same requests
	// Elapsed is the sending time of the measured events (latency mode), or
	// the consumer's start to the last answer (throughput mode).
	Elapsed time.Duration

	// Steady is answers per second between the 10% and the 90% answer of
	// the measured events: the throughput mode's figure. In the latency mode
	// it tells whether the pipeline kept up with the offered rate.
	Steady float64

	// Throughput mode.
	Queued   time.Duration // time to queue Count events through the gateway
	PostOnly float64       // the baseline: posts per second the consumer's own Slack client makes to the fake, Concurrency at once, no queue, no handler

	// CPU of this process (sender, gateway, consumer, fake Slack) and of the
	// Redis server in the measured phase.
	CPU, RedisCPU time.Duration
	// Waited and RedisWaited are how long the threads of this process and of
	// the Redis server waited for a CPU while runnable in the measured phase
	// (Linux, Redis on this machine; else 0): on a shared machine, the part
	// of the latency that is other people's work.
	Waited, RedisWaited time.Duration
}

// CPUPerEvent is this process's CPU per answered event.
func (r E2EResult) CPUPerEvent() time.Duration { return per(r.CPU, r.Answered) }

// RedisPerEvent is the Redis server's CPU per answered event.
func (r E2EResult) RedisPerEvent() time.Duration { return per(r.RedisCPU, r.Answered) }

// resources holds the CPU use and the run-queue waits of this process and
// of Redis so far.
type resources struct{ cpu, redisCPU, waited, redisWaited time.Duration }

func (p *pipeline) snapshot(ctx context.Context) resources {
	u := resources{cpu: cputime.Process(), redisCPU: redisCPU(ctx, p.rdb), waited: runQueueWait(os.Getpid())}
	if p.redisPID > 0 {
		u.redisWaited = runQueueWait(p.redisPID)
	}
	return u
}

// since fills in r the resources used from u0 to u.
func (r *E2EResult) since(u0, u resources) {
	r.CPU, r.RedisCPU = u.cpu-u0.cpu, u.redisCPU-u0.redisCPU
	r.Waited, r.RedisWaited = u.waited-u0.waited, u.redisWaited-u0.redisWaited
}

func per(d time.Duration, n int) time.Duration {
	if n == 0 {
		return 0
	}
	return d / time.Duration(n)
}

func (o *E2EOptions) check() error {
	if o.Conns == 0 {
		o.Conns = 16
	}
	if o.Grace <= 0 {
		o.Grace = 5 * time.Second
	}
	if o.RecordLimit <= 0 {
		o.RecordLimit = 10000
	}
	if o.Users == 0 {
		o.Users = DefaultUsers(o.Rate)
	}
	switch {
	case o.Rate < 0 || o.Rate > MaxRate || math.IsNaN(o.Rate):
		return fmt.Errorf("loadgen: rate must be 0 to %d events/s", MaxRate)
	case o.Rate > 0 && (o.Duration <= 0 || o.Duration > MaxDuration):
		return fmt.Errorf("loadgen: duration must be positive and at most %v", MaxDuration)
	case o.Rate > 0 && (o.Warmup < 0 || o.Rate*o.Duration.Seconds()+float64(o.Warmup) > MaxCount):
		return fmt.Errorf("loadgen: rate × duration plus warm-up must be at most %d events", MaxCount)
	case o.Rate > 0 && o.Rate*o.Duration.Seconds() < 1:
		return errors.New("loadgen: rate × duration is less than one event")
	case o.Rate == 0 && (o.Count < 1 || o.Count > MaxCount):
		return fmt.Errorf("loadgen: count must be 1 to %d", MaxCount)
	case o.Users < 1 || o.Users > MaxUsers:
		return fmt.Errorf("loadgen: users must be 1 to %d", MaxUsers)
	case o.Conns < 1 || o.Conns > MaxConns:
		return fmt.Errorf("loadgen: connections must be 1 to %d", MaxConns)
	case o.Concurrency < 0:
		return errors.New("loadgen: negative consumer concurrency")
	}
	return CheckLoopback(o.RedisURL)
}

// RunE2E runs the whole bot's path once: signed events into the real
// gateway, through Redis, to one real consumer, whose answers the fake Slack
// Web API receives.
func RunE2E(ctx context.Context, o E2EOptions) (E2EResult, error) {
	if err := o.check(); err != nil {
		return E2EResult{}, err
	}
	p, err := startPipeline(ctx, o)
	if err != nil {
		return E2EResult{}, err
	}
	res, err := p.run(ctx)
	if o.Inspect != nil {
		o.Inspect(p.slack)
	}
	if cerr := p.close(); err == nil {
		err = cerr
	}
	return res, err
}

// person is a simulated member with the DM they have open with the bot.
type person struct{ user, dm string }

// addPeople adds n people named prefix00000... to the fake, each with a DM
// open with the bot.
func addPeople(slack *slackfake.Server, prefix string, n int) ([]person, error) {
	people := make([]person, n)
	for i := range people {
		u, err := slack.AddUser(slackfake.User{Name: fmt.Sprintf("%s%05d", prefix, i)})
		if err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
		dm, _, err := slack.OpenIM(u.ID)
		if err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
		people[i] = person{u.ID, dm}
	}
	return people, nil
}

// postOnlyPosts is the most posts of the post-only baseline.
const postOnlyPosts = 2000

// pipeline is one run's parts.
type pipeline struct {
	o      E2EOptions
	cfg    config.Config
	slack  *slackfake.Server
	people []person // who sends the events, in turn
	// baseline are the DMs of the post-only baseline (throughput mode).
	baseline []person
	rdb      *redis.Client // the consumer's, also for stats
	redisPID int           // the Redis server's process, when on this machine
	api      *slackapi.Client
	nonce    string

	gatewayURL  *url.URL
	stopGateway func() error

	stopConsumer func() error
}

func startPipeline(ctx context.Context, o E2EOptions) (_ *pipeline, err error) {
	p := &pipeline{o: o, stopGateway: func() error { return nil }, stopConsumer: func() error { return nil }}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	b := make([]byte, 16)
	rand.Read(b)
	secret := hex.EncodeToString(b)
	p.nonce = secret[:8] // event_ids unique across runs on one Redis

	p.slack = slackfake.New(slackfake.WithRecordLimit(o.RecordLimit))
	if _, err := p.slack.Seed(); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	if p.people, err = addPeople(p.slack, "load", o.Users); err != nil {
		return nil, err
	}
	if o.Rate == 0 {
		// The post-only baseline posts to DMs of its own, so that the
		// posting slots it takes delay no answer.
		if p.baseline, err = addPeople(p.slack, "base", min(o.Users, postOnlyPosts)); err != nil {
			return nil, err
		}
	}

	settings := map[string]string{
		"REDIS_URL":            o.RedisURL,
		"SLACK_SIGNING_SECRET": secret,
		"SLACK_BOT_TOKEN":      p.slack.Token(),
		"SLACK_API_URL":        p.slack.APIURL(),
		"GOPHERBOT_ENV":        "production",
		"SHUTDOWN_TIMEOUT":     "5s",
	}
	if o.Concurrency > 0 {
		settings["CONSUMER_CONCURRENCY"] = strconv.Itoa(o.Concurrency)
	}
	p.cfg, err = config.Load(func(k string) string { return settings[k] }, config.Gateway|config.Consumer)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	if p.o.Concurrency == 0 {
		p.o.Concurrency = p.cfg.Concurrency
	}
	ropts, err := p.cfg.RedisOptions()
	if err != nil {
		return nil, fmt.Errorf("loadgen: -redis: %w", err)
	}
	p.rdb = redis.NewClient(ropts)
	if err := p.rdb.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("loadgen: Redis at %s: %w", ropts.Addr, err)
	}
	if err := checkIdle(ctx, p.rdb, o.Log); err != nil {
		return nil, err
	}
	p.redisPID = redisPID(ctx, p.rdb)
	p.api = slackapi.New(p.cfg.SlackBotToken, p.cfg.SlackAPIURL, p.rdb, o.Log.With().Str("part", "slack").Logger())

	u, _, stop, err := StartGateway(ctx, o.RedisURL, []byte(secret), o.Log.With().Str("part", "gateway").Logger())
	if err != nil {
		return nil, err
	}
	p.stopGateway = stop
	p.gatewayURL, _ = url.Parse(u)
	return p, nil
}

// checkIdle refuses a Redis whose queue holds events nobody handled (say,
// from -self or -compare): the consumer would handle them first.
func checkIdle(ctx context.Context, rdb *redis.Client, log zerolog.Logger) error {
	q := workqueue.New(rdb, workqueue.Options{Log: log})
	defer q.Close()
	st, err := q.Stats(ctx, slackevent.All)
	if err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	if !st.Idle() {
		var n int64
		for _, s := range st.Streams {
			n += s.Lag + s.Pending
		}
		return fmt.Errorf("loadgen: the Redis queue holds %d unhandled events (from an interrupted run, or not a throwaway Redis?); "+
			"use an empty Redis, or flush this one", n)
	}
	return nil
}

// removeRun deletes what a -self or -compare run stored, which nobody
// consumes: its stream entries and its dedup records (event IDs beginning
// with idPrefix). The next run then starts from the same state, and -e2e
// finds an idle queue. checkIdle made sure before the run that the streams
// held nothing else.
func removeRun(ctx context.Context, rdb *redis.Client, idPrefix string) error {
	q := workqueue.New(rdb, workqueue.Options{Log: zerolog.Nop()})
	defer q.Close()
	for _, kind := range slackevent.All {
		if err := removeEntries(ctx, rdb, q.StreamKey(kind), idPrefix); err != nil {
			return fmt.Errorf("loadgen: removing the run's entries: %w", err)
		}
	}
	keys := make([]string, 0, 1000)
	unlink := func() error {
		if len(keys) == 0 {
			return nil
		}
		err := rdb.Unlink(ctx, keys...).Err()
		keys = keys[:0]
		return err
	}
	var err error
	it := rdb.Scan(ctx, 0, q.DedupKey(idPrefix)+"*", int64(cap(keys))).Iterator()
	for err == nil && it.Next(ctx) {
		if keys = append(keys, it.Val()); len(keys) == cap(keys) {
			err = unlink()
		}
	}
	if err == nil {
		err = it.Err()
	}
	if err == nil {
		err = unlink()
	}
	if err != nil {
		return fmt.Errorf("loadgen: removing the run's dedup records: %w", err)
	}
	return nil
}

// removeEntries deletes the entries of stream whose event ID begins with
// idPrefix, and no other: someone else may have stored events meanwhile.
func removeEntries(ctx context.Context, rdb *redis.Client, stream, idPrefix string) error {
	const page = 1000
	ids := make([]string, 0, page)
	for start := "-"; ; {
		msgs, err := rdb.XRangeN(ctx, stream, start, "+", page).Result()
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, m := range msgs {
			if id, _ := m.Values["id"].(string); strings.HasPrefix(id, idPrefix) {
				ids = append(ids, m.ID)
			}
		}
		if len(ids) > 0 {
			if err := rdb.XDel(ctx, stream, ids...).Err(); err != nil {
				return err
			}
		}
		if len(msgs) < page {
			return nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// allStored reports whether the gateway stored every measured event: it
// answered each one, with a 200.
func (r E2EResult) allStored() bool {
	return r.Errors == 0 && r.Statuses[http.StatusOK] == r.Events
}

// startConsumer runs one consumer until stopConsumer.
func (p *pipeline) startConsumer(ctx context.Context) error {
	log := p.o.Log.With().Str("part", "consumer").Logger()
	c, err := consumer.New(p.cfg, log, p.rdb, p.api)
	if err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	p.stopConsumer = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	return nil
}

func (p *pipeline) close() error {
	err := p.stopConsumer()
	if gerr := p.stopGateway(); err == nil {
		err = gerr
	}
	if p.rdb != nil {
		p.rdb.Close()
	}
	if p.slack != nil {
		p.slack.Close()
	}
	return err
}

// AnswerPrefix starts the answer to event n, followed by n.
const AnswerPrefix = "https://pkg.go.dev/example.com/e"

// answers records when the fake Slack received the answer to each event,
// as an offset from base.
type answers struct {
	base       time.Time
	at         []atomic.Int64
	count      []atomic.Int32
	answered   atomic.Int64
	duplicates atomic.Int64
	unexpected atomic.Int64
}

func newAnswers(n int, base time.Time) *answers {
	return &answers{base: base, at: make([]atomic.Int64, n), count: make([]atomic.Int32, n)}
}

// record is the fake Slack's OnCall: it runs before the fake answers, so it
// does only a few atomic operations.
func (a *answers) record(c slackfake.Call) {
	if c.Method != "chat.postMessage" {
		return
	}
	s, ok := strings.CutPrefix(c.Params["text"], AnswerPrefix)
	n, err := strconv.Atoi(s)
	if !ok || err != nil || n < 0 || n >= len(a.at) || !c.OK() {
		a.unexpected.Add(1)
		return
	}
	if a.count[n].Add(1) > 1 {
		a.duplicates.Add(1)
		return
	}
	a.at[n].Store(int64(c.Time.Sub(a.base)))
	a.answered.Add(1)
}

// wait returns when want events are answered, or when no answer came for
// grace, or ctx is done.
func (a *answers) wait(ctx context.Context, want int64, grace time.Duration) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	last, lastAt := a.answered.Load(), time.Now()
	for {
		n := a.answered.Load()
		if n >= want {
			return
		}
		if n != last {
			last, lastAt = n, time.Now()
		} else if time.Since(lastAt) > grace {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// answeredAt returns the answer's offset from base, if event n has one.
func (a *answers) answeredAt(n int) (time.Duration, bool) {
	if a.count[n].Load() == 0 {
		return 0, false
	}
	return time.Duration(a.at[n].Load()), true
}

// steady is the answer rate between the 10% and the 90% answer of the
// sorted answer offsets.
func steady(sorted []time.Duration) float64 {
	if len(sorted) < 10 {
		return 0
	}
	lo, hi := len(sorted)/10, len(sorted)-1-len(sorted)/10
	d := sorted[hi] - sorted[lo]
	if d <= 0 {
		return 0
	}
	return float64(hi-lo) / d.Seconds()
}

// request returns event n as a raw signed request sent at (and said at) t.
func (p *pipeline) request(n int, t time.Time) []byte {
	who := p.people[n%len(p.people)]
	body := DMBody("Ev"+p.nonce+"-"+strconv.Itoa(n), p.slack.TeamID(), p.slack.Bot().ID, who.user, who.dm,
		"d/example.com/e"+strconv.Itoa(n), t)
	ts := strconv.FormatInt(t.Unix(), 10)
	return rawRequest(p.gatewayURL, ts, gateway.Signature([]byte(p.cfg.SlackSigningSecret), ts, body), body)
}

func (p *pipeline) run(ctx context.Context) (E2EResult, error) {
	if p.o.Rate > 0 {
		return p.runLatency(ctx)
	}
	return p.runThroughput(ctx)
}

// dial opens the keep-alive connections to the gateway.
func (p *pipeline) dial(ctx context.Context) ([]*Conn, func(), error) {
	return dialAll(ctx, p.gatewayURL.Host, p.o.Conns)
}

// runLatency offers o.Rate events per second, open loop.
func (p *pipeline) runLatency(ctx context.Context) (E2EResult, error) {
	o := p.o
	measured := int(math.Round(o.Rate * o.Duration.Seconds()))
	total := o.Warmup + measured
	interval := float64(time.Second) / o.Rate
	sched := func(i int) time.Duration { return time.Duration(float64(i) * interval) }

	if err := p.startConsumer(ctx); err != nil {
		return E2EResult{}, err
	}
	conns, closeConns, err := p.dial(ctx)
	if err != nil {
		return E2EResult{}, err
	}
	defer closeConns()

	// Let the workers and the consumer settle before the first event.
	base := time.Now().Add(100 * time.Millisecond)
	ans := newAnswers(total, base)
	defer p.slack.OnCall(ans.record)()

	var (
		next     atomic.Int64
		accepted = make([]atomic.Int64, total) // offset of the gateway's answer
		status   = make([]atomic.Int32, total) // 0: no answer
		wg       sync.WaitGroup
		use0     resources
		started  = make(chan struct{})
	)
	startAt := base.Add(sched(o.Warmup))
	startTimer := time.AfterFunc(time.Until(startAt), func() {
		defer close(started)
		if o.OnStart != nil {
			o.OnStart()
		}
		use0 = p.snapshot(ctx)
	})
	defer startTimer.Stop()
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				at := base.Add(sched(i))
				// Sign while waiting for the send time: the signature is
				// the sender's cost, not the pipeline's.
				req := p.request(i, at)
				if d := time.Until(at); d > 0 {
					timer.Reset(d)
					select {
					case <-timer.C:
					case <-ctx.Done():
						return
					}
				}
				code, err := c.Do(req, 10*time.Second)
				if err != nil {
					if c.redial(ctx) != nil {
						return
					}
					continue
				}
				accepted[i].Store(int64(time.Since(base)))
				status[i].Store(int32(code))
			}
		}()
	}
	wg.Wait()
	sendEnd := time.Since(base)
	if ctx.Err() != nil {
		return E2EResult{}, ctx.Err()
	}
	<-started
	var accepts int64
	for i := range status {
		if status[i].Load() == 200 {
			accepts++
		}
	}
	ans.wait(ctx, accepts, o.Grace)
	res := E2EResult{
		Users:    len(p.people),
		Events:   measured,
		Statuses: map[int]int{},
		Elapsed:  sendEnd - sched(o.Warmup),
	}
	res.since(use0, p.snapshot(ctx))
	var lat, acc, at []time.Duration
	for i := o.Warmup; i < total; i++ {
		code := int(status[i].Load())
		if code == 0 {
			res.Errors++
			continue
		}
		res.Statuses[code]++
		acc = append(acc, time.Duration(accepted[i].Load())-sched(i))
		t, ok := ans.answeredAt(i)
		if !ok {
			if code == 200 {
				res.Lost++
			}
			continue
		}
		res.Answered++
		lat = append(lat, t-sched(i))
		at = append(at, t)
	}
	res.Answer, res.Accept = dist(lat), dist(acc)
	slices.Sort(at)
	res.Steady = steady(at)
	res.Duplicates = int(ans.duplicates.Load())
	res.Unexpected = int(ans.unexpected.Load())
	return res, nil
}

// runThroughput queues o.Count events, then lets one consumer handle them.
func (p *pipeline) runThroughput(ctx context.Context) (E2EResult, error) {
	o := p.o
	res := E2EResult{Users: len(p.people), Events: o.Count}

	// The baseline: the consumer's own Slack client posting to the fake as
	// fast as Concurrency callers can, each to another DM (paced through
	// Redis as the consumer's posts are). Every answer costs at least this.
	postOnly, err := p.postOnly(ctx)
	if err != nil {
		return E2EResult{}, err
	}
	res.PostOnly = postOnly

	// Queue every event through the gateway; signed as they are queued, so
	// that none is stale when the consumer gets to it.
	conns, closeConns, err := p.dial(ctx)
	if err != nil {
		return E2EResult{}, err
	}
	now := time.Now()
	reqs := make([][]byte, o.Count)
	for i := range reqs {
		reqs[i] = p.request(i, now)
	}
	q := phase(ctx, conns, reqs, 10*time.Second, time.Time{})
	closeConns()
	reqs = nil
	res.Queued = q.Elapsed
	res.Statuses, res.Errors = q.Statuses, q.Errors
	if ctx.Err() != nil {
		return E2EResult{}, ctx.Err()
	}

	base := time.Now()
	ans := newAnswers(o.Count, base)
	defer p.slack.OnCall(ans.record)()
	if o.OnStart != nil {
		o.OnStart()
	}
	use0 := p.snapshot(ctx)
	if err := p.startConsumer(ctx); err != nil {
		return E2EResult{}, err
	}
	ans.wait(ctx, int64(q.Statuses[200]), o.Grace)
	res.since(use0, p.snapshot(ctx))
	if ctx.Err() != nil {
		return E2EResult{}, ctx.Err()
	}
	var at []time.Duration
	for i := range o.Count {
		if t, ok := ans.answeredAt(i); ok {
			at = append(at, t)
		}
	}
	slices.Sort(at)
	res.Answered = len(at)
	res.Lost = q.Statuses[200] - res.Answered
	if len(at) > 0 {
		res.Elapsed = at[len(at)-1]
	}
	res.Steady = steady(at)
	res.Duplicates = int(ans.duplicates.Load())
	res.Unexpected = int(ans.unexpected.Load())
	return res, nil
}

// postOnly posts once to each baseline DM, Concurrency at once, and returns
// the posts per second.
func (p *pipeline) postOnly(ctx context.Context) (float64, error) {
	var (
		next   atomic.Int64
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	start := time.Now()
	for range p.o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(p.baseline) {
					return
				}
				pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := p.api.PostMessage(pctx, p.baseline[i].dm, "Hello from the load tool's baseline.", slackapi.PostOptions{})
				cancel()
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("loadgen: post-only baseline: %d of %d posts failed", f, len(p.baseline))
	}
	return float64(len(p.baseline)) / elapsed.Seconds(), nil
}

// DMBody returns an Events API body of workspace team for the bot user bot:
// user says text in the DM channel at t. text must need no JSON escaping.
func DMBody(id, team, bot, user, channel, text string, t time.Time) []byte {
	us := t.UnixMicro()
	ts := strconv.FormatInt(us/1e6, 10) + "." + fmt.Sprintf("%06d", us%1e6)
	b := make([]byte, 0, 640)
	b = append(b, `{"token":"ZZZZZZWSxiZZZ2yIvs3peJ","team_id":"`...)
	b = append(b, team...)
	b = append(b, `","api_app_id":"A01GOPHBOT","event":{"client_msg_id":"8c4f1e5a-2b7d-4e0c-9a61-3f2d8b7c9e10","type":"message","text":"`...)
	b = append(b, text...)
	b = append(b, `","user":"`...)
	b = append(b, user...)
	b = append(b, `","ts":"`...)
	b = append(b, ts...)
	b = append(b, `","blocks":[{"type":"rich_text","block_id":"a1B2c","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"`...)
	b = append(b, text...)
	b = append(b, `"}]}]}],"team":"`...)
	b = append(b, team...)
	b = append(b, `","channel":"`...)
	b = append(b, channel...)
	b = append(b, `","event_ts":"`...)
	b = append(b, ts...)
	b = append(b, `","channel_type":"im"},"type":"event_callback","event_id":"`...)
	b = append(b, id...)
	b = append(b, `","event_time":`...)
	b = strconv.AppendInt(b, t.Unix(), 10)
	b = append(b, `,"authorizations":[{"enterprise_id":null,"team_id":"`...)
	b = append(b, team...)
	b = append(b, `","user_id":"`...)
	b = append(b, bot...)
	b = append(b, `","is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false}`...)
	return b
}

// rawRequest serialises a signed Events API request to u.
func rawRequest(u *url.URL, ts, sig string, body []byte) []byte {
	b := make([]byte, 0, len(body)+300)
	b = append(b, "POST "...)
	b = append(b, u.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, u.Host...)
	b = append(b, "\r\nUser-Agent: Slackbot 1.0 (+https://api.slack.com/robots)\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nX-Slack-Request-Timestamp: "...)
	b = append(b, ts...)
	b = append(b, "\r\nX-Slack-Signature: "...)
	b = append(b, sig...)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	return b
}
