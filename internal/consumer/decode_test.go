package consumer

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gophers/gopherbot/handler"
)

var me = identity{UserID: "U0BOT", BotID: "B0BOT"}

// Bodies as Slack's Events API posts them (trimmed of fields nobody reads).
const (
	channelMessage = `{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev01","event_time":1700000000,
	  "event":{"client_msg_id":"5c3b","type":"message","text":"pizza at 6? <@U2> &amp; <#C9|random> <https://go.dev|the site>","user":"U1",
	  "ts":"1700000000.123456","team":"T1","channel":"C1","event_ts":"1700000000.123456","channel_type":"channel",
	  "blocks":[{"type":"rich_text","block_id":"x","elements":[]}]}}`
	dmMessage = `{"type":"event_callback","event_id":"Ev02","event_time":1700000001,
	  "event":{"type":"message","text":"<@U0BOT> help","user":"U1","ts":"1700000001.000200","channel":"D1","event_ts":"1700000001.000200","channel_type":"im"}}`
	threadReply = `{"type":"event_callback","event_id":"Ev03","event_time":1700000002,
	  "event":{"type":"message","text":"same here","user":"U2","ts":"1700000002.000300","thread_ts":"1700000000.123456","parent_user_id":"U1",
	  "channel":"C1","event_ts":"1700000002.000300","channel_type":"channel"}}`
	appMention = `{"type":"event_callback","event_id":"Ev04","event_time":1700000003,
	  "event":{"type":"app_mention","text":"<@U0BOT>: define goroutine for <@U2|bob>","user":"U1","ts":"1700000003.000400",
	  "team":"T1","channel":"C1","event_ts":"1700000003.000400"}}`
	fileShare = `{"type":"event_callback","event_id":"Ev05","event_time":1700000004,
	  "event":{"type":"message","subtype":"file_share","text":"why does this deadlock?","user":"U1","ts":"1700000004.000500",
	  "channel":"C1","channel_type":"channel","upload":false,"display_as_bot":false,
	  "files":[{"id":"F1","created":1700000004,"name":"main.go","title":"main.go","mimetype":"text/plain","filetype":"go",
	    "pretty_type":"Go","user":"U1","mode":"snippet","url_private":"https://files.slack.com/files-pri/T1-F1/main.go",
	    "preview":"package main","lines":42}]}}`
	broadcast = `{"type":"event_callback","event_id":"Ev06","event_time":1700000005,
	  "event":{"type":"message","subtype":"thread_broadcast","text":"answer for everyone","user":"U1","ts":"1700000005.000600",
	  "thread_ts":"1700000000.123456","root":{"type":"message","user":"U3","text":"q","ts":"1700000000.123456"},
	  "channel":"C1","event_ts":"1700000005.000600","channel_type":"channel"}}`
	teamJoin = `{"type":"event_callback","event_id":"Ev07","event_time":1700000006,
	  "event":{"type":"team_join","user":{"id":"U7","team_id":"T1","name":"gina","deleted":false,"real_name":"Gina Go",
	    "is_bot":false,"profile":{"real_name":"Gina Go","display_name":"gina.go"}},"cache_ts":1700000006,"event_ts":"1700000006.000700"}}`
	memberJoined = `{"type":"event_callback","event_id":"Ev08","event_time":1700000007,
	  "event":{"type":"member_joined_channel","user":"U7","channel":"C5","channel_type":"C","team":"T1","inviter":"U1","event_ts":"1700000007.000800"}}`
	privateMention = `{"type":"event_callback","event_id":"Ev09","event_time":1700000008,
	  "event":{"type":"app_mention","text":"hey <@U0BOT> flip a coin","user":"U1","ts":"1700000008.000900","channel":"G1","event_ts":"1700000008.000900"}}`
)

func TestDecode(t *testing.T) {
	tm := func(sec, usec int64) time.Time { return time.Unix(sec, usec*1000) }
	tests := []struct {
		name string
		body string
		want *handler.Message
	}{
		{"channel message", channelMessage, &handler.Message{
			Kind: handler.KindMessage, EventID: "Ev01", Channel: "C1", ChannelType: "channel", User: "U1",
			Text:    "pizza at 6? <@U2> & <#C9|random> the site",
			RawText: "pizza at 6? <@U2> &amp; <#C9|random> <https://go.dev|the site>",
			TS:      "1700000000.123456",
			Mentions: []handler.Mention{
				{Kind: handler.MentionUser, ID: "U2"},
				{Kind: handler.MentionChannel, ID: "C9", Label: "random"},
				{Kind: handler.MentionLink, ID: "https://go.dev", Label: "the site"},
			},
			Time: tm(1700000000, 123456), BotID: "U0BOT",
		}},
		{"DM", dmMessage, &handler.Message{
			Kind: handler.KindMessage, EventID: "Ev02", Channel: "D1", ChannelType: "im", User: "U1",
			Text: "help", RawText: "<@U0BOT> help", TS: "1700000001.000200", Mentioned: true,
			Time: tm(1700000001, 200), BotID: "U0BOT",
		}},
		{"thread reply", threadReply, &handler.Message{
			Kind: handler.KindMessage, EventID: "Ev03", Channel: "C1", ChannelType: "channel", User: "U2",
			Text: "same here", RawText: "same here", TS: "1700000002.000300", ThreadTS: "1700000000.123456",
			Time: tm(1700000002, 300), BotID: "U0BOT",
		}},
		{"app_mention", appMention, &handler.Message{
			Kind: handler.KindMessage, EventID: "Ev04", Channel: "C1", ChannelType: "channel", User: "U1",
			Text: "define goroutine for <@U2|bob>", RawText: "<@U0BOT>: define goroutine for <@U2|bob>",
			TS: "1700000003.000400", Mentioned: true,
			Mentions: []handler.Mention{{Kind: handler.MentionUser, ID: "U2", Label: "bob"}},
			Time:     tm(1700000003, 400), BotID: "U0BOT",
		}},
		{"app_mention in a private channel", privateMention, &handler.Message{
			Kind: handler.KindMessage, EventID: "Ev09", Channel: "G1", ChannelType: "group", User: "U1",
			Text: "hey flip a coin", RawText: "hey <@U0BOT> flip a coin", TS: "1700000008.000900", Mentioned: true,
			Time: tm(1700000008, 900), BotID: "U0BOT",
		}},
		{"file share", fileShare, &handler.Message{
			Kind: handler.KindMessage, EventID: "Ev05", Channel: "C1", ChannelType: "channel", User: "U1",
			Text: "why does this deadlock?", RawText: "why does this deadlock?", TS: "1700000004.000500",
			Files: []handler.File{{ID: "F1", Name: "main.go", Filetype: "go",
				URLPrivate: "https://files.slack.com/files-pri/T1-F1/main.go", Preview: "package main", Lines: 42}},
			Time: tm(1700000004, 500), BotID: "U0BOT",
		}},
		{"thread broadcast", broadcast, &handler.Message{
			Kind: handler.KindMessage, EventID: "Ev06", Channel: "C1", ChannelType: "channel", User: "U1",
			Text: "answer for everyone", RawText: "answer for everyone", TS: "1700000005.000600", ThreadTS: "1700000000.123456",
			Time: tm(1700000005, 600), BotID: "U0BOT",
		}},
		{"team_join", teamJoin, &handler.Message{
			Kind: handler.KindTeamJoin, EventID: "Ev07", User: "U7", UserName: "gina.go",
			Time: time.Unix(1700000006, 0), BotID: "U0BOT",
		}},
		{"member_joined_channel", memberJoined, &handler.Message{
			Kind: handler.KindMemberJoinedChannel, EventID: "Ev08", Channel: "C5", ChannelType: "channel", User: "U7",
			Time: time.Unix(1700000007, 0), BotID: "U0BOT",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, skip, err := decode([]byte(tt.body), me)
			if err != nil || skip != "" {
				t.Fatalf("decode: skip %q, err %v", skip, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeUndecodable(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":                `{"type":"event_callback",`,
		"empty":                   ``,
		"url_verification":        `{"type":"url_verification","challenge":"abc"}`,
		"no event":                `{"type":"event_callback","event_id":"Ev1"}`,
		"event not an object":     `{"type":"event_callback","event_id":"Ev1","event":"message"}`,
		"unknown event type":      `{"type":"event_callback","event_id":"Ev1","event":{"type":"reaction_added","user":"U1"}}`,
		"message user a number":   `{"type":"event_callback","event_id":"Ev1","event":{"type":"message","user":7,"channel":"C1","ts":"1.2"}}`,
		"message without ts":      `{"type":"event_callback","event_id":"Ev1","event":{"type":"message","user":"U1","channel":"C1","text":"hi"}}`,
		"team_join user a string": `{"type":"event_callback","event_id":"Ev1","event":{"type":"team_join","user":"U1"}}`,
		"join without channel":    `{"type":"event_callback","event_id":"Ev1","event":{"type":"member_joined_channel","user":"U1"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			m, skip, err := decode([]byte(body), me)
			if !errors.Is(err, errUndecodable) {
				t.Errorf("decode = %+v, skip %q, err %v; want an error wrapping errUndecodable", m, skip, err)
			}
		})
	}
}

// TestDecodeIgnored checks what is decoded but not handled, and why.
func TestDecodeIgnored(t *testing.T) {
	msg := func(fields string) string {
		return `{"type":"event_callback","event_id":"Ev1","event_time":1700000000,"event":{"type":"message","channel":"C1",` +
			`"channel_type":"channel","ts":"1700000000.000100",` + fields + `}}`
	}
	tests := []struct {
		name, body string
		skip       bool
	}{
		{"own message", msg(`"user":"U0BOT","bot_id":"B0BOT","text":"Heads!"`), true},
		{"own message, user only", msg(`"user":"U0BOT","text":"Heads!"`), true},
		{"own message, bot_id only", msg(`"bot_id":"B0BOT","text":"Heads!"`), true},
		{"own thread_broadcast", msg(`"subtype":"thread_broadcast","user":"U0BOT","thread_ts":"1699999999.000100","text":"x"`), true},
		{"other bot", msg(`"user":"U9","bot_id":"B9","text":"thanks <@U0BOT>"`), true},
		{"bot_message", msg(`"subtype":"bot_message","bot_id":"B9","username":"ci","text":"build green"`), true},
		{"edit", msg(`"subtype":"message_changed","hidden":true,"message":{"type":"message","user":"U1","text":"help","ts":"1699999999.000100"}`), true},
		{"deletion", msg(`"subtype":"message_deleted","hidden":true,"deleted_ts":"1699999999.000100"`), true},
		{"channel_join", msg(`"subtype":"channel_join","user":"U1","text":"<@U1> has joined the channel"`), true},
		{"message_replied", msg(`"subtype":"message_replied","hidden":true`), true},
		{"no user", msg(`"text":"who said this"`), true},
		{"mention as a channel message (the app_mention is answered)", msg(`"user":"U1","text":"<@U0BOT> help"`), true},
		{"mention in a DM as app_mention (the DM message is answered)",
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"U1","text":"<@U0BOT> help","channel":"D1","ts":"1700000000.000100"}}`, true},
		{"edited mention (Slack sends the app_mention again)",
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"U1","text":"<@U0BOT> help","channel":"C1","ts":"1700000000.000100","edited":{"user":"U1","ts":"1700000005.000000"}}}`, true},
		{"team_join of a bot",
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"team_join","user":{"id":"U8","name":"ci","is_bot":true}}}`, true},
		{"team_join of the bot itself",
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"team_join","user":{"id":"U0BOT","name":"gopherbot","is_bot":true}}}`, true},
		{"team_join of a guest",
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"team_join","user":{"id":"U9","name":"visitor","is_restricted":true}}}`, true},
		{"team_join of a single-channel guest",
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"team_join","user":{"id":"U9","name":"visitor","is_ultra_restricted":true}}}`, true},
		{"team_join of an app user",
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"team_join","user":{"id":"U9","name":"app","is_app_user":true}}}`, true},
		{"team_join of a member",
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"team_join","user":{"id":"U9","name":"dana"}}}`, false},
		{"bot joins a channel",
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"member_joined_channel","user":"U0BOT","channel":"C1","channel_type":"C"}}`, true},

		{"someone's message", msg(`"user":"U1","text":"hello"`), false},
		{"someone's thread_broadcast", msg(`"subtype":"thread_broadcast","user":"U1","thread_ts":"1699999999.000100","text":"x"`), false},
		{"me_message", msg(`"subtype":"me_message","user":"U1","text":"waves"`), false},
		{"mention, edited null", `{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"U1","text":"<@U0BOT> help","channel":"C1","ts":"1700000000.000100","edited":null}}`, false},
		{"mention in a group DM (maybe also an app_mention: the first handled answers)",
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"message","channel_type":"mpim","user":"U1","text":"<@U0BOT> help","channel":"C1","ts":"1700000000.000100"}}`, false},
		{"mention in a DM", `{"type":"event_callback","event_id":"Ev1","event":{"type":"message","channel_type":"im","user":"U1","text":"<@U0BOT> help","channel":"D1","ts":"1700000000.000100"}}`, false},

		// Shapes seen from Slack beyond the documented examples.
		{"bot_message that names a user", msg(`"subtype":"bot_message","user":"U9","bot_id":"B9","text":"deploy done"`), true},
		{"another app's message without a subtype", msg(`"user":"U9","bot_id":"B9","app_id":"A9","bot_profile":{"id":"B9","name":"ci"},"text":"┻━┻"`), true},
		{"mention in a canvas (app_mention, subtype document_mention)",
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","subtype":"document_mention","user":"U1","text":"<@U0BOT> was mentioned in a canvas",` +
				`"document_mention":{"file_id":"F1","section_id":"temp:C:x","mentioning_user_ids":["U1"]},"channel":"C1","ts":"1700000000.000100","event_ts":"1700000000.000100"}}`, true},
		{"Slack Connect user's message", msg(`"user":"U0EXT","user_team":"T0OTHER","source_team":"T0OTHER","team":"T0OTHER",` +
			`"user_profile":{"real_name":"Ext","display_name":"ext","team":"T0OTHER","is_restricted":false},"text":"hello"`), false},
		{"Slack Connect user's mention (app_mention)",
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"W0EXT","user_team":"E0OTHER","source_team":"T0OTHER",` +
				`"text":"<@U0BOT> books","channel":"C1","ts":"1700000000.000100","event_ts":"1700000000.000100"}}`, false},
		{"app_mention with a file", `{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"U1","text":"<@U0BOT> why?",` +
			`"files":[{"id":"F1","name":"main.go","filetype":"go","url_private":"https://files.slack.com/x","lines":12}],"upload":false,"display_as_bot":false,` +
			`"channel":"C1","ts":"1700000000.000100","event_ts":"1700000000.000100"}}`, false},
		{"file_share of a file hidden by the plan's limit", msg(`"subtype":"file_share","user":"U1","text":"look","files":[{"id":"F1","mode":"hidden_by_limit"}]`), false},
		{"file_share from Slack Connect (file info withheld)", msg(`"subtype":"file_share","user":"U1","text":"look",` +
			`"files":[{"id":"F1","mode":"file_access","file_access":"check_file_info","created":0,"timestamp":0,"user":""}]`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, skip, err := decode([]byte(tt.body), me)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := skip != ""; got != tt.skip {
				t.Errorf("decode skip = %q (message %+v); want skipped %v", skip, m, tt.skip)
			}
		})
	}
}

func TestParseTS(t *testing.T) {
	for ts, want := range map[string]time.Time{
		"1700000000.123456": time.Unix(1700000000, 123456000),
		"1700000000":        time.Unix(1700000000, 0),
		"1700000000.1":      time.Unix(1700000000, 100000000),
	} {
		if got, ok := parseTS(ts); !ok || !got.Equal(want) {
			t.Errorf("parseTS(%q) = %v, %v; want %v", ts, got, ok, want)
		}
	}
	for _, ts := range []string{"", "x", "-1.5", "1700000000.x"} {
		if got, ok := parseTS(ts); ok {
			t.Errorf("parseTS(%q) = %v, true; want false", ts, got)
		}
	}
}
