package allinone

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/console"
	"github.com/gophers/gopherbot/internal/fakeweb"
	"github.com/gophers/gopherbot/internal/playground"
	"github.com/gophers/gopherbot/internal/slackfake"
)

// Simulation is everything the local all-in-one stands in for: Redis, Slack,
// the Go Playground, Gerrit, a podcast feed and the live-status endpoint.
type Simulation struct {
	Redis      *miniredis.Miniredis // nil when REDIS_URL was given
	Slack      *slackfake.Server
	Playground *playground.Fake
	Gerrit     *fakeweb.Gerrit
	Feed       *fakeweb.Feed
	Live       *fakeweb.Live
	web        *server
	log        zerolog.Logger
	cfg        config.Config    // as pointed at the simulation
	con        *console.Console // prints the commands' notes under its output lock
	postWait   time.Duration    // how long a command waits for the bot's post; 0 is 5s
	episodes   int
	userTag    string       // in the IDs of people the console adds; "" leaves them to the fake
	users      atomic.Int64 // people the console added
	clBase     int          // /merge's CLs are numbered from it; 0 leaves them to the fake
	merged     int          // CLs /merge merged
}

// simAppID is the app ID of the simulated workspace's gopherbot: the
// console's events carry it, and the gateway accepts only it.
const simAppID = "A0GOPHERBOT"

// Simulate starts the simulated services and points cfg at them.
func Simulate(cfg *config.Config, log zerolog.Logger) (*Simulation, error) {
	return simulate(cfg, log, false)
}

// simulate is Simulate. With fresh, the people the console adds and the
// CLs merged in the simulated Gerrit get IDs and numbers of this run's
// own: a kept Redis (REDIS_URL) remembers whom earlier runs welcomed and
// which CLs they announced, and each run's workspace is a new one, whose
// newcomers and CLs are news. Without it (tests with a fixed console
// session) they are the same each run.
func simulate(cfg *config.Config, log zerolog.Logger, fresh bool) (*Simulation, error) {
	s := &Simulation{log: log}
	if fresh {
		s.userTag = strings.ToUpper(randomHex(3))
		// Unique for a day, and the bot forgets CLs after an hour.
		s.clBase = 100000 + int(time.Now().Unix()%86400)*10
	}
	if cfg.RedisURL == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("allinone: embedded Redis: %w", err)
		}
		s.Redis = mr
		cfg.RedisURL = "redis://" + mr.Addr()
		log.Info().Str("addr", mr.Addr()).Msg("no REDIS_URL: using an embedded in-process Redis (miniredis); its data is gone at exit")
	}

	s.Slack = slackfake.New(slackfake.WithRecordLimit(10000))
	ws, err := s.Slack.Seed()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("allinone: simulated workspace: %w", err)
	}
	if err := s.addNamedChannels(*cfg, ws); err != nil {
		s.Close()
		return nil, fmt.Errorf("allinone: simulated workspace: %w", err)
	}
	cfg.SlackAPIURL = s.Slack.APIURL()
	cfg.SlackBotToken = s.Slack.Token()
	cfg.SlackSigningSecret = randomHex(16)
	// The simulated workspace and its app are the only ones here: an app
	// or team ID left in the environment from a deployment would make
	// the gateway drop every event the console sends.
	cfg.SlackTeamID = s.Slack.TeamID()
	cfg.SlackAppID = simAppID

	pg, err := playground.NewFake()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("allinone: simulated playground: %w", err)
	}
	s.Playground = pg
	cfg.PlaygroundURL = pg.URL

	now := time.Now()
	s.Gerrit = fakeweb.NewGerrit()
	// The same CL each run: a kept Redis has it as seen, a new one
	// records it on the first run ever.
	s.Gerrit.Merge(fakeweb.Change{Number: 1, Project: "go", Subject: "all: a change merged before the bot started", Submitted: now.Add(-time.Hour)})
	s.Feed = fakeweb.NewFeed(fakeweb.RSS, "Go Time", "https://changelog.com/gotime")
	s.Feed.Add(fakeweb.Item{ID: "gotime-1", Title: "An episode published before the bot started", Link: "https://changelog.com/gotime/1", Published: now.Add(-24 * time.Hour)})
	s.Live = fakeweb.NewLive()

	mux := http.NewServeMux()
	mux.Handle("/gerrit/", http.StripPrefix("/gerrit", s.Gerrit))
	mux.Handle("/feeds/gotime.rss", s.Feed)
	mux.Handle("/live/status", s.Live)
	web, err := serve(mux)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("allinone: simulated web services: %w", err)
	}
	s.web = web
	cfg.GerritURL = web.URL() + "/gerrit"
	cfg.Feeds = []config.Feed{{Channel: "gotimefm", URL: web.URL() + "/feeds/gotime.rss"}}
	cfg.GoTimeStatusURL = web.URL() + "/live/status"
	// The simulated services are local and cheap to ask: poll them often,
	// so that /merge, /episode and /live show their posts at once.
	cfg.GerritPollInterval = time.Second
	cfg.FeedPollInterval = time.Second
	cfg.GoTimePollInterval = time.Second

	s.cfg = *cfg
	log.Info().Str("slack", cfg.SlackAPIURL).Str("playground", pg.URL).Str("web", web.URL()).
		Msg("no Slack settings: simulated Slack workspace, Go Playground, Gerrit, feed and live status")
	return s, nil
}

// addNamedChannels adds the channels that the settings name and the
// simulated workspace lacks (GERRIT_CHANNEL=go-cls, say), with the bot and
// the seeded people in them, so that a deployment's settings can be tried
// locally.
func (s *Simulation) addNamedChannels(cfg config.Config, ws slackfake.Workspace) error {
	members := []string{s.Slack.Bot().ID}
	for _, p := range slackfake.DefaultPeople {
		members = append(members, ws.People[p.Name])
	}
	names := []string{cfg.GerritChannel, cfg.GoTimeChannel, cfg.NewbiesChannel}
	names = append(names, cfg.RecommendedChannels...)
	names = append(names, cfg.PlaygroundDenylist...)
	for _, name := range names {
		if name == "" {
			continue
		}
		if _, ok := s.Slack.ChannelByName(name); ok {
			continue
		}
		if _, err := s.Slack.AddChannel(slackfake.Channel{Name: name, Members: members}); err != nil {
			return fmt.Errorf("channel #%s: %w", name, err)
		}
		s.log.Info().Str("channel", name).Msg("the settings name a channel the simulated workspace lacks: added it")
	}
	return nil
}

// Close stops every simulated service.
func (s *Simulation) Close() {
	if s.web != nil {
		s.web.Close()
	}
	if s.Playground != nil {
		s.Playground.Close()
	}
	if s.Slack != nil {
		s.Slack.Close()
	}
	if s.Redis != nil {
		s.Redis.Close()
	}
}

// readOnly calls are the bot looking around, not saying anything.
var readOnly = map[string]bool{
	"auth.test": true, "conversations.list": true, "conversations.info": true,
	"users.list": true, "users.info": true, "files.download": true,
}

// printer prints the simulated Slack's calls, each once, in order.
type printer struct {
	mu   sync.Mutex
	emit func(string) // the console's Interject
	fake *slackfake.Server
	all  bool
	last int // Seq of the last call printed
}

func (p *printer) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	defer func() {
		if b.Len() > 0 {
			p.emit(b.String())
		}
	}()
	for _, c := range p.fake.Calls() {
		if c.Seq <= p.last {
			continue
		}
		p.last = c.Seq
		if !p.all && readOnly[c.Method] {
			continue
		}
		line := p.fake.Render(c)
		if !c.OK() {
			line += fmt.Sprintf("  [answered %d %s]", c.Status, c.Error)
		}
		fmt.Fprintln(&b, line)
	}
}

// console returns the body of the console goroutine.
func (s *Simulation) console(ctx context.Context, o Options, gatewayURL, secret string, idle func(context.Context) error) func(context.Context) error {
	p := &printer{fake: s.Slack, all: o.AllCalls}
	c := &console.Console{
		Out: o.Out, GatewayURL: gatewayURL, SigningSecret: secret,
		TeamID: s.Slack.TeamID(), AppID: simAppID, Session: o.Session,
		Workspace: workspace{s},
		Commands:  s.commands(),
		Idle: func(ctx context.Context) error {
			err := idle(ctx)
			p.flush()
			return err
		},
	}
	p.emit = c.Interject
	s.con = c
	return func(ctx context.Context) error {
		// Wait for the first idle moment so start-up calls are not mixed
		// into the first line's output. The background tasks begin with
		// calls of their own (the channel cache, the first welcome
		// sweep), which an idle queue knows nothing of: wait for those
		// too, for a while (another process may hold the lease).
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		s.Slack.WaitFor(wctx, func(calls []slackfake.Call) bool {
			var list, sweep bool
			for _, c := range calls {
				list = list || c.Method == "conversations.list"
				sweep = sweep || c.Method == "users.list"
			}
			return list && sweep
		})
		cancel()
		if err := idle(ctx); err != nil {
			return fmt.Errorf("console: waiting for the bot: %w", err)
		}
		p.flush()
		if !o.Script {
			fmt.Fprintln(o.Out, "gopherbot is running on a simulated Slack workspace. /help lists the console's commands; try \"@gopherbot help\".")
			// Between lines, background tasks may still post: show those too.
			go func() {
				t := time.NewTicker(200 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
						p.flush()
					}
				}
			}()
		}
		err := c.Run(ctx, o.In, o.Script, o.Prompt)
		p.flush()
		return err
	}
}

// commands are console commands that make the simulated services produce
// something for the background tasks to announce. Each waits for the
// announcement, so that a script prints it before its next line.
func (s *Simulation) commands() map[string]console.Command {
	return map[string]console.Command{
		"/merge": {Usage: "/merge SUBJECT", Help: "a Go CL with this subject is merged in the simulated Gerrit", Run: func(ctx context.Context, arg string) error {
			if arg == "" {
				return fmt.Errorf("/merge wants a CL subject, such as \"net/http: add a test\"")
			}
			if err := polled(ctx, s.Gerrit.Requests); err != nil {
				return err
			}
			seq := s.lastSeq()
			number := 0
			if s.clBase != 0 {
				s.merged++
				number = s.clBase + s.merged
			}
			c := s.Gerrit.Merge(fakeweb.Change{Number: number, Project: "go", Subject: arg})
			return s.waitPost(ctx, seq, s.cfg.GerritChannel, fmt.Sprintf("CL %d", c.Number), "")
		}},
		"/episode": {Usage: "/episode TITLE", Help: "a new episode appears in the simulated Go Time feed", Run: func(ctx context.Context, arg string) error {
			if arg == "" {
				return fmt.Errorf("/episode wants a title, such as \"Testing in Go\"")
			}
			if err := polled(ctx, s.Feed.Requests); err != nil {
				return err
			}
			seq := s.lastSeq()
			s.episodes++
			s.Feed.Add(fakeweb.Item{
				ID: fmt.Sprintf("gotime-sim-%d", s.episodes), Title: arg, Published: time.Now(),
				Link: fmt.Sprintf("https://changelog.com/gotime/sim-%d", s.episodes),
			})
			return s.waitPost(ctx, seq, s.cfg.Feeds[0].Channel, "the episode", "")
		}},
		"/live": {Usage: "/live TITLE", Help: "the simulated Go Time show goes live (announced at most once a day)", Run: func(ctx context.Context, arg string) error {
			if arg == "" {
				return fmt.Errorf("/live wants the show's title, such as \"Go Time: what's new in Go\"")
			}
			if err := polled(ctx, s.Live.Requests); err != nil {
				return err
			}
			seq := s.lastSeq()
			s.Live.SetLive(arg, "https://changelog.com/live", time.Now())
			return s.waitPost(ctx, seq, s.cfg.GoTimeChannel, "the live show",
				"it announces the show at most once a day") // and logs nothing about a second one
		}},
	}
}

// polled waits until a simulated service has been asked twice. A task's
// first run ever records what is already there as seen and posts none of
// it; after the second request the first has surely been recorded, so what
// the command adds now is news.
func polled(ctx context.Context, requests func() int) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for requests() < 2 {
		select {
		case <-ctx.Done():
			return errors.New("the background tasks have not polled the simulated service yet; see the logs")
		case <-t.C:
		}
	}
	return nil
}

func (s *Simulation) lastSeq() int {
	calls := s.Slack.Calls()
	if len(calls) == 0 {
		return 0
	}
	return calls[len(calls)-1].Seq
}

// waitPost waits until the bot posts to channel (a name) after call seq.
// Nothing within a few polls is not an error: shadow mode and the once-a-day
// rule post nothing, and the note says so, with why when the command knows
// a likely reason the logs do not tell.
func (s *Simulation) waitPost(ctx context.Context, seq int, channel, what, why string) error {
	ch, ok := s.Slack.ChannelByName(channel)
	if !ok {
		return fmt.Errorf("no channel #%s in the simulated workspace", channel)
	}
	wait := s.postWait
	if wait == 0 {
		wait = 5 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	_, err := s.Slack.WaitFor(wctx, func(calls []slackfake.Call) bool {
		for _, c := range calls {
			if c.Seq > seq && c.Method == "chat.postMessage" && c.Params["channel"] == ch.ID {
				return true
			}
		}
		return false
	})
	if err != nil && ctx.Err() == nil {
		switch {
		case !s.cfg.Production:
			why = fmt.Sprintf("GOPHERBOT_ENV=%s is shadow mode, which posts nothing on its own: the logs show what it would have posted", s.cfg.Env)
		case why == "":
			why = "see the logs for why"
		}
		// Through the console, under its lock: the bot's calls between
		// lines are printed from another goroutine.
		s.con.Interject(fmt.Sprintf("(the bot posted nothing about %s within %v; %s)\n", what, wait, why))
	}
	return ctx.Err()
}

// workspace lets the console act in the simulated Slack workspace.
type workspace struct{ sim *Simulation }

func (w workspace) slack() *slackfake.Server { return w.sim.Slack }

func (w workspace) BotUserID() string { return w.slack().Bot().ID }

func (w workspace) User(name string) (string, bool) {
	s := w.slack()
	if u, ok := s.UserByName(name); ok {
		return u.ID, false
	}
	id := ""
	if w.sim.userTag != "" {
		id = fmt.Sprintf("U%s%03d", w.sim.userTag, w.sim.users.Add(1))
	}
	u, err := s.AddUser(slackfake.User{ID: id, Name: name, RealName: strings.ToUpper(name[:1]) + name[1:]})
	if err != nil {
		// Only a taken name fails, and we just looked it up.
		panic(fmt.Sprintf("allinone: add user %q: %v", name, err))
	}
	// As in Slack, where every member is in the workspace's general
	// channel: the console puts a new person there, and Slack refuses an
	// ephemeral message to someone who is not a member.
	if c, ok := s.ChannelByName("general"); ok {
		_ = s.JoinChannel(c.ID, u.ID) // both exist: it cannot fail
	}
	return u.ID, true
}

func (w workspace) UserID(name string) (string, bool) {
	u, ok := w.slack().UserByName(name)
	return u.ID, ok
}

func (w workspace) Channel(name string) (string, bool) {
	if c, ok := w.slack().ChannelByName(name); ok {
		return c.ID, false
	}
	c, err := w.slack().AddChannel(slackfake.Channel{Name: name, Members: []string{w.slack().Bot().ID}})
	if err != nil {
		panic(fmt.Sprintf("allinone: add channel %q: %v", name, err))
	}
	return c.ID, true
}

func (w workspace) ChannelID(name string) (string, bool) {
	c, ok := w.slack().ChannelByName(name)
	return c.ID, ok
}

func (w workspace) DM(user string) string {
	id, _, err := w.slack().OpenIM(user)
	if err != nil {
		panic(fmt.Sprintf("allinone: open DM with %s: %v", user, err))
	}
	return id
}

func (w workspace) JoinChannel(user, channel string) { _ = w.slack().JoinChannel(channel, user) }

func (w workspace) Member(user, channel string) bool {
	c, ok := w.slack().Channel(channel)
	return ok && slices.Contains(c.Members, user)
}

func (w workspace) AddFile(name string, content []byte) (string, string) {
	f := w.slack().AddFile(name, content)
	return f.ID, f.URLPrivate
}
