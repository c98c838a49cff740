// Package config holds every setting of gopherbot in one struct.
//
// Settings come from the environment. They are loaded and checked once, in
// main, and passed down; nothing below main reads the environment. Load
// reports every missing or invalid setting in one error, so a deployment is
// fixed in one round instead of one variable at a time.
package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Role says which process is starting; it decides which settings are required.
type Role int

const (
	Gateway  Role = 1 << iota // needs SLACK_SIGNING_SECRET and Redis
	Consumer                  // needs SLACK_BOT_TOKEN and Redis
	Bgtasks                   // needs SLACK_BOT_TOKEN and Redis
	// AllInOne runs all three in one process. With neither Slack setting it
	// runs locally: embedded Redis, simulated Slack, no credentials needed.
	AllInOne = Gateway | Consumer | Bgtasks
	// Ops is an operator's tool (cmd/queuectl): it needs Redis only.
	Ops Role = 0
)

// ErrInvalid is wrapped by the error Load returns.
var ErrInvalid = errors.New("invalid settings")

// Feed is one entry of FEEDS: items of URL are posted to Channel.
type Feed struct {
	Channel string // channel name, without '#'
	URL     string
}

// Config is every setting of the bot.
type Config struct {
	Port int // PORT

	RedisURL           string // REDIS_URL
	RedisTLSSkipVerify bool   // REDIS_TLS_SKIP_VERIFY
	RedisPoolSize      int    // REDIS_POOL_SIZE: most connections per process; 0 for go-redis's default

	SlackSigningSecret string // SLACK_SIGNING_SECRET
	SlackBotToken      string // SLACK_BOT_TOKEN
	SlackAppID         string // SLACK_APP_ID: events of another app are acknowledged and dropped
	SlackTeamID        string // SLACK_TEAM_ID: events of another workspace (or Grid org) are acknowledged and dropped, unless delivered for an install in this one
	SlackAPIURL        string // SLACK_API_URL, with trailing slash

	LogLevel   zerolog.Level // LOG_LEVEL: trace, debug, info, warn or error
	Env        string        // GOPHERBOT_ENV
	Production bool          // Env == "production" (or unset in local mode); otherwise shadow mode

	HerokuAppName    string // HEROKU_APP_NAME
	HerokuDynoID     string // HEROKU_DYNO_ID
	HerokuSlugCommit string // HEROKU_SLUG_COMMIT
	Dyno             string // DYNO, e.g. "consumer.2": the stable consumer name

	// Queue.
	DedupTTL        time.Duration // EVENT_DEDUP_TTL: how long an event_id is remembered
	MaxDeliveries   int           // QUEUE_MAX_DELIVERIES: then dead-lettered
	HandlerTimeout  time.Duration // HANDLER_TIMEOUT: deadline of one handler run
	ClaimIdle       time.Duration // QUEUE_CLAIM_IDLE: idle time before others reclaim; > HandlerTimeout
	StreamMaxLen    int64         // QUEUE_MAX_LEN: memory guard per stream
	Concurrency     int           // CONSUMER_CONCURRENCY: handlers run at once per process
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT: drain time after SIGTERM
	MessageMaxAge   time.Duration // MESSAGE_MAX_AGE: older message events are dropped

	// Redis heartbeat: a process that cannot reach Redis this long stops working.
	RedisHeartbeatLimit time.Duration // REDIS_HEARTBEAT_LIMIT

	// Chat.
	PlaygroundURL       string   // PLAYGROUND_URL
	PlaygroundDenylist  []string // PLAYGROUND_DENYLIST: channel names, comma or space separated
	NewbiesChannel      string   // NEWBIES_CHANNEL
	RecommendedChannels []string // RECOMMENDED_CHANNELS: listed in the welcome DM

	// Background tasks.
	BgtasksLeaseTTL      time.Duration // BGTASKS_LEASE_TTL
	ChannelCacheInterval time.Duration // CHANNEL_CACHE_INTERVAL
	GerritURL            string        // GERRIT_URL
	GerritChannel        string        // GERRIT_CHANNEL
	GerritPollInterval   time.Duration // GERRIT_POLL_INTERVAL
	Feeds                []Feed        // FEEDS: "channel=url channel=url"
	FeedPollInterval     time.Duration // FEED_POLL_INTERVAL
	FeedMaxAge           time.Duration // FEED_MAX_AGE: older items are never posted
	GoTimeStatusURL      string        // GOTIME_STATUS_URL
	GoTimeScheduleURL    string        // GOTIME_SCHEDULE_URL: the show's schedule, linked in the announcement
	GoTimeChannel        string        // GOTIME_CHANNEL
	GoTimePollInterval   time.Duration // GOTIME_POLL_INTERVAL
	WelcomeSweepInterval time.Duration // WELCOME_SWEEP_INTERVAL

	// Local is true when the all-in-one runs with no Slack settings: the
	// embedded Redis (when REDIS_URL is empty) and the simulated Slack.
	Local bool
}

// Defaults for the optional settings.
const (
	DefaultSlackAPIURL    = "https://slack.com/api/"
	DefaultPlaygroundURL  = "https://play.golang.org"
	DefaultGerritURL      = "https://go-review.googlesource.com"
	DefaultGoTimeStatus   = "https://changelog.com/live/status"
	DefaultGoTimeSchedule = "https://changelog.com/live"
	DefaultNewbiesChannel = "newbies"
)

// DefaultRecommendedChannels are listed in the welcome DM unless
// RECOMMENDED_CHANNELS says otherwise.
var DefaultRecommendedChannels = []string{"general", "newbies", "golang-jobs", "reviews", "gotimefm", "golang-cls"}

// Load reads the settings through getenv (os.Getenv in main) for the given
// role. The error names every missing or invalid variable.
func Load(getenv func(string) string, role Role) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		Port:               p.int("PORT", 8080),
		RedisURL:           p.str("REDIS_URL", ""),
		RedisTLSSkipVerify: p.bool("REDIS_TLS_SKIP_VERIFY"),
		RedisPoolSize:      p.int("REDIS_POOL_SIZE", 0),
		SlackSigningSecret: p.str("SLACK_SIGNING_SECRET", ""),
		SlackBotToken:      p.str("SLACK_BOT_TOKEN", ""),
		SlackAppID:         p.str("SLACK_APP_ID", ""),
		SlackTeamID:        p.str("SLACK_TEAM_ID", ""),
		SlackAPIURL:        p.str("SLACK_API_URL", DefaultSlackAPIURL),
		Env:                p.str("GOPHERBOT_ENV", ""),
		HerokuAppName:      p.str("HEROKU_APP_NAME", ""),
		HerokuDynoID:       p.str("HEROKU_DYNO_ID", ""),
		HerokuSlugCommit:   p.str("HEROKU_SLUG_COMMIT", ""),
		Dyno:               p.str("DYNO", ""),

		DedupTTL:            p.dur("EVENT_DEDUP_TTL", 15*time.Minute),
		MaxDeliveries:       p.int("QUEUE_MAX_DELIVERIES", 5),
		HandlerTimeout:      p.dur("HANDLER_TIMEOUT", 20*time.Second),
		ClaimIdle:           p.dur("QUEUE_CLAIM_IDLE", 45*time.Second),
		StreamMaxLen:        int64(p.int("QUEUE_MAX_LEN", 100000)),
		Concurrency:         p.int("CONSUMER_CONCURRENCY", 64),
		ShutdownTimeout:     p.dur("SHUTDOWN_TIMEOUT", 25*time.Second),
		MessageMaxAge:       p.dur("MESSAGE_MAX_AGE", 30*time.Second),
		RedisHeartbeatLimit: p.dur("REDIS_HEARTBEAT_LIMIT", 30*time.Second),

		PlaygroundURL:       strings.TrimRight(p.str("PLAYGROUND_URL", DefaultPlaygroundURL), "/"),
		PlaygroundDenylist:  p.list("PLAYGROUND_DENYLIST", nil),
		NewbiesChannel:      strings.TrimPrefix(p.str("NEWBIES_CHANNEL", DefaultNewbiesChannel), "#"),
		RecommendedChannels: p.list("RECOMMENDED_CHANNELS", DefaultRecommendedChannels),

		BgtasksLeaseTTL:      p.dur("BGTASKS_LEASE_TTL", 30*time.Second),
		ChannelCacheInterval: p.dur("CHANNEL_CACHE_INTERVAL", 10*time.Minute),
		GerritURL:            strings.TrimRight(p.str("GERRIT_URL", DefaultGerritURL), "/"),
		GerritChannel:        strings.TrimPrefix(p.str("GERRIT_CHANNEL", "golang-cls"), "#"),
		GerritPollInterval:   p.dur("GERRIT_POLL_INTERVAL", 10*time.Minute),
		Feeds:                p.feeds("FEEDS"),
		FeedPollInterval:     p.dur("FEED_POLL_INTERVAL", 5*time.Minute),
		FeedMaxAge:           p.dur("FEED_MAX_AGE", 7*24*time.Hour),
		GoTimeStatusURL:      p.str("GOTIME_STATUS_URL", DefaultGoTimeStatus),
		GoTimeScheduleURL:    p.str("GOTIME_SCHEDULE_URL", DefaultGoTimeSchedule),
		GoTimeChannel:        strings.TrimPrefix(p.str("GOTIME_CHANNEL", "gotimefm"), "#"),
		GoTimePollInterval:   p.dur("GOTIME_POLL_INTERVAL", time.Minute),
		WelcomeSweepInterval: p.dur("WELCOME_SWEEP_INTERVAL", 15*time.Minute),
	}
	c.Production = c.Env == "production"
	if !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/"
	}

	c.LogLevel = p.level("LOG_LEVEL", zerolog.InfoLevel)

	if role == AllInOne && c.SlackSigningSecret == "" && c.SlackBotToken == "" {
		c.Local = true
		// The simulated workspace is ours: behave as in production unless
		// told otherwise, so every feature can be tried.
		c.Production = c.Env == "" || c.Env == "production"
	} else {
		if role&Gateway != 0 && c.SlackSigningSecret == "" {
			p.missing("SLACK_SIGNING_SECRET")
		}
		if role&(Consumer|Bgtasks) != 0 && c.SlackBotToken == "" {
			p.missing("SLACK_BOT_TOKEN")
		}
		// Only the local mode (no Slack settings at all) runs on the
		// embedded Redis; a deployment's queue must outlive a restart.
		if c.RedisURL == "" {
			p.missing("REDIS_URL")
		}
	}
	if c.SlackBotToken != "" && !strings.HasPrefix(c.SlackBotToken, "xoxb-") {
		p.bad("SLACK_BOT_TOKEN", "a bot token starts with xoxb-")
	}
	// The gateway compares these with every event's IDs: a name or a
	// domain in their place would drop every event.
	if c.SlackAppID != "" && !isSlackID(c.SlackAppID, "A") {
		p.bad("SLACK_APP_ID", "not an app ID (A and capital letters or digits, on the app's Basic Information page)")
	}
	if c.SlackTeamID != "" && !isSlackID(c.SlackTeamID, "TE") {
		p.bad("SLACK_TEAM_ID", "not a workspace ID (T and capital letters or digits) or an Enterprise Grid organization ID (E...)")
	}
	if c.RedisURL != "" {
		if _, err := c.RedisOptions(); err != nil {
			p.bad("REDIS_URL", err.Error())
		}
	}
	if c.Port < 0 || c.Port > 65535 {
		p.bad("PORT", "not a port number")
	}
	if c.RedisPoolSize != 0 && c.RedisPoolSize < minRedisPool {
		p.bad("REDIS_POOL_SIZE", fmt.Sprintf("must be at least %d (a consumer keeps one for its blocking read), or 0 for the default", minRedisPool))
	}
	if c.MaxDeliveries < 1 {
		p.bad("QUEUE_MAX_DELIVERIES", "must be at least 1")
	}
	if c.StreamMaxLen < 1 {
		p.bad("QUEUE_MAX_LEN", "must be at least 1")
	}
	if c.Concurrency < 1 {
		p.bad("CONSUMER_CONCURRENCY", "must be at least 1")
	}
	if c.ClaimIdle <= c.HandlerTimeout {
		p.bad("QUEUE_CLAIM_IDLE", "must be longer than HANDLER_TIMEOUT, or a slow handler's entry is taken from it while it runs")
	}
	if c.DedupTTL < 10*time.Minute {
		p.bad("EVENT_DEDUP_TTL", "must be at least 10m: Slack retries for about 5 minutes")
	}
	if c.BgtasksLeaseTTL < time.Second {
		p.bad("BGTASKS_LEASE_TTL", "must be at least 1s")
	}
	for _, u := range []struct{ name, v string }{
		{"SLACK_API_URL", c.SlackAPIURL}, {"PLAYGROUND_URL", c.PlaygroundURL},
		{"GERRIT_URL", c.GerritURL}, {"GOTIME_STATUS_URL", c.GoTimeStatusURL},
		{"GOTIME_SCHEDULE_URL", c.GoTimeScheduleURL},
	} {
		if !isHTTPURL(u.v) {
			p.bad(u.name, "not an http(s) URL")
		}
	}
	if err := p.err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// RedisOptions parses RedisURL into client options. rediss:// enables TLS;
// REDIS_TLS_SKIP_VERIFY=1 accepts certificates that do not verify, as on
// Heroku Redis.
func (c Config) RedisOptions() (*redis.Options, error) {
	u, err := url.Parse(c.RedisURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return nil, errors.New("want a redis:// or rediss:// URL")
	}
	opts, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		// The library's reasons (a bad database number, an unknown query
		// option) name parts of the URL, never the password; scrub it
		// anyway, in case a later version quotes the whole URL.
		msg := err.Error()
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
		return nil, errors.New(msg)
	}
	if opts.TLSConfig != nil && c.RedisTLSSkipVerify {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	}
	if c.RedisPoolSize > 0 {
		opts.PoolSize = c.RedisPoolSize
	}
	return opts, nil
}

// minRedisPool is the smallest REDIS_POOL_SIZE that leaves a consumer
// connections for its handlers while one waits in XREADGROUP BLOCK.
const minRedisPool = 4

// ConsumerName is a stable name for this process in the consumer group: the
// dyno name when Heroku gives one, so a restarted dyno reads its own pending
// entries first.
func (c Config) ConsumerName(fallback string) string {
	switch {
	case c.Dyno != "":
		return c.Dyno
	case c.HerokuDynoID != "":
		return c.HerokuDynoID
	}
	return fallback
}

// MarshalZerologObject logs the settings. Secrets are shown as set or unset,
// never their values; URLs without their passwords.
func (c Config) MarshalZerologObject(e *zerolog.Event) {
	e.Int("port", c.Port).
		Str("redis", RedactURL(c.RedisURL)).
		Bool("redis_tls_skip_verify", c.RedisTLSSkipVerify).
		Int("redis_pool_size", c.RedisPoolSize).
		Bool("slack_signing_secret_set", c.SlackSigningSecret != "").
		Bool("slack_bot_token_set", c.SlackBotToken != "").
		Str("slack_app_id", c.SlackAppID).
		Str("slack_team_id", c.SlackTeamID).
		Str("slack_api_url", RedactURL(c.SlackAPIURL)).
		Str("env", c.Env).
		Bool("production", c.Production).
		Bool("local", c.Local).
		Str("heroku_app", c.HerokuAppName).
		Str("dyno", c.Dyno).
		Str("heroku_dyno_id", c.HerokuDynoID).
		Str("slug_commit", c.HerokuSlugCommit).
		Dur("handler_timeout", c.HandlerTimeout).
		Dur("claim_idle", c.ClaimIdle).
		Int("max_deliveries", c.MaxDeliveries).
		Int("concurrency", c.Concurrency).
		Int("feeds", len(c.Feeds))
}

// RedactURL is s for a log or an error: the password of its user info,
// and the values of query parameters whose names suggest a secret (a
// private feed's ?token=, ?key=, ?sig=), replaced with xxxxx.
func RedactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if u.RawQuery != "" {
		q, hidden := u.Query(), false
		for name, vs := range q {
			if secretParam(name) {
				for i := range vs {
					vs[i] = "xxxxx"
				}
				hidden = true
			}
		}
		if hidden {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// secretParam reports whether a query parameter's name suggests that its
// value is a secret. Hiding a harmless one costs nothing.
func secretParam(name string) bool {
	name = strings.ToLower(name)
	for _, s := range []string{"token", "key", "secret", "pass", "pwd", "sig", "auth", "credential", "session"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// isSlackID reports whether s has the form of a Slack ID whose first
// letter is one of kinds: capital letters and digits.
func isSlackID(s, kinds string) bool {
	if len(s) < 2 || !strings.ContainsRune(kinds, rune(s[0])) {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// parser collects problems instead of stopping at the first.
type parser struct {
	getenv   func(string) string
	missings []string
	bads     []string
}

func (p *parser) missing(name string)    { p.missings = append(p.missings, name) }
func (p *parser) bad(name, why string)   { p.bads = append(p.bads, name+": "+why) }
func (p *parser) raw(name string) string { return strings.TrimSpace(p.getenv(name)) }
func (p *parser) bool(name string) bool {
	switch v := p.raw(name); {
	case v == "" || v == "0" || strings.EqualFold(v, "false"):
		return false
	case v == "1" || strings.EqualFold(v, "true"):
		return true
	default:
		p.bad(name, "not a boolean (1 or true, 0 or false)")
		return false
	}
}
func (p *parser) str(name, def string) string {
	if v := p.raw(name); v != "" {
		return v
	}
	return def
}

func (p *parser) int(name string, def int) int {
	v := p.raw(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.bad(name, "not a whole number")
		return def
	}
	return n
}

// logLevels are the levels LOG_LEVEL takes. zerolog's fatal, panic and
// disabled are left out on purpose: the bot logs nothing above error, so
// they would hide every failure it reports. So are zerolog's numbers.
var logLevels = []zerolog.Level{zerolog.TraceLevel, zerolog.DebugLevel, zerolog.InfoLevel, zerolog.WarnLevel, zerolog.ErrorLevel}

func (p *parser) level(name string, def zerolog.Level) zerolog.Level {
	v := p.raw(name)
	if v == "" {
		return def
	}
	names := make([]string, len(logLevels))
	for i, l := range logLevels {
		if strings.EqualFold(v, l.String()) {
			return l
		}
		names[i] = l.String()
	}
	p.bad(name, "not a level ("+strings.Join(names, ", ")+"); fatal, panic and disabled are refused, as they would hide the errors the bot logs")
	return def
}

func (p *parser) dur(name string, def time.Duration) time.Duration {
	v := p.raw(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.bad(name, "not a positive duration such as 10s or 5m")
		return def
	}
	return d
}

func (p *parser) list(name string, def []string) []string {
	v := p.raw(name)
	if v == "" {
		return def
	}
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		out = append(out, strings.TrimPrefix(f, "#"))
	}
	return out
}

func (p *parser) feeds(name string) []Feed {
	var out []Feed
	for _, f := range strings.Fields(p.raw(name)) {
		ch, u, ok := strings.Cut(f, "=")
		ch = strings.TrimPrefix(ch, "#")
		if !ok || ch == "" || !isHTTPURL(u) {
			// Named without the password its URL may hold. Either side
			// may be the URL: with channel= forgotten, the '=' of the
			// URL's query splits it.
			shown := RedactURL(f)
			if ok {
				shown = RedactURL(ch) + "=" + RedactURL(u)
			}
			p.bad(name, fmt.Sprintf("%q is not channel=http(s)://url", shown))
			continue
		}
		out = append(out, Feed{Channel: ch, URL: u})
	}
	return out
}

func (p *parser) err() error {
	var parts []string
	if len(p.missings) > 0 {
		parts = append(parts, "missing "+strings.Join(p.missings, ", "))
	}
	parts = append(parts, p.bads...)
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(parts, "; "))
}
