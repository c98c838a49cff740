package bgtasks

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/proctest"
)

// childEnv, when set, makes the test binary run as a bgtasks process (the
// real Run, settings from the environment) instead of running tests.
const childEnv = "GOPHERBOT_BGTASKS_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		proctest.ExitWithParent()
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

func runChild() int {
	cfg, err := config.Load(os.Getenv, config.Bgtasks)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := Run(ctx, cfg, zerolog.New(os.Stderr).With().Timestamp().Str("replica", "child").Logger()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// A bgtasks process killed with SIGKILL while it leads is replaced by the
// standby within one TTL, and the standby posts what came after, once.
func TestKilledLeaderProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	e := newEnv(t)
	e.setupCLFeed()
	e.cfg.BgtasksLeaseTTL = time.Second // the smallest the settings allow

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = []string{
		childEnv + "=1",
		"PATH=" + os.Getenv("PATH"),
		"GOPHERBOT_ENV=production",
		"REDIS_URL=" + e.cfg.RedisURL,
		"SLACK_BOT_TOKEN=" + e.cfg.SlackBotToken,
		"SLACK_API_URL=" + e.cfg.SlackAPIURL,
		"BGTASKS_LEASE_TTL=" + e.cfg.BgtasksLeaseTTL.String(),
		"GERRIT_URL=" + e.cfg.GerritURL,
		"GERRIT_POLL_INTERVAL=20ms",
		"FEEDS=" + e.cfg.Feeds[0].Channel + "=" + e.cfg.Feeds[0].URL,
		"FEED_POLL_INTERVAL=20ms",
		"GOTIME_STATUS_URL=" + e.cfg.GoTimeStatusURL,
	}
	childLog := &logtest.Buffer{}
	child.Stdout, child.Stderr = childLog, childLog
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { child.Wait(); close(exited) }()
	t.Cleanup(func() {
		child.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("child's log:\n%s", childLog)
		}
	})

	ctx := context.Background()
	waitFor(t, 10*time.Second, "the child to lead", func() bool { return e.rdb.Exists(ctx, LeaseKey).Val() == 1 })
	standby := e.start(e.runner("standby", Options{}))
	e.waitFirstRuns()
	e.news(1)
	e.waitPosts("golang-cls", 1)
	e.waitPosts("gotimefm", 1)
	if standby.r.Leading() {
		t.Fatal("the standby leads while the child does")
	}

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	killed := time.Now()
	e.takeover(t, "the standby", "SIGKILL", killed, standby.r.Leading)
	e.news(3)
	e.waitPosts("golang-cls", 3)
	e.waitPosts("gotimefm", 3)
	e.checkOnce(1, 3)
}
