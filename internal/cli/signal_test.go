package cli

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/proctest"
)

// TestSecondSignalStops: when a part does not stop on the first SIGINT, a
// second Ctrl-C ends the process, as Go's default handling does.
func TestSecondSignalStops(t *testing.T) {
	if os.Getenv("CLI_SIGNAL_CHILD") == "1" {
		proctest.ExitWithParent()
		Main("child", config.AllInOne, func(ctx context.Context, _ config.Config, _ zerolog.Logger) error {
			fmt.Println("ready")
			<-ctx.Done()
			fmt.Println("stopping")
			select {} // a part that does not notice the stop
		})
		return
	}
	cmd, out := proctest.StartSelf(t, "TestSecondSignalStops", "CLI_SIGNAL_CHILD=1", "LOG_LEVEL=error")
	expect := func(want string) {
		t.Helper()
		for out.Scan() {
			if out.Text() == want {
				return
			}
		}
		t.Fatalf("the child ended before printing %q", want)
	}
	expect("ready")
	cmd.Process.Signal(syscall.SIGINT)
	expect("stopping")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Again, as a person would until it stops: a signal sent before Main
	// let go of the first one's handling is still caught.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-done:
			if err == nil {
				t.Error("the child exited 0 after another SIGINT; want killed by it")
			}
			return
		case <-tick.C:
		case <-deadline:
			t.Fatal("the process ignored SIGINTs for 5s after the first: only SIGKILL stops it")
		}
	}
}
