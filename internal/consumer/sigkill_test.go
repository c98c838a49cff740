package consumer

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/proctest"
	"github.com/gophers/gopherbot/internal/slackfake"
)

// childEnv marks the test binary re-executed as a consumer process.
const childEnv = "GOPHERBOT_CONSUMER_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		proctest.ExitWithParent()
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// runChild is a consumer process as cmd/consumer runs it, configured by
// the environment the test gives it; it runs until it is killed.
func runChild() int {
	cfg, err := config.Load(os.Getenv, config.Consumer)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 2
	}
	log := zerolog.New(os.Stderr).Level(cfg.LogLevel).With().Timestamp().Str("proc", "child").Logger()
	if err := Run(context.Background(), cfg, log); err != nil {
		log.Error().Err(err).Msg("stopped")
		return 1
	}
	return 0
}

// TestSIGKILLRedelivery kills a consumer process while Slack is answering
// its reply. Another consumer reclaims the event, and Slack still sees one
// reply, not two.
func TestSIGKILLRedelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	ws, err := fake.Seed()
	if err != nil {
		t.Fatal(err)
	}
	// Hold the first chat.postMessage in the fake: Slack got it, the
	// consumer has not heard back.
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	stop := fake.OnCall(func(c slackfake.Call) {
		if c.Method != "chat.postMessage" {
			return
		}
		once.Do(func() {
			close(arrived)
			<-release
		})
	})
	defer stop()
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock)

	// The rescuer: an in-process consumer on the same Redis and Slack that
	// reclaims entries idle for a second.
	e := newEnv(t, envOptions{slack: fake, settings: map[string]string{
		"HANDLER_TIMEOUT": "500ms", "QUEUE_CLAIM_IDLE": "1s", "DYNO": "consumer.2",
	}})
	e.ws = ws
	ev := e.message(said{user: "alice", channel: "dm", text: "books"})
	e.publish(ev)

	var stderr bytes.Buffer
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(),
		childEnv+"=1",
		"REDIS_URL="+e.redis.URL(),
		"SLACK_BOT_TOKEN="+fake.Token(),
		"SLACK_API_URL="+fake.APIURL(),
		"GOPHERBOT_ENV=production",
		"DYNO=consumer.1",
		"HANDLER_TIMEOUT=20s",
		"QUEUE_CLAIM_IDLE=45s",
		"LOG_LEVEL=debug",
	)
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = child.Process.Kill()
		_ = child.Wait()
		if t.Failed() {
			t.Logf("child consumer's logs:\n%s", stderr.String())
		}
	})

	select {
	case <-arrived:
	case <-time.After(15 * time.Second):
		t.Fatal("the child consumer never posted its reply")
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	unblock()

	e.start()
	e.waitIdle()

	posts := fake.CallsTo("chat.postMessage")
	if len(posts) != 1 {
		t.Errorf("%d chat.postMessage calls, want 1:\n%s", len(posts), fake.RenderCalls(posts))
	}
	state, err := e.rdb.HGet(context.Background(), effectsPrefix+ev.ID, effectField("command books", 1)).Result()
	if err != nil || !strings.HasPrefix(state, effectInflight+" ") {
		t.Errorf("effect state %q (%v), want inflight: the child died before it heard Slack's answer", state, err)
	}
	if !strings.Contains(e.logs.String(), "already made by an earlier delivery") {
		t.Errorf("the rescuer did not handle the event (no skip logged)")
	}
}
