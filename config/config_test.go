package config

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{
		"REDIS_URL":            "redis://localhost:6379/0",
		"SLACK_SIGNING_SECRET": "s3cret",
		"SLACK_BOT_TOKEN":      "xoxb-1-2",
	}), AllInOne)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.DedupTTL != 15*time.Minute || c.MaxDeliveries != 5 || c.NewbiesChannel != "newbies" {
		t.Errorf("defaults not applied: %+v", c)
	}
	if c.Production || c.Local {
		t.Errorf("Production=%v Local=%v, want both false", c.Production, c.Local)
	}
	if c.SlackAPIURL != DefaultSlackAPIURL || c.LogLevel != zerolog.InfoLevel {
		t.Errorf("SlackAPIURL=%q LogLevel=%v", c.SlackAPIURL, c.LogLevel)
	}
}

func TestLoadMissingNamesEveryVariable(t *testing.T) {
	for _, tc := range []struct {
		role Role
		want []string
	}{
		{Gateway, []string{"SLACK_SIGNING_SECRET", "REDIS_URL"}},
		{Consumer, []string{"SLACK_BOT_TOKEN", "REDIS_URL"}},
		{Bgtasks, []string{"SLACK_BOT_TOKEN", "REDIS_URL"}},
		{Ops, []string{"REDIS_URL"}},
	} {
		_, err := Load(env(nil), tc.role)
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("role %v: err = %v, want ErrInvalid", tc.role, err)
		}
		for _, name := range tc.want {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("role %v: error %q does not name %s", tc.role, err, name)
			}
		}
	}
}

// An operator's tool needs Redis and nothing of Slack's.
func TestLoadOps(t *testing.T) {
	c, err := Load(env(map[string]string{"REDIS_URL": "redis://127.0.0.1:6390"}), Ops)
	if err != nil || c.Local {
		t.Fatalf("Load(Ops) = %+v, %v; want a non-local config", c, err)
	}
	if _, err := Load(env(nil), Ops); err == nil || strings.Contains(err.Error(), "SLACK") {
		t.Errorf("Load(Ops) without settings: %v; want REDIS_URL alone named", err)
	}
}

func TestLoadAllInOneWithoutSettingsIsLocal(t *testing.T) {
	c, err := Load(env(nil), AllInOne)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Local || !c.Production {
		t.Errorf("Local = %v, Production = %v, want both true", c.Local, c.Production)
	}
	c, err = Load(env(map[string]string{"GOPHERBOT_ENV": "staging"}), AllInOne)
	if err != nil || c.Production {
		t.Errorf("local with GOPHERBOT_ENV=staging: Production = %v, err = %v; want shadow mode", c.Production, err)
	}
	// Half-configured Slack is a mistake, not local mode.
	_, err = Load(env(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}), AllInOne)
	if err == nil || !strings.Contains(err.Error(), "SLACK_SIGNING_SECRET") {
		t.Errorf("token without secret: err = %v, want it to name SLACK_SIGNING_SECRET", err)
	}
}

func TestLoadInvalidListsAll(t *testing.T) {
	_, err := Load(env(map[string]string{
		"REDIS_URL":            "http://nope",
		"SLACK_SIGNING_SECRET": "s",
		"SLACK_BOT_TOKEN":      "xoxp-user-token",
		"PORT":                 "eighty",
		"HANDLER_TIMEOUT":      "soon",
		"QUEUE_CLAIM_IDLE":     "5s",
		"EVENT_DEDUP_TTL":      "1m",
		"LOG_LEVEL":            "loud",
		"FEEDS":                "gotime=https://example.com/rss broken",
		"PLAYGROUND_URL":       "ftp://x",
	}), AllInOne)
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"REDIS_URL", "SLACK_BOT_TOKEN", "PORT", "HANDLER_TIMEOUT", "QUEUE_CLAIM_IDLE", "EVENT_DEDUP_TTL", "LOG_LEVEL", "FEEDS", "PLAYGROUND_URL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestLoadParses(t *testing.T) {
	c, err := Load(env(map[string]string{
		"REDIS_URL":             "rediss://:pw@redis.example:6380",
		"REDIS_TLS_SKIP_VERIFY": "1",
		"SLACK_BOT_TOKEN":       "xoxb-1",
		"GOPHERBOT_ENV":         "production",
		"HANDLER_TIMEOUT":       "5s",
		"QUEUE_CLAIM_IDLE":      "10s",
		"FEEDS":                 "#gotimefm=https://changelog.com/gotime/feed  golang=https://mastodon.example/@golang.rss",
		"PLAYGROUND_DENYLIST":   "#general, announcements",
		"LOG_LEVEL":             "DEBUG",
		"DYNO":                  "consumer.2",
	}), Consumer)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Production || c.HandlerTimeout != 5*time.Second || c.LogLevel != zerolog.DebugLevel {
		t.Errorf("got %+v", c)
	}
	want := []Feed{{"gotimefm", "https://changelog.com/gotime/feed"}, {"golang", "https://mastodon.example/@golang.rss"}}
	if len(c.Feeds) != 2 || c.Feeds[0] != want[0] || c.Feeds[1] != want[1] {
		t.Errorf("Feeds = %v, want %v", c.Feeds, want)
	}
	if got := strings.Join(c.PlaygroundDenylist, ","); got != "general,announcements" {
		t.Errorf("PlaygroundDenylist = %q", got)
	}
	if got := c.ConsumerName("host-1"); got != "consumer.2" {
		t.Errorf("ConsumerName = %q, want the dyno", got)
	}
	opts, err := c.RedisOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.TLSConfig == nil || !opts.TLSConfig.InsecureSkipVerify || opts.Password != "pw" {
		t.Errorf("rediss with skip verify: TLS=%+v", opts.TLSConfig)
	}
}

func TestLogNeverShowsSecrets(t *testing.T) {
	c, err := Load(env(map[string]string{
		"REDIS_URL":            "redis://user:hunter2@localhost:6379",
		"SLACK_SIGNING_SECRET": "signing-secret-value",
		"SLACK_BOT_TOKEN":      "xoxb-token-value",
		// A proxy in front of the Web API may want a password too.
		"SLACK_API_URL": "https://bot:proxy-password@slack-proxy.example/api/",
	}), AllInOne)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Object("config", c).Msg("")
	out := buf.String()
	for _, secret := range []string{"hunter2", "signing-secret-value", "xoxb-token-value", "proxy-password"} {
		if strings.Contains(out, secret) {
			t.Errorf("log shows %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, `"slack_bot_token_set":true`) {
		t.Errorf("log does not say the token is set: %s", out)
	}
}

func TestBadRedisURLErrorHidesPassword(t *testing.T) {
	_, err := Load(env(map[string]string{"REDIS_URL": "redis://:hunter2@host:notaport"}), AllInOne)
	if err == nil {
		t.Fatal("no error for a bad port")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
}

// TestInvalidBoolReported: a boolean setting Load does not understand is
// reported at start-up, not taken as false (REDIS_TLS_SKIP_VERIFY=yes would
// otherwise fail later, on the first Redis command, with an x509 error).
func TestInvalidBoolReported(t *testing.T) {
	for _, v := range []string{"yes", "on", "enabled", "tru"} {
		c, err := Load(env(map[string]string{
			"REDIS_URL":             "rediss://:pw@redis.example:6380",
			"REDIS_TLS_SKIP_VERIFY": v,
			"SLACK_SIGNING_SECRET":  "s",
		}), Gateway)
		if err == nil || !strings.Contains(err.Error(), "REDIS_TLS_SKIP_VERIFY") {
			t.Errorf("REDIS_TLS_SKIP_VERIFY=%q: err = %v, RedisTLSSkipVerify = %v; want an error naming it", v, err, c.RedisTLSSkipVerify)
		}
	}
}

// TestRedisPoolSize: REDIS_POOL_SIZE caps the connections of a process, so
// that several processes fit a small Redis plan; too small is refused.
func TestRedisPoolSize(t *testing.T) {
	load := func(v string) (Config, error) {
		return Load(env(map[string]string{
			"REDIS_URL": "redis://127.0.0.1:6379", "SLACK_SIGNING_SECRET": "s", "REDIS_POOL_SIZE": v,
		}), Gateway)
	}
	c, err := load("5")
	if err != nil {
		t.Fatal(err)
	}
	if o, err := c.RedisOptions(); err != nil || o.PoolSize != 5 {
		t.Errorf("PoolSize = %v, %v; want 5", o.PoolSize, err)
	}
	c, _ = load("")
	if o, _ := c.RedisOptions(); o.PoolSize != 0 {
		t.Errorf("unset: PoolSize = %d; want go-redis's default (0)", o.PoolSize)
	}
	for _, v := range []string{"2", "-1", "many"} {
		if _, err := load(v); err == nil || !strings.Contains(err.Error(), "REDIS_POOL_SIZE") {
			t.Errorf("REDIS_POOL_SIZE=%s: err = %v; want it named", v, err)
		}
	}
}

// TestFeedsErrorHidesPassword: a FEEDS entry that is refused is named in
// the start-up error without the password of its URL.
func TestFeedsErrorHidesPassword(t *testing.T) {
	for _, feed := range []string{
		"private=ftp://reader:hunter2@feeds.example/rss",
		// The channel= forgotten: the '=' of the query is taken for it,
		// and the URL is read as the channel.
		"https://reader:hunter2@feeds.example/rss?format=atom",
	} {
		_, err := Load(env(map[string]string{
			"REDIS_URL": "redis://127.0.0.1:6379", "SLACK_BOT_TOKEN": "xoxb-1",
			"FEEDS": feed,
		}), Bgtasks)
		if err == nil || !strings.Contains(err.Error(), "FEEDS") || !strings.Contains(err.Error(), "feeds.example") {
			t.Fatalf("FEEDS=%s: err = %v; want FEEDS and the entry named", feed, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

// TestQueueMaxLenValidated: a cap below 1 is refused at start-up rather
// than silently replaced by the queue's default.
func TestQueueMaxLenValidated(t *testing.T) {
	for _, v := range []string{"0", "-5"} {
		_, err := Load(env(map[string]string{
			"REDIS_URL": "redis://127.0.0.1:6379", "SLACK_SIGNING_SECRET": "s", "QUEUE_MAX_LEN": v,
		}), Gateway)
		if err == nil || !strings.Contains(err.Error(), "QUEUE_MAX_LEN") {
			t.Errorf("QUEUE_MAX_LEN=%s: err = %v; want it named", v, err)
		}
	}
}

// TestRedisURLForms: the REDIS_URL forms that work, and for those that do
// not, an error that says why without showing the password.
func TestRedisURLForms(t *testing.T) {
	for _, tc := range []struct {
		url            string
		addr, user, pw string
		db             int
		tls            bool
		wantErr        string // in the error, when the URL is refused
	}{
		{url: "redis://localhost:6379", addr: "localhost:6379"},
		{url: "redis://h.example", addr: "h.example:6379"},
		{url: "redis://:pw@h.example:6380/2", addr: "h.example:6380", pw: "pw", db: 2},
		{url: "redis://user:pw@h.example:6380/3?dial_timeout=3s&pool_size=7", addr: "h.example:6380", user: "user", pw: "pw", db: 3},
		{url: "redis://h.example/?db=4", addr: "h.example:6379", db: 4},
		{url: "rediss://:pw@h.example:6380", addr: "h.example:6380", pw: "pw", tls: true},
		{url: "REDIS://[::1]:7000/1", addr: "[::1]:7000", db: 1},
		{url: "redis://:hunter2@h.example/1?dial_timout=3s", wantErr: "dial_timout"},
		{url: "redis://:hunter2@h.example/notadb", wantErr: "database"},
		{url: "redis://:hunter2@h.example:notaport", wantErr: "REDIS_URL"},
		{url: "unix:///tmp/redis.sock", wantErr: "redis://"},
		{url: "h.example:6379", wantErr: "redis://"},
	} {
		c, err := Load(env(map[string]string{"REDIS_URL": tc.url, "SLACK_SIGNING_SECRET": "s"}), Gateway)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "REDIS_URL") {
				t.Errorf("%s: err = %v; want REDIS_URL and %q named", tc.url, err, tc.wantErr)
			} else if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%s: error shows the password: %v", tc.url, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		o, err := c.RedisOptions()
		if err != nil {
			t.Errorf("%s: RedisOptions: %v", tc.url, err)
			continue
		}
		if o.Addr != tc.addr || o.Username != tc.user || o.Password != tc.pw || o.DB != tc.db || (o.TLSConfig != nil) != tc.tls {
			t.Errorf("%s: addr %q user %q password %q db %d TLS %v; want %q %q %q %d %v",
				tc.url, o.Addr, o.Username, o.Password, o.DB, o.TLSConfig != nil, tc.addr, tc.user, tc.pw, tc.db, tc.tls)
		}
	}
}

// TestLogShowsHerokuNames: the Heroku app and dyno ID, which DESIGN.md
// says are used in logs, are in the start-up line.
func TestLogShowsHerokuNames(t *testing.T) {
	c, err := Load(env(map[string]string{
		"REDIS_URL": "redis://127.0.0.1:6379", "SLACK_SIGNING_SECRET": "s",
		"HEROKU_APP_NAME": "gopherbot-prod", "HEROKU_DYNO_ID": "1f2e3d4c-dyno", "HEROKU_SLUG_COMMIT": "abc123",
	}), Gateway)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Object("config", c).Msg("")
	for _, want := range []string{`"heroku_app":"gopherbot-prod"`, `"heroku_dyno_id":"1f2e3d4c-dyno"`, `"slug_commit":"abc123"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("start-up line lacks %s: %s", want, buf.String())
		}
	}
}

// TestLocalProduction: GOPHERBOT_ENV=production means production in the
// local all-in-one too, as everywhere else; only another value gives
// shadow mode there.
func TestLocalProduction(t *testing.T) {
	for env_, want := range map[string]bool{"": true, "production": true, "staging": false} {
		c, err := Load(env(map[string]string{"GOPHERBOT_ENV": env_}), AllInOne)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Local || c.Production != want {
			t.Errorf("local, GOPHERBOT_ENV=%q: Local %v, Production %v; want true, %v", env_, c.Local, c.Production, want)
		}
	}
}

// TestSlackIDsValidated: the gateway compares SLACK_APP_ID and SLACK_TEAM_ID
// with the IDs in each event, so a value in another form (the app's name,
// the workspace's domain, an ID in lower case or the two swapped) would
// drop every event without a word at start-up; it stops start-up instead,
// named with the other bad settings.
func TestSlackIDsValidated(t *testing.T) {
	for _, tc := range []struct {
		app, team string
		want      []string // variables the error names; none when valid
	}{
		{app: "A01GOPHBOT", team: "T029RQSE6"},
		{team: "E0GOPHERS"}, // an Enterprise Grid organization
		{app: "gopherbot", team: "gophers.slack.com", want: []string{"SLACK_APP_ID", "SLACK_TEAM_ID"}},
		{app: "a01gophbot", team: "t029rqse6", want: []string{"SLACK_APP_ID", "SLACK_TEAM_ID"}},
		{app: "T029RQSE6", team: "A01GOPHBOT", want: []string{"SLACK_APP_ID", "SLACK_TEAM_ID"}},
		{app: "A", team: "T", want: []string{"SLACK_APP_ID", "SLACK_TEAM_ID"}},
		{app: "A01-GOPHBOT", want: []string{"SLACK_APP_ID"}},
	} {
		_, err := Load(env(map[string]string{
			"REDIS_URL": "redis://127.0.0.1:6379", "SLACK_SIGNING_SECRET": "s", "PORT": "eighty",
			"SLACK_APP_ID": tc.app, "SLACK_TEAM_ID": tc.team,
		}), Gateway)
		if err == nil || !strings.Contains(err.Error(), "PORT") {
			t.Fatalf("app %q team %q: err = %v; want PORT named", tc.app, tc.team, err)
		}
		for _, name := range []string{"SLACK_APP_ID", "SLACK_TEAM_ID"} {
			if want := slices.Contains(tc.want, name); strings.Contains(err.Error(), name) != want {
				t.Errorf("app %q team %q: err = %v; want %s named: %v", tc.app, tc.team, err, name, want)
			}
		}
	}
}

// TestLogLevel: LOG_LEVEL takes exactly the levels its error names. Levels
// above error (fatal, panic, disabled) and zerolog's numbers (42 drops
// everything) are refused: the bot never logs above error, so they would
// hide every failure it reports.
func TestLogLevel(t *testing.T) {
	base := map[string]string{"REDIS_URL": "redis://localhost:6379/0", "SLACK_BOT_TOKEN": "xoxb-1"}
	load := func(level string) (Config, error) {
		kv := map[string]string{"LOG_LEVEL": level}
		for k, v := range base {
			kv[k] = v
		}
		return Load(env(kv), Consumer)
	}
	accepted := map[string]zerolog.Level{
		"trace": zerolog.TraceLevel, "debug": zerolog.DebugLevel, "info": zerolog.InfoLevel,
		"warn": zerolog.WarnLevel, "error": zerolog.ErrorLevel, "Warn": zerolog.WarnLevel, " ERROR ": zerolog.ErrorLevel,
	}
	for level, want := range accepted {
		if c, err := load(level); err != nil || c.LogLevel != want {
			t.Errorf("LOG_LEVEL=%q: level %v, %v; want %v", level, c.LogLevel, err, want)
		}
	}
	_, err := load("loud")
	if err == nil {
		t.Fatal("LOG_LEVEL=loud accepted")
	}
	// The message names every accepted level and nothing else.
	msg := err.Error()
	for _, name := range []string{"trace", "debug", "info", "warn", "error"} {
		if !strings.Contains(msg, name) {
			t.Errorf("the error does not name the level %s: %s", name, msg)
		}
	}
	for _, refused := range []string{"fatal", "panic", "disabled", "FATAL", "42", "7", "-1", "1"} {
		_, err := load(refused)
		if err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") {
			t.Errorf("LOG_LEVEL=%s: %v; want it refused (it would hide errors, or is not a level name)", refused, err)
			continue
		}
		if !strings.Contains(err.Error(), "trace, debug, info, warn, error") {
			t.Errorf("LOG_LEVEL=%s: the error does not list the accepted levels: %v", refused, err)
		}
	}
}

// TestRedactURL: what a log or an error shows of an address.
func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"https://feeds.example/rss", "https://feeds.example/rss"},
		{"https://reader:hunter2@feeds.example/rss", "https://reader:xxxxx@feeds.example/rss"},
		{"https://feeds.example/rss?format=atom&token=abc123", "https://feeds.example/rss?format=atom&token=xxxxx"},
		{"https://feeds.example/rss?API_KEY=abc123", "https://feeds.example/rss?API_KEY=xxxxx"},
		{"https://cdn.example/f.xml?X-Amz-Signature=abc123&page=2", "https://cdn.example/f.xml?X-Amz-Signature=xxxxx&page=2"},
		{"redis://:hunter2@host:6379/0", "redis://:xxxxx@host:6379/0"},
		{"://bad", "(unparsable)"},
	} {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
