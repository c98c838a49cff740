package consumer

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gophers/gopherbot/handler"
)

func TestResponder(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice, bob, carol := e.userID("alice"), e.userID("bob"), e.userID("carol")
	general, _ := e.channel("general", alice)
	dm, _ := e.channel("dm", alice)
	bot := e.slack.Bot().ID
	inChannel := handler.Message{
		Kind: handler.KindMessage, EventID: "EvR", Channel: general, ChannelType: "channel",
		User: alice, TS: "1700000000.000100", BotID: bot, Mentioned: true,
		Mentions: []handler.Mention{
			{Kind: handler.MentionUser, ID: bob},
			{Kind: handler.MentionChannel, ID: general},
			{Kind: handler.MentionUser, ID: carol, Label: "carol"},
			{Kind: handler.MentionUser, ID: bot},
		},
	}
	inThread := inChannel
	inThread.ThreadTS = "1699999999.000900"
	inDM := handler.Message{Kind: handler.KindMessage, EventID: "EvR", Channel: dm, ChannelType: "im", User: alice, TS: "1700000000.000200", BotID: bot}
	join := handler.Message{Kind: handler.KindTeamJoin, EventID: "EvR", User: alice, BotID: bot}

	tests := []struct {
		name    string
		m       handler.Message
		shadow  bool
		do      func(context.Context, handler.Responder) error
		want    []string // rendered calls
		wantErr bool
	}{
		{"reply", inChannel, false,
			func(ctx context.Context, r handler.Responder) error { return r.Reply(ctx, "hello") },
			[]string{"chat.postMessage #general: hello"}, false},
		{"reply in the thread", inThread, false,
			func(ctx context.Context, r handler.Responder) error { return r.Reply(ctx, "hello") },
			[]string{"chat.postMessage #general (thread 1699999999.000900): hello"}, false},
		{"reply starting a thread", inChannel, false,
			func(ctx context.Context, r handler.Responder) error { return r.Reply(ctx, "hello", handler.InThread()) },
			[]string{"chat.postMessage #general (thread 1700000000.000100): hello"}, false},
		{"reply continuing a thread", inThread, false,
			func(ctx context.Context, r handler.Responder) error { return r.Reply(ctx, "hello", handler.InThread()) },
			[]string{"chat.postMessage #general (thread 1699999999.000900): hello"}, false},
		{"a DM has no threads", inDM, false,
			func(ctx context.Context, r handler.Responder) error { return r.Reply(ctx, "hello", handler.InThread()) },
			[]string{"chat.postMessage @alice: hello"}, false},
		{"reply mentioning the asked", inChannel, false,
			func(ctx context.Context, r handler.Responder) error {
				return r.Reply(ctx, "read this", handler.MentionAsked())
			},
			[]string{"chat.postMessage #general: <@bob> <@carol> read this"}, false},
		{"reply with previews", inChannel, false,
			func(ctx context.Context, r handler.Responder) error {
				return r.Reply(ctx, "https://go.dev", handler.Unfurl())
			},
			[]string{"chat.postMessage #general (unfurl): https://go.dev"}, false},
		{"ephemeral", inThread, false,
			func(ctx context.Context, r handler.Responder) error { return r.Ephemeral(ctx, "psst") },
			[]string{"chat.postEphemeral #general (thread 1699999999.000900) to @alice: psst"}, false},
		{"DM", inChannel, false,
			func(ctx context.Context, r handler.Responder) error { return r.DM(ctx, bob, "hi bob") },
			[]string{"conversations.open @bob", "chat.postMessage @bob: hi bob"}, false},
		{"react", inDM, false,
			func(ctx context.Context, r handler.Responder) error { return r.React(ctx, ":gopher:") },
			[]string{"reactions.add @alice :gopher:"}, false},
		{"react to a join", join, false,
			func(ctx context.Context, r handler.Responder) error { return r.React(ctx, "wave") },
			nil, true},
		{"reply to a join", join, false,
			func(ctx context.Context, r handler.Responder) error { return r.Reply(ctx, "hi") },
			nil, true},
		{"shadow", inChannel, true,
			func(ctx context.Context, r handler.Responder) error {
				return joinErrs(r.Reply(ctx, "a"), r.Ephemeral(ctx, "b"), r.DM(ctx, alice, "c"), r.React(ctx, "d"))
			},
			nil, false},
		{"DMs to the asker and to someone else", inDM, false,
			func(ctx context.Context, r handler.Responder) error {
				return joinErrs(r.DM(ctx, alice, "to the asker"), r.DM(ctx, bob, "to someone else"))
			},
			[]string{"conversations.open @alice", "chat.postMessage @alice: to the asker",
				"conversations.open @bob", "chat.postMessage @bob: to someone else"}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.slack.Reset()
			m := tt.m
			m.EventID = "EvR" + strings.Repeat("x", i)
			r := &responder{slack: e.api, ledger: newLedger(e.rdb), log: e.c.log, m: &m, event: m.EventID, shadow: tt.shadow, production: true}
			err := tt.do(context.Background(), r)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
			var got []string
			for _, c := range e.slack.Calls() {
				got = append(got, e.slack.Render(c))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestShadowDMToOthers: in shadow mode an addressed message may get a DM
// to its asker, never to anyone else.
func TestShadowDMToOthers(t *testing.T) {
	e := newEnv(t, envOptions{settings: map[string]string{"GOPHERBOT_ENV": "staging"}})
	alice, bob := e.userID("alice"), e.userID("bob")
	dm, _ := e.channel("dm", alice)
	m := handler.Message{Kind: handler.KindMessage, EventID: "EvS", Channel: dm, ChannelType: "im", User: alice, TS: "1700000000.000200"}
	r := &responder{slack: e.api, ledger: newLedger(e.rdb), log: e.c.log, m: &m, event: m.EventID, shadow: false}
	ctx := context.Background()
	if err := joinErrs(r.DM(ctx, alice, "yours"), r.DM(ctx, bob, "not yours")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"chat.postMessage @alice"}, heads(e.seen())); diff != "" {
		t.Errorf("visible calls (-want +got):\n%s", diff)
	}
}

func joinErrs(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
