package console

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// A script saved by an editor that writes a byte order mark (Windows
// Notepad does) starts with U+FEFF: its first line is still a command or
// a comment, not a message that reads "/dm".
func TestScriptWithByteOrderMark(t *testing.T) {
	c, g, out := setup(t, "secret")
	if err := c.Run(context.Background(), strings.NewReader("\ufeff/dm\nhello\n"), true, false); err != nil {
		t.Fatalf("Run = %v; output:\n%s", err, out)
	}
	if len(g.events) != 1 || g.events[0]["channel_type"] != "im" || g.events[0]["text"] != "hello" {
		t.Errorf("events %v; want one message, hello in the DM", g.events)
	}
	c, g, _ = setup(t, "secret")
	if err := c.Run(context.Background(), strings.NewReader("\ufeff# a comment\n"), true, false); err != nil || len(g.events) != 0 {
		t.Errorf("a commented first line after a byte order mark: Run = %v, events %v; want none", err, g.events)
	}
}

// A command that takes no argument refuses one rather than drop it:
// "/dm flip a coin" would otherwise move to the DM and lose the message.
func TestCommandWithoutArgumentRefusesOne(t *testing.T) {
	for _, line := range []string{"/dm flip a coin", "/thread what about this?"} {
		c, g, _ := setup(t, "secret")
		c.Line(context.Background(), "first") // something to start a thread under
		where := c.Prompt()
		if err := c.Line(context.Background(), line); err == nil {
			t.Errorf("%q: no error", line)
		}
		if got := c.Prompt(); got != where || len(g.events) != 1 {
			t.Errorf("%q moved the console from %q to %q and sent %d events; want nothing done", line, where, got, len(g.events)-1)
		}
	}
}

// A tab between a command and its argument is a separator too.
func TestCommandTabSeparated(t *testing.T) {
	c, g, _ := setup(t, "secret")
	if err := c.Line(context.Background(), "/as\tbob"); err != nil {
		t.Fatal(err)
	}
	if err := c.Line(context.Background(), "hello"); err != nil || g.events[0]["user"] != "U2" {
		t.Errorf("after /as<TAB>bob: %v, events %v; want a message from bob (U2)", err, g.events)
	}
}

// The console cannot be the bot: the bot ignores its own messages, so
// everything said after "/as gopherbot" would go unanswered with no
// word of why.
func TestAsTheBotRefused(t *testing.T) {
	c, g, _ := setup(t, "secret")
	c.Workspace.(*workspace).users["gopherbot"] = "UBOT"
	for _, line := range []string{"/as gopherbot", "/as @GopherBot"} {
		if err := c.Line(context.Background(), line); err == nil || !strings.Contains(err.Error(), "bot") {
			t.Errorf("%q = %v; want an error saying that is the bot", line, err)
		}
	}
	c.Line(context.Background(), "hello")
	if len(g.events) != 1 || g.events[0]["user"] != "U1" {
		t.Errorf("events %v; want one message from alice (U1)", g.events)
	}
}

// Slack sends no message without text or files; an empty """ block is
// reported, not sent as one.
func TestEmptyBlockNotSent(t *testing.T) {
	c, g, out := setup(t, "secret")
	err := c.Run(context.Background(), strings.NewReader("\"\"\"\n\"\"\"\n\"\"\"\n  \n\t\n\"\"\"\n"), true, false)
	if err == nil || len(g.events) != 0 {
		t.Errorf("Run = %v, events %v; want both empty blocks refused, nothing sent", err, g.events)
	}
	if strings.Count(out.String(), "! ") != 2 {
		t.Errorf("output does not report both empty blocks:\n%s", out)
	}
}

// runCancelled runs c on the one line "/wait" (echo and prompt as Run takes
// them), whose command waits until ctx ends and then returns fail(ctx).
// Once the command runs, it cancels ctx, as Ctrl-C does, and it returns
// what Run returned.
func runCancelled(c *Console, echo, prompt bool, fail func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	c.Commands = map[string]Command{"/wait": {Usage: "/wait", Run: func(ctx context.Context, _ string) error {
		close(started)
		<-ctx.Done()
		return fail(ctx)
	}}}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, strings.NewReader("/wait\n"), echo, prompt) }()
	<-started
	cancel()
	return <-done
}

// Ctrl-C while a line runs stops the console; the line's own failure,
// which only says it was cut off (often in misleading words, such as a
// wait that "timed out"), is not reported as a failed line.
func TestCancelDuringLineNotReported(t *testing.T) {
	c, _, out := setup(t, "secret")
	err := runCancelled(c, true, false, func(context.Context) error {
		return errors.New("the background tasks have not polled the simulated service yet")
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v; want context.Canceled", err)
	}
	if strings.Contains(out.String(), "!") {
		t.Errorf("a line cut off by Ctrl-C is reported as failed:\n%s", out)
	}
}

// lockCheck is an Out that records its writes and checks that each is made
// under the console's outMu, the lock Interject takes: output of a line
// written without it can be cut in two by the bot's calls between lines
// (printed by another goroutine), and races with them.
type lockCheck struct {
	t      *testing.T
	c      *Console
	mu     sync.Mutex
	writes []string
}

func (w *lockCheck) Write(p []byte) (int, error) {
	if w.c.outMu.TryLock() {
		w.c.outMu.Unlock()
		w.t.Errorf("written without the output lock: %q", p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func TestOutputUnderLock(t *testing.T) {
	c, _, _ := setup(t, "secret")
	w := &lockCheck{t: t, c: c}
	c.Out = w
	c.Commands = map[string]Command{"/merge": {Usage: "/merge SUBJECT", Help: "merge a CL", Run: func(context.Context, string) error { return nil }}}
	script := "/help\n/in #brand-new\n/nosuch\n\"\"\"\nsome code\n\"\"\"\n/join #newbies\n/join #newbies\n"
	c.Run(context.Background(), strings.NewReader(script), true, false)
	c.Run(context.Background(), strings.NewReader("hello\n"), false, true)
	// /help is one write, so that nothing lands between its lines.
	var help bool
	for _, s := range w.writes {
		help = help || strings.Contains(s, "Commands:") && strings.Contains(s, "More commands:\n  /merge")
	}
	if !help {
		t.Errorf("/help is written in pieces: %q", w.writes)
	}
}

// At the prompt, Ctrl-C while a line runs (or a """ block is read) ends
// the console's line, as it does at the prompt itself, so that the
// shell's prompt does not start after the terminal's "^C".
func TestCancelDuringLineEndsLine(t *testing.T) {
	c, _, out := setup(t, "secret")
	runCancelled(c, false, true, func(ctx context.Context) error { return ctx.Err() })
	if got := out.String(); got != c.Prompt()+"\n" {
		t.Errorf("output = %q; want the prompt and a newline", got)
	}
}
