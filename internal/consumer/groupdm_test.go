package consumer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackfake"
	"github.com/gophers/gopherbot/workqueue"
)

// groupDM adds a group DM (mpim) of alice, bob and the bot to the fake
// with the given ID, and returns its name. Slack gives new group DMs C…
// IDs, older ones G… IDs; an app_mention carries no channel_type, so the
// ID cannot tell a group DM from a channel.
func (e *env) groupDM(id string) string {
	e.t.Helper()
	name := "mpdm-alice--bob--gopherbot-" + strings.ToLower(id)
	if _, err := e.slack.AddChannel(slackfake.Channel{
		ID: id, Name: name, IsPrivate: true,
		Members: []string{e.userID("alice"), e.userID("bob"), e.slack.Bot().ID},
	}); err != nil {
		e.t.Fatal(err)
	}
	return name
}

// TestGroupDMMentionAnsweredOnce: a message that mentions the bot in a
// group DM comes as a message event with channel_type mpim (message.mpim)
// and may also come as an app_mention; Slack's documentation does not say
// whether it does. Whichever of the two arrive, and in whichever order,
// the bot answers once.
func TestGroupDMMentionAnsweredOnce(t *testing.T) {
	for _, id := range []string{"C0GROUPDM", "G0GROUPDM"} {
		for _, tt := range []struct {
			name   string
			events []string // "message", "mention", in order
		}{
			{"message only", []string{"message"}},
			{"app_mention only", []string{"mention"}},
			{"message, then app_mention", []string{"message", "mention"}},
			{"app_mention, then message", []string{"mention", "message"}},
		} {
			t.Run(id+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, envOptions{})
				e.identify()
				name := e.groupDM(id)
				now := time.Now()
				s := said{user: "alice", channel: name, chType: "mpim", text: "<@U0GOPHBOT> books",
					at: now, ts: fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)}
				for _, kind := range tt.events {
					ev := e.message(s)
					if kind == "mention" {
						ev = e.mention(s)
					}
					// Each twice: a redelivery makes nothing again either.
					for attempt := 1; attempt <= 2; attempt++ {
						if err := e.handle(ev, attempt); err != nil {
							t.Fatalf("%s, attempt %d: %v", kind, attempt, err)
						}
					}
				}
				want := []string{"chat.postMessage #" + name}
				if diff := cmp.Diff(want, heads(e.seen())); diff != "" {
					t.Errorf("visible calls (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestGroupDMMentionThroughTheQueue: the twins of a group DM mention go to
// different streams and are handled at once by concurrent handlers; one
// answer goes out. A mention in a channel (whose message twin is never
// answered) and a message in the group DM that does not mention the bot
// are answered as before.
func TestGroupDMMentionThroughTheQueue(t *testing.T) {
	e := newEnv(t, envOptions{})
	name := e.groupDM("C0GROUPDM")
	e.start()
	var evs []queued
	for i := range 5 {
		at := time.Now()
		s := said{user: "alice", channel: name, chType: "mpim", text: "<@U0GOPHBOT> books",
			at: at, ts: fmt.Sprintf("%d.%06d", at.Unix(), at.Nanosecond()/1000+i)}
		evs = append(evs, e.message(s), e.mention(s))
	}
	evs = append(evs,
		e.mention(said{user: "alice", channel: "general", text: "<@U0GOPHBOT> books"}),
		e.message(said{user: "bob", channel: name, chType: "mpim", text: "(╯°□°)╯︵ ┻━┻"}),
	)
	e.publish(evs...)
	e.waitIdle()
	want := []string{"chat.postMessage #general", "chat.postMessage #" + name}
	for range 5 {
		want = append(want, "chat.postMessage #"+name)
	}
	if diff := cmp.Diff(want, heads(e.seen()), cmpSorted); diff != "" {
		t.Errorf("visible calls (-want +got):\n%s", diff)
	}
	if !strings.Contains(e.logs.String(), "answered as its twin") {
		t.Errorf("no log of the twin that was not answered")
	}
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 7 {
		t.Errorf("%d chat.postMessage calls, want 7", n)
	}
}

// TestGroupDMMentionRetried: the twin handled first claims the message and
// fails for a reason a retry may fix (Slack turns the reply away); the
// other twin, handled meanwhile, is not answered; the retry of the first
// still answers, once, in any process (the claim names the event).
func TestGroupDMMentionRetried(t *testing.T) {
	for _, first := range []string{"message", "mention"} {
		t.Run(first+" first", func(t *testing.T) {
			e := newEnv(t, envOptions{slackOptions: []slackapi.Option{slackapi.WithMaxAttempts(2)}})
			e.identify()
			name := e.groupDM("C0GROUPDM")
			now := time.Now()
			s := said{user: "alice", channel: name, chType: "mpim", text: "<@U0GOPHBOT> books",
				at: now, ts: fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)}
			a, b := e.message(s), e.mention(s)
			if first == "mention" {
				a, b = b, a
			}
			e.slack.Inject("chat.postMessage", slackfake.Fault{Status: 503, Times: 2})
			if err := e.handle(a, 1); err == nil || errors.Is(err, workqueue.ErrPermanent) {
				t.Fatalf("first handling: %v; want a transient error", err)
			}
			if err := e.handle(b, 1); err != nil {
				t.Fatalf("the twin: %v", err)
			}
			// The retry, by a consumer process that never saw the event.
			other, err := New(e.cfg, zerolog.New(e.logs), e.rdb, e.api)
			if err != nil {
				t.Fatal(err)
			}
			other.me = e.c.me
			if err := other.Handle(context.Background(), &workqueue.Delivery{
				Event: a.Event, EntryID: "1700000000000-0", Attempt: 2, Enqueued: time.Now(),
			}); err != nil {
				t.Fatalf("the retry: %v", err)
			}
			if diff := cmp.Diff([]string{"chat.postMessage #" + name}, heads(e.seen())); diff != "" {
				t.Errorf("visible calls (-want +got):\n%s", diff)
			}
		})
	}
}
