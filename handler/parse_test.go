package handler

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

const bot = "U0BOT"

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		bot       string // bot when empty
		noBot     bool   // parse with an empty bot ID
		text      string
		mentions  []Mention
		mentioned bool
	}{
		{name: "plain", raw: "how do I learn Go?", text: "how do I learn Go?"},
		{name: "empty", raw: "", text: ""},
		{name: "blank", raw: " \n\t ", text: ""},
		{name: "mention first", raw: "<@U0BOT> help", text: "help", mentioned: true},
		{name: "mention colon", raw: "<@U0BOT>: help", text: "help", mentioned: true},
		{name: "mention space colon", raw: "<@U0BOT> : help", text: "help", mentioned: true},
		{name: "mention comma label", raw: "<@U0BOT|gopherbot>, flip a coin", text: "flip a coin", mentioned: true},
		{name: "mention only", raw: "<@U0BOT>", text: "", mentioned: true},
		{name: "mention twice", raw: "<@U0BOT> <@U0BOT> help", text: "help", mentioned: true},
		{name: "mention in the middle", raw: "hey <@U0BOT> what's up?", text: "hey what's up?", mentioned: true},
		{name: "mention last", raw: "thanks <@U0BOT>!", text: "thanks!", mentioned: true},
		{name: "mention last after a comma", raw: "help, <@U0BOT>", text: "help", mentioned: true},
		{name: "mention last after a comma, then punctuation", raw: "thanks, <@U0BOT>!", text: "thanks!", mentioned: true},
		{name: "mention between commas", raw: "books, <@U0BOT>, please", text: "books, please", mentioned: true},
		{name: "zero-width spaces", raw: "<@U0BOT>\u200b help\u200b me\u2060\ufeff", text: "help me", mentioned: true},
		{name: "zero-width joiner kept", raw: "family \U0001F468\u200d\U0001F469", text: "family \U0001F468\u200d\U0001F469"},
		{name: "mention last with period", raw: "I love <@U0BOT>.", text: "I love.", mentioned: true},
		{name: "mention then emoji", raw: "<@U0BOT>:wave:", text: ":wave:", mentioned: true},
		{name: "mention space emoji", raw: "<@U0BOT> :wave: hi", text: ":wave: hi", mentioned: true},
		{name: "mention without space", raw: "<@U0BOT>help", text: "help", mentioned: true},
		{name: "mention on its own line", raw: "look\n<@U0BOT>\nhere", text: "look\n\nhere", mentioned: true},
		{
			name: "mention then code",
			raw:  "<@U0BOT>\n```\npackage main\n\nfunc main() {}\n```",
			text: "```\npackage main\n\nfunc main() {}\n```", mentioned: true,
		},
		{
			name: "asking for someone else", raw: "<@U0BOT> newbie resources <@U123ABC>",
			text: "newbie resources <@U123ABC>", mentioned: true,
			mentions: []Mention{{Kind: MentionUser, ID: "U123ABC"}},
		},
		{
			name: "someone else first", raw: "<@U0BOT>, <@U2|ann> asked about books",
			text: "<@U2|ann> asked about books", mentioned: true,
			mentions: []Mention{{Kind: MentionUser, ID: "U2", Label: "ann"}},
		},
		{
			name: "enterprise user", raw: "<@W0ENT123> ping",
			text:     "<@W0ENT123> ping",
			mentions: []Mention{{Kind: MentionUser, ID: "W0ENT123"}},
		},
		{
			name: "same user twice", raw: "<@U1> and <@U1|ann> and <@U2>",
			text:     "<@U1> and <@U1|ann> and <@U2>",
			mentions: []Mention{{Kind: MentionUser, ID: "U1"}, {Kind: MentionUser, ID: "U2"}},
		},
		{
			name: "channel with name", raw: "ask in <#C024BE7LR|newbies> please",
			text:     "ask in <#C024BE7LR|newbies> please",
			mentions: []Mention{{Kind: MentionChannel, ID: "C024BE7LR", Label: "newbies"}},
		},
		{
			name: "channel with empty name", raw: "see <#C024BE7LR|>",
			text:     "see <#C024BE7LR|>",
			mentions: []Mention{{Kind: MentionChannel, ID: "C024BE7LR"}},
		},
		{
			name: "channel bare", raw: "<#C024BE7LR>",
			text:     "<#C024BE7LR>",
			mentions: []Mention{{Kind: MentionChannel, ID: "C024BE7LR"}},
		},
		{
			name: "user group", raw: "<!subteam^S0123ABC|@go-team> please review",
			text:     "<!subteam^S0123ABC|@go-team> please review",
			mentions: []Mention{{Kind: MentionUserGroup, ID: "S0123ABC", Label: "@go-team"}},
		},
		{
			name: "user group bare", raw: "cc <!subteam^S0123ABC>",
			text:     "cc <!subteam^S0123ABC>",
			mentions: []Mention{{Kind: MentionUserGroup, ID: "S0123ABC"}},
		},
		{
			name: "here", raw: "<!here> the meetup starts now",
			text:     "<!here> the meetup starts now",
			mentions: []Mention{{Kind: MentionSpecial, ID: "here"}},
		},
		{
			name: "here labelled, channel, everyone", raw: "<!here|@here> <!channel> <!everyone>",
			text: "<!here|@here> <!channel> <!everyone>",
			mentions: []Mention{
				{Kind: MentionSpecial, ID: "here", Label: "@here"},
				{Kind: MentionSpecial, ID: "channel"},
				{Kind: MentionSpecial, ID: "everyone"},
			},
		},
		{
			name: "auto-linked import path", raw: "<@U0BOT> d/<http://golang.org/x/tools|golang.org/x/tools>",
			text: "d/golang.org/x/tools", mentioned: true,
			mentions: []Mention{{Kind: MentionLink, ID: "http://golang.org/x/tools", Label: "golang.org/x/tools"}},
		},
		{
			name: "links", raw: "read <https://go.dev/doc/effective_go|Effective Go> and <https://go.dev>",
			text: "read Effective Go and https://go.dev",
			mentions: []Mention{
				{Kind: MentionLink, ID: "https://go.dev/doc/effective_go", Label: "Effective Go"},
				{Kind: MentionLink, ID: "https://go.dev"},
			},
		},
		{
			name: "link with escaped query", raw: "<https://example.com/?a=1&amp;b=2|example.com/?a=1&amp;b=2>",
			text:     "example.com/?a=1&b=2",
			mentions: []Mention{{Kind: MentionLink, ID: "https://example.com/?a=1&b=2", Label: "example.com/?a=1&b=2"}},
		},
		{
			name: "mailto", raw: "write to <mailto:gopher@example.com|gopher@example.com> or <mailto:a@example.com>",
			text: "write to gopher@example.com or a@example.com",
			mentions: []Mention{
				{Kind: MentionLink, ID: "mailto:gopher@example.com", Label: "gopher@example.com"},
				{Kind: MentionLink, ID: "mailto:a@example.com"},
			},
		},
		{
			name: "entities", raw: "if a &lt; b &amp;&amp; c &gt; d {",
			text: "if a < b && c > d {",
		},
		{name: "entities unescaped once", raw: "&amp;lt; is how &lt; is written", text: "&lt; is how < is written"},
		{
			name: "code paste with a link", raw: "```resp, err := http.Get(\"<https://example.com>\")\nif err != nil {\n\treturn err\n}```",
			text:     "```resp, err := http.Get(\"https://example.com\")\nif err != nil {\n\treturn err\n}```",
			mentions: []Mention{{Kind: MentionLink, ID: "https://example.com"}},
		},
		{
			name: "channel arrow", raw: "ch := make(chan int)\nch &lt;- 1\nv := &lt;-ch",
			text: "ch := make(chan int)\nch <- 1\nv := <-ch",
		},
		{
			name: "date", raw: "<!date^1392734382^Posted {date_num}|Posted 2014-02-18> ok",
			text: "Posted 2014-02-18 ok",
		},
		{name: "unknown special", raw: "<!foo> bar", text: "<!foo> bar"},
		{name: "typed mention of the bot", raw: "&lt;@U0BOT&gt; is how it looks", text: "is how it looks"},
		{name: "typed labelled mention of the bot", raw: "x &lt;@U0BOT|bot&gt;: y", text: "x y"},
		{name: "other ID starting like the bot's", raw: "<@U0BOT2> hi", text: "<@U0BOT2> hi", mentions: []Mention{{Kind: MentionUser, ID: "U0BOT2"}}},
		{name: "unterminated", raw: "look <https://go.dev", text: "look <https://go.dev"},
		{name: "stray angle", raw: "a <b <@U0BOT> c", text: "a <b c", mentioned: true},
		{name: "not a reference", raw: "<nothing here>", text: "<nothing here>"},
		{
			name: "no bot ID", raw: "<@U0BOT> help", noBot: true,
			text: "<@U0BOT> help", mentions: []Mention{{Kind: MentionUser, ID: "U0BOT"}},
		},
		{
			name: "other bot ID", raw: "<@U0BOT> help", bot: "U9OTHER",
			text: "<@U0BOT> help", mentions: []Mention{{Kind: MentionUser, ID: "U0BOT"}},
		},
		{name: "flipped table", raw: "(╯°□°)╯︵ ┻━┻", text: "(╯°□°)╯︵ ┻━┻"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := bot
			if tt.bot != "" {
				id = tt.bot
			}
			if tt.noBot {
				id = ""
			}
			text, mentions, mentioned := Parse(tt.raw, id)
			if diff := cmp.Diff(tt.text, text); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.mentions, mentions); diff != "" {
				t.Errorf("mentions (-want +got):\n%s", diff)
			}
			if mentioned != tt.mentioned {
				t.Errorf("mentioned = %v, want %v", mentioned, tt.mentioned)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	for _, s := range []string{"a < b && c > d", "<@U0BOT>", "&amp;", "plain"} {
		esc := Escape(s)
		if strings.ContainsAny(esc, "<>") {
			t.Errorf("Escape(%q) = %q, still has < or >", s, esc)
		}
		if got, _, _ := Parse(esc, ""); got != s {
			t.Errorf("Parse(Escape(%q)) = %q, want it back", s, got)
		}
	}
}

func TestSkip(t *testing.T) {
	const self = "U0BOT"
	tests := []struct {
		name                 string
		subtype, user, botID string
		wantReason           string
	}{
		{name: "person", user: "U1"},
		{name: "thread broadcast by a person", subtype: "thread_broadcast", user: "U1"},
		{name: "file share", subtype: "file_share", user: "U1"},
		{name: "me message", subtype: "me_message", user: "U1"},
		{name: "own message", user: self, botID: "B0BOT", wantReason: "the bot's own message"},
		{name: "own thread broadcast", subtype: "thread_broadcast", user: self, wantReason: "the bot's own message"},
		{name: "own file share", subtype: "file_share", user: self, wantReason: "the bot's own message"},
		{name: "other bot", user: "U2", botID: "B2", wantReason: "a bot's message"},
		{name: "bot_message", subtype: "bot_message", botID: "B2", wantReason: "a bot's message"},
		{name: "bot_message without bot_id", subtype: "bot_message", wantReason: "message subtype bot_message"},
		{name: "edit", subtype: "message_changed", wantReason: "message subtype message_changed"},
		{name: "delete", subtype: "message_deleted", wantReason: "message subtype message_deleted"},
		{name: "replied", subtype: "message_replied", wantReason: "message subtype message_replied"},
		{name: "join", subtype: "channel_join", user: "U1", wantReason: "message subtype channel_join"},
		{name: "leave", subtype: "channel_leave", user: "U1", wantReason: "message subtype channel_leave"},
		{name: "group join", subtype: "group_join", user: "U1", wantReason: "message subtype group_join"},
		{name: "topic", subtype: "channel_topic", user: "U1", wantReason: "message subtype channel_topic"},
		{name: "unknown subtype", subtype: "something_new", user: "U1", wantReason: "message subtype something_new"},
		{name: "no user", wantReason: "message without a user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, skip := Skip(tt.subtype, tt.user, tt.botID, self)
			if skip != (tt.wantReason != "") || reason != tt.wantReason {
				t.Errorf("Skip(%q, %q, %q) = %q, %v; want %q", tt.subtype, tt.user, tt.botID, reason, skip, tt.wantReason)
			}
		})
	}
}

func TestStale(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		m    Message
		want bool
	}{
		{name: "fresh", m: Message{Kind: KindMessage, Time: now.Add(-29 * time.Second)}},
		{name: "at the limit", m: Message{Kind: KindMessage, Time: now.Add(-MaxMessageAge)}},
		{name: "old", m: Message{Kind: KindMessage, Time: now.Add(-31 * time.Second)}, want: true},
		{name: "old, kind unset", m: Message{Time: now.Add(-time.Hour)}, want: true},
		{name: "old join", m: Message{Kind: KindTeamJoin, Time: now.Add(-time.Hour)}},
		{name: "old channel join", m: Message{Kind: KindMemberJoinedChannel, Time: now.Add(-time.Hour)}},
		{name: "no time", m: Message{Kind: KindMessage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Stale(now); got != tt.want {
				t.Errorf("Stale = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMentionedUsers(t *testing.T) {
	_, mentions, _ := Parse("<@U0BOT> books <@U1> <#C1|x> <@U2|bo> <!here> <@U1|ann>", bot)
	m := &Message{Mentions: append(mentions, Mention{Kind: MentionUser, ID: bot}), BotID: bot}
	if diff := cmp.Diff([]string{"U1", "U2"}, m.MentionedUsers()); diff != "" {
		t.Errorf("MentionedUsers (-want +got):\n%s", diff)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"<@U0BOT> help", "<@U0BOT>: help", "thanks <@U0BOT|gopherbot>!", "&lt;@U0BOT&gt;",
		"<@U0B<@U0BOT>OT>", "&lt;@U0B<@U0BOT>OT&gt;", "<!subteam^S1|@x> <!here> <#C1|general>",
		"<https://go.dev|Go> <mailto:a@b.c>", "a &amp;&lt;&gt; b", "<@U0BOT>:wave:", "<<@U0BOT>>",
		"<!date^1^{date}|today>", "```\ncode\n```", "<", ">", "<@>", "<#>", "<!>",
	} {
		f.Add(s, bot)
	}
	f.Add("<@A>> x", "A>")
	f.Fuzz(func(t *testing.T, raw, id string) {
		text, mentions, mentioned := Parse(raw, id)
		if text != strings.TrimSpace(text) {
			t.Errorf("Parse(%q, %q) text %q is not trimmed", raw, id, text)
		}
		if utf8.ValidString(raw) && utf8.ValidString(id) && !utf8.ValidString(text) {
			t.Errorf("Parse(%q, %q) text %q is not UTF-8", raw, id, text)
		}
		if id == "" {
			if mentioned {
				t.Errorf("Parse(%q, \"\") mentioned with no bot ID", raw)
			}
			return
		}
		if mentioned && !strings.Contains(raw, "<@"+id) {
			t.Errorf("Parse(%q, %q) mentioned, but the raw text has no mention", raw, id)
		}
		for rest := text; ; {
			i := strings.Index(rest, "<@"+id)
			if i < 0 {
				break
			}
			rest = rest[i+len("<@"+id):]
			if strings.HasPrefix(rest, ">") || strings.HasPrefix(rest, "|") && strings.Contains(rest, ">") {
				t.Errorf("Parse(%q, %q) text %q still mentions the bot", raw, id, text)
				break
			}
		}
		for _, mn := range mentions {
			if mn.Kind == MentionUser && mn.ID == id {
				t.Errorf("Parse(%q, %q) lists the bot's own mention", raw, id)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	raw := "<@U0BOT>: newbie resources <@U123ABC> see <https://go.dev/doc|the docs> &amp; <#C1|newbies>"
	for b.Loop() {
		Parse(raw, bot)
	}
}
