package console

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gophers/gopherbot/internal/logtest"
)

// The failed line a script names is the line of the file, also after a
// """ block, whose lines Run reads on its own: its author goes looking
// for it there.
func TestScriptFailedLineAfterBlock(t *testing.T) {
	c, _, _ := setup(t, "secret")
	script := "hello\n\"\"\"\npackage main\n\nfunc main() {}\n\"\"\"\n/nosuch\n"
	err := c.Run(context.Background(), strings.NewReader(script), true, false)
	if err == nil || !strings.Contains(err.Error(), "line 7: unknown command /nosuch") {
		t.Errorf("Run = %v; want the failed line named as line 7", err)
	}
}

// A line too long to read is named too, so that the script's author
// knows where to look.
func TestScriptLineTooLong(t *testing.T) {
	c, g, _ := setup(t, "secret")
	script := "hello\n" + strings.Repeat("a", 1<<20+1) + "\nafter\n"
	err := c.Run(context.Background(), strings.NewReader(script), true, false)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Run = %v; want an error naming line 2", err)
	}
	if len(g.events) != 1 {
		t.Errorf("%d events, want the one before the long line", len(g.events))
	}
}

// At the end of the input (Ctrl-D) or on Ctrl-C, the interactive console
// ends its prompt's line, so that the shell's prompt starts on its own.
func TestPromptLineEndedAtEOF(t *testing.T) {
	c, _, out := setup(t, "secret")
	if err := c.Run(context.Background(), strings.NewReader("hello\n"), false, true); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasSuffix(got, c.Prompt()+"\n") {
		t.Errorf("output ends %q; want the last prompt and a newline", got)
	}
}

// What the bot does between two lines (a background post, a retried
// answer) is printed while the console waits at its prompt: it goes on a
// line of its own, and the prompt is shown again under it.
func TestInterjectAtPrompt(t *testing.T) {
	c, _, _ := setup(t, "secret")
	var out logtest.Buffer
	c.Out = &out
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, pr, false, true) }()
	prompt := "alice in #general> "
	out.WaitFor(t, prompt, 5*time.Second)
	c.Interject("chat.postMessage #golang-cls: CL 1 merged\n")
	want := prompt + "\nchat.postMessage #golang-cls: CL 1 merged\n" + prompt
	if got := out.String(); got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
	cancel()
	<-done
	// Not at a prompt, it is printed as it is.
	c.Interject("more\n")
	if got := out.String(); !strings.HasSuffix(got, prompt+"\nmore\n") {
		t.Errorf("output = %q; want \"more\" printed after the ended prompt line", got)
	}
}

// /as takes a person as the console writes them, @name, as /in and /join
// take #channel.
func TestAsTakesAtName(t *testing.T) {
	c, g, _ := setup(t, "secret")
	if err := c.Run(context.Background(), strings.NewReader("/as @bob\nhello"), true, false); err != nil {
		t.Fatal(err)
	}
	if len(g.events) != 1 || g.events[0]["user"] != "U2" {
		t.Errorf("events %v; want one message from bob (U2)", g.events)
	}
}

// The help lists every command the console takes, /quit too.
func TestHelpListsQuit(t *testing.T) {
	for _, cmd := range []string{"/quit"} {
		if !strings.Contains(Help, cmd) {
			t.Errorf("the console takes %s, and its help does not say so", cmd)
		}
	}
}
