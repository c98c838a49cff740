package console

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A signal (ctx cancelled) must stop Run even while it waits for input: the
// interactive console reads a terminal that may never send another line.
func TestRunStopsOnCancelWhileReading(t *testing.T) {
	c, _, _ := setup(t, "secret")
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, pr, false, true) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		t.Logf("Run returned %v", err)
	case <-time.After(2 * time.Second):
		t.Fatal("Run still blocked reading its input 2s after ctx was cancelled (Ctrl-C / SIGTERM does not stop the console)")
	}
}

// Slack channel names are lower case: /in and /join lowercase them, as /as
// does names.
func TestChannelNameCase(t *testing.T) {
	for _, line := range []string{"/in #General", "/join #Newbies"} {
		c, g, out := setup(t, "secret")
		want := map[string]string{"/in #General": "C1", "/join #Newbies": "C2"}[line]
		if err := c.Run(context.Background(), strings.NewReader(line+"\nhello"), false, false); err != nil {
			t.Fatal(err)
		}
		last := g.events[len(g.events)-1]
		if last["channel"] != want {
			t.Errorf("%q then a message: channel %v, want %s (the existing channel); console said %q", line, last["channel"], want, out)
		}
	}
}

// /as in a DM moves to another person's DM, a different conversation: the
// thread of the previous DM is left.
func TestAsInDMLeavesThread(t *testing.T) {
	c, g, _ := setup(t, "secret")
	script := "/dm\nhello\n/thread\n/as bob\nfrom bob"
	if err := c.Run(context.Background(), strings.NewReader(script), false, false); err != nil {
		t.Fatal(err)
	}
	first, last := g.events[0], g.events[len(g.events)-1]
	if last["thread_ts"] != nil {
		t.Errorf("bob's message in %v has thread_ts %v, the ts of alice's message in %v", last["channel"], last["thread_ts"], first["channel"])
	}
}

// ts must be unique and increasing (Slack's message ID), also when the
// sub-second part would pass a whole second.
func TestTSUnique(t *testing.T) {
	c, g, _ := setup(t, "secret")
	n := 0
	c.Now = func() time.Time {
		n++
		switch {
		case n <= 2: // first message: ts() then post()
			return time.Unix(1700000000, 5_000)
		default: // the rest, later in the same second
			return time.Unix(1700000000, 999_990_000)
		}
	}
	var lines []string
	for i := range 16 {
		lines = append(lines, fmt.Sprintf("message %d", i))
	}
	if err := c.Run(context.Background(), strings.NewReader(strings.Join(lines, "\n")), false, false); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, e := range g.events {
		ts, text := e["ts"].(string), e["text"].(string)
		if prev, ok := seen[ts]; ok {
			t.Errorf("%q and %q have the same ts %s", prev, text, ts)
		}
		seen[ts] = text
	}
}

// In script mode a line that fails is reported, the rest still runs, and Run
// fails at the end naming the first failed line, so that the script's exit
// status tells.
func TestScriptFailedLine(t *testing.T) {
	c, g, out := setup(t, "secret")
	err := c.Run(context.Background(), strings.NewReader("hello\n/nosuch\nstill here\n/as\n"), true, false)
	if err == nil || !strings.Contains(err.Error(), "2 line(s)") || !strings.Contains(err.Error(), "line 2: unknown command /nosuch") {
		t.Errorf("Run = %v; want the failed lines counted and the first named", err)
	}
	if len(g.events) != 2 {
		t.Errorf("%d events, want the two messages", len(g.events))
	}
	if !strings.Contains(out.String(), "! unknown command /nosuch") {
		t.Errorf("the failure was not printed:\n%s", out)
	}
}

// In Slack only a channel's members post in it: someone who talks in a
// channel they are not in (a new person, a channel /in just made) joins
// it first, as the Slack client asks them to, with the member_joined_channel
// event that brings. Without it the bot's ephemeral notes to them are
// refused with user_not_in_channel. The console says it did so.
func TestSpeakerJoinsChannel(t *testing.T) {
	c, g, out := setup(t, "secret")
	script := "/as dave\n/in #gophers\nhello\nagain\n/in #general\nin general\n"
	if err := c.Run(context.Background(), strings.NewReader(script), true, false); err != nil {
		t.Fatal(err)
	}
	type ev struct{ Type, Channel, User, Text string }
	var got []ev
	for _, e := range g.events {
		s := func(k string) string { v, _ := e[k].(string); return v }
		got = append(got, ev{s("type"), s("channel"), s("user"), s("text")})
	}
	want := []ev{
		{"member_joined_channel", "C3", "U3", ""},
		{"message", "C3", "U3", "hello"},
		{"message", "C3", "U3", "again"},
		{"message", "C1", "U3", "in general"}, // there already, as every member
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if !c.Workspace.Member("U3", "C3") {
		t.Error("dave is not a member of #gophers after talking there")
	}
	if n := strings.Count(out.String(), "(@dave joins #gophers"); n != 1 {
		t.Errorf("the console noted the join %d times, want once:\n%s", n, out)
	}
}

// /join #channel of a channel the workspace lacks makes it, as /in does,
// and says so as /in does: a typo is seen at once, not taken in silence.
func TestJoinNewChannelSaysCreated(t *testing.T) {
	c, g, out := setup(t, "secret")
	if err := c.Run(context.Background(), strings.NewReader("/join #brand-new\n"), true, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "(created #brand-new)") {
		t.Errorf("no note that #brand-new was created:\n%s", out)
	}
	if len(g.events) != 1 || g.events[0]["type"] != "member_joined_channel" {
		t.Errorf("events %v; want alice's member_joined_channel", g.events)
	}
}

// The join a message brings is handled before the message is sent, as in
// Slack, where one joins before typing: what the bot does about the join
// (the welcome in #newbies) is printed before its answer to the message,
// not in whichever order the two are handled.
func TestSpeakerJoinHandledFirst(t *testing.T) {
	c, g, _ := setup(t, "secret")
	c.Idle = func(context.Context) error {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.events = append(g.events, map[string]any{"type": "(idle)"})
		return nil
	}
	if err := c.Run(context.Background(), strings.NewReader("/as dave\n/in #newbies\nhello\n"), true, false); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range g.events {
		got = append(got, e["type"].(string))
	}
	// An idle wait after each line, and one between the join and the message.
	want := []string{"(idle)", "(idle)", "member_joined_channel", "(idle)", "message", "(idle)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events and idle waits (-want +got):\n%s", diff)
	}
}
