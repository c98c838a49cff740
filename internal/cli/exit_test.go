package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/proctest"
)

// TestFailureShownAtAnyLogLevel: a command that fails exits 1 with its
// reason on stderr at every LOG_LEVEL the settings accept; the levels that
// would drop an error-level line (fatal, panic, disabled) stop start-up
// (exit 2) with a message naming LOG_LEVEL: an operator must never see a
// process stop without a word.
func TestFailureShownAtAnyLogLevel(t *testing.T) {
	if os.Getenv("CLI_FAIL_CHILD") == "1" {
		proctest.ExitWithParent()
		Main("child", config.AllInOne, func(context.Context, config.Config, zerolog.Logger) error {
			return errors.New("the reason it failed")
		})
		os.Exit(0) // Main returned: the failure was not reported by the exit code
	}
	for _, tt := range []struct {
		level, said string
		code        int
	}{
		{"info", "the reason it failed", 1},
		{"error", "the reason it failed", 1},
		{"fatal", "LOG_LEVEL", 2},
		{"panic", "LOG_LEVEL", 2},
		{"disabled", "LOG_LEVEL", 2},
	} {
		t.Run(tt.level, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFailureShownAtAnyLogLevel$", "-test.count=1")
			cmd.Env = append(os.Environ(), "CLI_FAIL_CHILD=1", "LOG_LEVEL="+tt.level)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tt.code {
				t.Errorf("LOG_LEVEL=%s: exit %v, want status %d", tt.level, err, tt.code)
			}
			if !strings.Contains(stderr.String(), tt.said) {
				t.Errorf("LOG_LEVEL=%s: stderr does not say %q:\n%s", tt.level, tt.said, stderr.String())
			}
		})
	}
}

// TestUnfinishedAfterSignal: stopped by a signal, a command exits 0,
// unless its run says its work was left unfinished (a console script cut
// short): then it exits 1 and says so.
func TestUnfinishedAfterSignal(t *testing.T) {
	if os.Getenv("CLI_UNFINISHED_CHILD") != "" {
		proctest.ExitWithParent()
		Main("child", config.AllInOne, func(ctx context.Context, _ config.Config, _ zerolog.Logger) error {
			fmt.Println("ready")
			<-ctx.Done()
			if os.Getenv("CLI_UNFINISHED_CHILD") == "unfinished" {
				return fmt.Errorf("script: %w", ErrUnfinished)
			}
			return ctx.Err()
		})
		os.Exit(0)
	}
	for _, tt := range []struct {
		child string
		code  int
	}{{"unfinished", 1}, {"stopped", 0}} {
		t.Run(tt.child, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestUnfinishedAfterSignal$", "-test.count=1")
			cmd.Env = append(os.Environ(), "CLI_UNFINISHED_CHILD="+tt.child)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill() })
			sc := bufio.NewScanner(out)
			for sc.Scan() && sc.Text() != "ready" {
			}
			cmd.Process.Signal(syscall.SIGINT)
			for sc.Scan() {
			}
			err = cmd.Wait()
			code := 0
			if exit, ok := errors.AsType[*exec.ExitError](err); ok {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if tt.code != 0 && !strings.Contains(stderr.String(), ErrUnfinished.Error()) {
				t.Errorf("stderr does not say why:\n%s", stderr.String())
			}
		})
	}
}
