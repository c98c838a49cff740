package allinone

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/cli"
	"github.com/gophers/gopherbot/internal/logtest"
)

// TestLocalWithSlackAppID: a SLACK_APP_ID left in the environment (from a
// deployment's settings) without the two Slack secrets still runs the
// local simulated workspace, whose events are those of its own app. The
// bot answers there instead of dropping every line as another app's.
func TestLocalWithSlackAppID(t *testing.T) {
	out, logs, err := runLocalLogs(t, map[string]string{"SLACK_APP_ID": "A0123DEPLOY"}, Options{}, "@gopherbot d/net/http\n")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.Contains(out, "chat.postMessage #general: https://pkg.go.dev/net/http") {
		t.Errorf("no answer in the simulated workspace:\n%s\nlogs:\n%s", out, logs.String())
	}
}

// TestNewPersonIsInGeneral: someone the console adds (/as dave) is, as in
// Slack, a member of #general, where the console puts them. The ephemeral
// note that comes with a shared file reaches them there, where Slack
// refuses it to a non-member (user_not_in_channel, a dead letter).
func TestNewPersonIsInGeneral(t *testing.T) {
	file := filepath.Join(t.TempDir(), "main.go")
	code := "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n"
	if err := os.WriteFile(file, []byte(code), 0o600); err != nil {
		t.Fatal(err)
	}
	out, logs, err := runLocalLogs(t, nil, Options{}, "/as dave\n/upload "+file+"\n")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.Contains(out, "chat.postEphemeral #general to @dave:") || strings.Contains(out, "[error") {
		t.Errorf("no ephemeral note to dave in #general:\n%s", out)
	}
	if logs.Contains(`"level":"error"`) {
		t.Errorf("errors logged:\n%s", logs.String())
	}
}

// TestLocalChannelsFromSettings: the channels the settings name exist in
// the simulated workspace, so that a deployment's settings can be tried
// locally: /merge with GERRIT_CHANNEL=go-cls is announced in #go-cls.
func TestLocalChannelsFromSettings(t *testing.T) {
	env := map[string]string{"GERRIT_CHANNEL": "#go-cls", "RECOMMENDED_CHANNELS": "general,go-nuts"}
	out, logs, err := runLocalLogs(t, env, Options{}, "/merge net/http: add a test\n/as dave\n/join\n")
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, want := range []string{"chat.postMessage #go-cls:", "• <#go-nuts>"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if logs.Contains(`"level":"error"`) {
		t.Errorf("errors logged:\n%s", logs.String())
	}
}

// TestScriptInterrupted: a script stopped before its end (Ctrl-C, or a
// CI's timeout sending SIGTERM) did not run every line, so Run fails with
// cli.ErrUnfinished, which makes `gopherbot --script` exit non-zero even
// though it was told to stop.
func TestScriptInterrupted(t *testing.T) {
	cfg := loadLocal(t, nil)
	ln := localListener(t)
	var out, logs logtest.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The second /live waits a few seconds for a post that never comes
	// (once a day): the stop comes then, before "books".
	script := "/live One\n/live Two\n@gopherbot books\n"
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, zerolog.New(&logs), Options{
			Console: true, Script: true, In: strings.NewReader(script), Out: &out, Listener: ln,
		})
	}()
	out.WaitFor(t, "> /live Two\n", 30*time.Second)
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop within 30s of the cancel")
	}
	if !errors.Is(err, cli.ErrUnfinished) {
		t.Errorf("Run = %v; want an error wrapping cli.ErrUnfinished\noutput:\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "books") {
		t.Fatalf("the script ran to its end; the test shows nothing:\n%s", out.String())
	}
}
