package allinone

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/console"
	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackfake"
	"github.com/gophers/gopherbot/workqueue"
)

// TestSingleProcessDeployment runs the all-in-one with real settings, as a
// small workspace would deploy it: no simulation, no console. A signed event
// goes over HTTP through the gateway, Redis and the consumer, and its answer
// reaches Slack (here the fake Web API, standing where Slack's would). It
// runs on a plain Redis and on one that, like Heroku Redis, speaks only TLS
// with a certificate of its own (rediss:// and REDIS_TLS_SKIP_VERIFY=1).
func TestSingleProcessDeployment(t *testing.T) {
	t.Run("redis", func(t *testing.T) { testDeployment(t, redistest.Start(t), nil) })
	t.Run("rediss", func(t *testing.T) {
		testDeployment(t, redistest.StartTLS(t), map[string]string{"REDIS_TLS_SKIP_VERIFY": "1"})
	})
}

func testDeployment(t *testing.T, rs *redistest.Server, settings map[string]string) {
	slack := slackfake.New()
	defer slack.Close()
	ws, err := slack.Seed()
	if err != nil {
		t.Fatal(err)
	}
	const secret = "0123456789abcdef0123456789abcdef"
	env := map[string]string{
		"REDIS_URL":            rs.URL(),
		"SLACK_SIGNING_SECRET": secret,
		"SLACK_BOT_TOKEN":      slack.Token(),
		"SLACK_API_URL":        slack.APIURL(),
		"GOPHERBOT_ENV":        "production",
		"GERRIT_POLL_INTERVAL": "1h", // nothing here answers for Gerrit or feeds
		"GOTIME_POLL_INTERVAL": "1h",
	}
	maps.Copy(env, settings)
	cfg, err := config.Load(func(k string) string { return env[k] }, config.AllInOne)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Local {
		t.Fatal("config with Slack settings says Local")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs logtest.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, zerolog.New(&logs), Options{Console: true, Listener: ln}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	alice := ws.People["alice"]
	dm, _, err := slack.OpenIM(alice)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body, _ := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": slack.TeamID(), "api_app_id": "A1",
		"event_id": "EvDEPLOY1", "event_time": now.Unix(),
		"event": map[string]any{
			"type": "message", "channel": dm, "channel_type": "im", "user": alice,
			"text": "d/net/http", "ts": fmt.Sprintf("%d.000100", now.Unix()),
		},
	})
	stamp := strconv.FormatInt(now.Unix(), 10)
	url := "http://" + ln.Addr().String() + "/slack/events"
	send := func() int {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("X-Slack-Request-Timestamp", stamp)
		req.Header.Set("X-Slack-Signature", console.Sign(secret, stamp, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The gateway may still be starting: retry until it answers.
	deadline := time.Now().Add(10 * time.Second)
	for send() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not accept the event within 10s; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := send(); code != http.StatusOK { // Slack's retry of the same event
		t.Fatalf("retry answered %d, want 200", code)
	}

	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	calls, err := slack.WaitMethod(wctx, "chat.postMessage", 1)
	if err != nil {
		t.Fatalf("no answer in Slack: %v; logs:\n%s", err, logs.String())
	}
	if got, want := slack.Render(calls[0]), "chat.postMessage @alice: https://pkg.go.dev/net/http"; got != want {
		t.Errorf("answer = %q, want %q", got, want)
	}
	// Nothing more once the queue is drained: the retry was a duplicate.
	q := workqueue.New(rs.Client(), workqueue.Options{})
	defer q.Close()
	if err := waitIdle(wctx, q, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := len(slack.CallsTo("chat.postMessage")); n != 1 {
		t.Errorf("%d answers, want 1", n)
	}
}
