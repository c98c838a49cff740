package consumer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/playground"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/internal/slackfake"
	"github.com/gophers/gopherbot/workqueue"
)

// env is a consumer wired to real parts: a redis-server, the fake Slack Web
// API with a seeded workspace, and a fake Playground. Tests publish Slack
// event envelopes to the queue, or hand them to Handle directly, and look at
// the calls the fake Slack received.
type env struct {
	t     testing.TB
	redis *redistest.Server
	rdb   *redis.Client
	slack *slackfake.Server
	ws    slackfake.Workspace
	play  *playground.Fake
	cfg   config.Config
	api   *slackapi.Client
	c     *Consumer
	q     *workqueue.Queue // publishes and reads stats
	logs  *logtest.Buffer

	mu   sync.Mutex
	next int // event IDs handed out
}

// envOptions change the defaults of newEnv.
type envOptions struct {
	settings     map[string]string // extra environment for config.Load
	slackOptions []slackapi.Option
	redis        *redistest.Server // share a server
	slack        *slackfake.Server // share a fake
}

// newEnv builds the parts and the Consumer, without starting it.
func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	e := &env{t: t, logs: &logtest.Buffer{}}
	t.Cleanup(func() { e.logs.CheckKeys(t) })
	e.redis = o.redis
	if e.redis == nil {
		e.redis = redistest.Start(t)
	}
	e.rdb = e.redis.Client()
	e.slack = o.slack
	if e.slack == nil {
		e.slack = slackfake.New()
		t.Cleanup(e.slack.Close)
		ws, err := e.slack.Seed()
		if err != nil {
			t.Fatal(err)
		}
		e.ws = ws
	}
	play, err := playground.NewFake()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { play.Close() })
	e.play = play

	settings := map[string]string{
		"REDIS_URL":            e.redis.URL(),
		"SLACK_BOT_TOKEN":      e.slack.Token(),
		"SLACK_API_URL":        e.slack.APIURL(),
		"PLAYGROUND_URL":       play.URL,
		"GOPHERBOT_ENV":        "production",
		"HANDLER_TIMEOUT":      "5s",
		"QUEUE_CLAIM_IDLE":     "10s",
		"SHUTDOWN_TIMEOUT":     "2s",
		"QUEUE_MAX_DELIVERIES": "3",
		"LOG_LEVEL":            "debug",
	}
	for k, v := range o.settings {
		settings[k] = v
	}
	cfg, err := config.Load(func(k string) string { return settings[k] }, config.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg

	log := zerolog.New(e.logs).Level(cfg.LogLevel).With().Timestamp().Logger()
	opts := append([]slackapi.Option{
		slackapi.WithPostInterval(0),
		slackapi.WithBackoff(5*time.Millisecond, 20*time.Millisecond),
	}, o.slackOptions...)
	e.api = slackapi.New(cfg.SlackBotToken, cfg.SlackAPIURL, e.rdb, log, opts...)
	c, err := New(cfg, log, e.rdb, e.api)
	if err != nil {
		t.Fatal(err)
	}
	c.tune = func(o *workqueue.Options) {
		// Notice the end of a test quickly, and retry failures quickly.
		o.Block = 50 * time.Millisecond
		o.Backoff = func(int) time.Duration { return 20 * time.Millisecond }
	}
	e.c = c
	e.q = workqueue.New(e.rdb, workqueue.Options{Log: log})
	t.Cleanup(func() { e.q.Close() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("consumer logs:\n%s", e.logs.String())
		}
	})
	return e
}

// start runs the consumer until the test ends.
func (e *env) start() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.c.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
	})
}

// identify does what Run does first, for tests that call Handle directly.
func (e *env) identify() {
	e.t.Helper()
	if err := e.c.identify(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.slack.Reset() // forget the auth.test
}

// eventID returns a new event ID.
func (e *env) eventID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.next++
	return fmt.Sprintf("Ev%08d", e.next)
}

// envelope wraps a Slack event as the Events API posts it (and the gateway
// queues it).
func (e *env) envelope(id string, eventTime time.Time, ev map[string]any) []byte {
	b, err := json.Marshal(map[string]any{
		"token":      "verification-token",
		"team_id":    e.slack.TeamID(),
		"api_app_id": "A0GOPHBOT",
		"event":      ev,
		"type":       "event_callback",
		"event_id":   id,
		"event_time": eventTime.Unix(),
		"authorizations": []map[string]any{{
			"team_id": e.slack.TeamID(), "user_id": e.slack.Bot().ID, "is_bot": true,
		}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// queued is one event as the gateway would queue it.
type queued struct {
	kind string
	workqueue.Event
}

// said is what someone says: a message event from user (a handle of the
// seeded workspace, or a user ID) in channel (a name, "dm", or an ID).
type said struct {
	user, channel, text string
	threadTS            string
	subtype             string
	botID               string
	ts                  string    // default: a new ts from the fake, now
	chType              string    // channel_type; default from the channel
	at                  time.Time // when it was said, default now
	files               []map[string]any
}

// message returns the message event of s, routed as the gateway routes it.
func (e *env) message(s said) queued {
	e.t.Helper()
	user := e.userID(s.user)
	ch, chType := e.channel(s.channel, user)
	if s.chType != "" {
		chType = s.chType
	}
	at := s.at
	if at.IsZero() {
		at = time.Now()
	}
	ts := s.ts
	if ts == "" {
		ts = fmt.Sprintf("%d.%06d", at.Unix(), at.Nanosecond()/1000)
	}
	ev := map[string]any{
		"type": "message", "channel": ch, "channel_type": chType,
		"user": user, "text": s.text, "ts": ts, "event_ts": ts,
	}
	if s.threadTS != "" {
		ev["thread_ts"] = s.threadTS
	}
	if s.subtype != "" {
		ev["subtype"] = s.subtype
	}
	if s.botID != "" {
		ev["bot_id"] = s.botID
	}
	if s.files != nil {
		ev["files"] = s.files
	}
	kind := slackevent.MessagePrivate
	if chType == "channel" {
		kind = slackevent.MessageChannel
	}
	id := e.eventID()
	return queued{kind, workqueue.Event{ID: id, Kind: kind, Body: e.envelope(id, at, ev)}}
}

// mention returns the app_mention event Slack sends, besides the message
// event, for a message that mentions the bot.
func (e *env) mention(s said) queued {
	q := e.message(s)
	var env map[string]any
	if err := json.Unmarshal(q.Body, &env); err != nil {
		e.t.Fatal(err)
	}
	ev := env["event"].(map[string]any)
	ev["type"] = "app_mention"
	delete(ev, "channel_type")
	id := e.eventID()
	env["event_id"] = id
	b, _ := json.Marshal(env)
	return queued{slackevent.AppMention, workqueue.Event{ID: id, Kind: slackevent.AppMention, Body: b}}
}

// teamJoin returns the team_join event of a new member, added to the fake.
func (e *env) teamJoin(name string, at time.Time) queued {
	e.t.Helper()
	u, err := e.slack.AddUser(slackfake.User{Name: name, RealName: strings.ToUpper(name[:1]) + name[1:]})
	if err != nil {
		e.t.Fatal(err)
	}
	ev := map[string]any{
		"type": "team_join",
		"user": map[string]any{
			"id": u.ID, "team_id": e.slack.TeamID(), "name": u.Name, "real_name": u.RealName,
			"deleted": false, "is_bot": false,
			"profile": map[string]any{"real_name": u.RealName, "display_name": u.Name},
		},
		"event_ts": fmt.Sprintf("%d.000100", at.Unix()),
	}
	id := e.eventID()
	return queued{slackevent.TeamJoin, workqueue.Event{ID: id, Kind: slackevent.TeamJoin, Body: e.envelope(id, at, ev)}}
}

// joined returns the member_joined_channel event of user joining channel.
func (e *env) joined(user, channel string, at time.Time) queued {
	e.t.Helper()
	uid := e.userID(user)
	ch, _ := e.channel(channel, uid)
	if err := e.slack.JoinChannel(ch, uid); err != nil {
		e.t.Fatal(err)
	}
	ev := map[string]any{
		"type": "member_joined_channel", "user": uid, "channel": ch, "channel_type": "C",
		"team": e.slack.TeamID(), "event_ts": fmt.Sprintf("%d.000200", at.Unix()),
	}
	id := e.eventID()
	return queued{slackevent.MemberJoinedChannel, workqueue.Event{ID: id, Kind: slackevent.MemberJoinedChannel, Body: e.envelope(id, at, ev)}}
}

// userID maps a seeded handle ("alice", "bot") to its ID; anything else is
// taken as an ID.
func (e *env) userID(name string) string {
	if name == "bot" {
		return e.slack.Bot().ID
	}
	if u, ok := e.slack.UserByName(name); ok {
		return u.ID
	}
	return name
}

// channel maps a channel name, or "dm" (the DM of user with the bot), to its
// ID and channel_type.
func (e *env) channel(name, user string) (id, chType string) {
	e.t.Helper()
	if name == "dm" {
		id, _, err := e.slack.OpenIM(user)
		if err != nil {
			e.t.Fatal(err)
		}
		return id, "im"
	}
	if c, ok := e.slack.ChannelByName(strings.TrimPrefix(name, "#")); ok {
		if c.IsPrivate {
			return c.ID, "group"
		}
		return c.ID, "channel"
	}
	return name, channelTypeOf(name)
}

// publish queues events as the gateway does.
func (e *env) publish(evs ...queued) {
	e.t.Helper()
	for _, ev := range evs {
		if _, err := e.q.Publish(context.Background(), ev.Event); err != nil {
			e.t.Fatal(err)
		}
	}
}

// handle hands ev to the consumer directly, as delivery attempt n.
func (e *env) handle(ev queued, attempt int) error {
	return e.c.Handle(context.Background(), &workqueue.Delivery{
		Event: ev.Event, EntryID: "1700000000000-0", Attempt: attempt, Enqueued: time.Now(),
	})
}

// waitIdle waits until the queue has handled everything published.
func (e *env) waitIdle() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := e.q.Stats(context.Background(), slackevent.All)
		if err == nil && st.Idle() {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("queue not idle after 10s: %+v (err %v)", st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// effects are the Web API methods whose calls people see.
var effects = map[string]bool{
	"chat.postMessage": true, "chat.postEphemeral": true, "reactions.add": true,
}

// seen renders the successful calls that people see, one per line.
func (e *env) seen() []string {
	var out []string
	for _, c := range e.slack.Calls() {
		if effects[c.Method] && c.OK() {
			out = append(out, e.slack.Render(c))
		}
	}
	return out
}

// ReadBlock reaches the queue's reads (the local all-in-one shortens it).
func TestReadBlock(t *testing.T) {
	e := newEnv(t, envOptions{})
	got := make(chan time.Duration, 1)
	e.c.tune = func(o *workqueue.Options) { got <- o.Block }
	e.c.ReadBlock = 123 * time.Millisecond
	e.start()
	select {
	case b := <-got:
		if b != 123*time.Millisecond {
			t.Errorf("the queue reads with Block %v; want ReadBlock, 123ms", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not build the queue's options")
	}
}
