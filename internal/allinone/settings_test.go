package allinone

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/slackfake"
)

// TestScriptErrorIsReported: a console script that fails (a line longer
// than the console's 1 MiB limit, so the rest is never run) makes Run fail,
// so that `gopherbot --script FILE` exits non-zero.
func TestScriptErrorIsReported(t *testing.T) {
	script := "@gopherbot help\n" + strings.Repeat("x", 1<<20+1) + "\n@gopherbot flip a coin\n"
	if _, err := runLocal(t, nil, Options{}, script); err == nil {
		t.Errorf("Run = nil for a script that stopped half-way (bufio.ErrTooLong); gopherbot --script would exit 0")
	}
}

// TestDeploymentWithoutRedisURL: with both Slack settings (a real
// single-process deployment) and no REDIS_URL, Load names REDIS_URL: only
// the local mode runs on the embedded Redis.
func TestDeploymentWithoutRedisURL(t *testing.T) {
	slack := slackfake.New()
	defer slack.Close()
	if _, err := slack.Seed(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
		"SLACK_BOT_TOKEN":      slack.Token(),
		"SLACK_API_URL":        slack.APIURL(),
		"GERRIT_POLL_INTERVAL": "1h",
		"GOTIME_POLL_INTERVAL": "1h",
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, config.AllInOne)
	if err != nil {
		if !strings.Contains(err.Error(), "REDIS_URL") {
			t.Errorf("Load: %v; does not name REDIS_URL", err)
		}
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var logs logtest.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := Run(ctx, cfg, zerolog.New(&logs), Options{Listener: ln}); err != nil {
		t.Errorf("Load accepted the settings without REDIS_URL, but Run failed: %v", err)
	}
}

// TestHalfSettingsNameEveryMissing: settings that give only one of the two
// Slack settings name every missing variable in one message, REDIS_URL
// included.
func TestHalfSettingsNameEveryMissing(t *testing.T) {
	_, err := config.Load(func(k string) string {
		return map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}[k]
	}, config.AllInOne)
	if err == nil {
		t.Fatal("Load accepted a token without a signing secret")
	}
	cfg, _ := config.Load(func(k string) string {
		return map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}[k]
	}, config.AllInOne)
	if _, rerr := cfg.RedisOptions(); rerr != nil && !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("Load = %v: once SLACK_SIGNING_SECRET is set, start-up fails again on REDIS_URL (%v), which this message did not name", err, rerr)
	}
}
