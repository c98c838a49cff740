package handler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder is a Responder that writes down every call, and fails the calls
// whose text is in fail.
type recorder struct {
	calls []string
	fail  map[string]error
}

func (r *recorder) record(call string) error {
	r.calls = append(r.calls, call)
	for s, err := range r.fail {
		if strings.Contains(call, s) {
			return err
		}
	}
	return nil
}

func (r *recorder) Reply(ctx context.Context, text string, opts ...ReplyOption) error {
	var o ReplyOptions
	for _, opt := range opts {
		opt(&o)
	}
	call := "reply " + text
	if o.Unfurl {
		call += " [unfurl]"
	}
	if o.MentionAsked {
		call += " [mention asked]"
	}
	return r.record(call)
}

func (r *recorder) Ephemeral(ctx context.Context, text string) error {
	return r.record("ephemeral " + text)
}

func (r *recorder) DM(ctx context.Context, user, text string) error {
	return r.record("dm " + user + " " + text)
}

func (r *recorder) React(ctx context.Context, emoji string) error {
	return r.record("react " + emoji)
}

var _ Responder = (*recorder)(nil)

// say is a handler that replies text, then the Arg in brackets when set.
func say(text string, opts ...ReplyOption) Handler {
	return HandlerFunc(func(ctx context.Context, m *Message, r Responder) error {
		reply := text
		if m.Arg != "" {
			reply += " [" + m.Arg + "]"
		}
		return r.Reply(ctx, reply, opts...)
	})
}

// message builds the Message the consumer would from raw text in a channel
// of the given type.
func message(channelType, raw string) *Message {
	text, mentions, mentioned := Parse(raw, bot)
	return &Message{
		Kind:        KindMessage,
		EventID:     "Ev" + raw,
		Channel:     "C1",
		ChannelType: channelType,
		User:        "U1",
		Text:        text,
		RawText:     raw,
		Mentioned:   mentioned,
		Mentions:    mentions,
		BotID:       bot,
	}
}

func testMux() *Mux {
	mx := NewMux()
	mx.Command("help", "What I can answer.", mx.HelpHandler(), "commands")
	mx.Command("flip a coin", "Heads or tails.", say("coin"), "coin flip", "flip")
	mx.Command("books", "Books about Go.", say("books", MentionAsked()), "book", "Go Books")
	mx.Command("what's new", "", say("news"))
	mx.Prefix("d/", "<package> Its documentation.", say("doc"))
	mx.Prefix("ghd/", "<owner/repo> Its documentation.", say("ghdoc"))
	mx.Prefix("define ", "<term> A Go term.", say("define"))
	mx.Prefix("xkcd:", "<number or name> A comic.", say("xkcd"))
	mx.Prefix("go ", "<command> The go command.", say("go"))
	mx.Prefix("go doc ", "<symbol> Documentation.", say("go doc"))
	mx.Keyword("┻━┻", "Tables go back up.", say("┬─┬ノ( º _ ºノ)"))
	mx.Keyword("Gopherbot sucks", "", say("I try my best."))
	mx.Match("paste", "Long pastes go to the Playground.", func(m *Message) bool {
		return strings.Count(m.Text, "\n") >= 3
	}, say("playground", Unfurl()))
	mx.React(Reaction{Keyword: "gopher", Emoji: "gopher"})
	mx.React(Reaction{Keyword: "thanks", Emoji: "heart", OnlyMentioned: true})
	mx.React(Reaction{Keyword: "thank you", Emoji: "heart", OnlyMentioned: true})
	mx.React(Reaction{Keyword: "gofmt", Emoji: ":scissors:"})
	mx.React(Reaction{Keyword: "gopher", Emoji: "wave", Chance: 1})
	mx.Event(KindTeamJoin, HandlerFunc(func(ctx context.Context, m *Message, r Responder) error {
		return r.DM(ctx, m.User, "welcome")
	}))
	return mx
}

const notFoundReply = "reply Sorry, I don't know that one. Ask me `help` to see what I can answer."

func TestMuxDispatch(t *testing.T) {
	mx := testMux()
	tests := []struct {
		name string
		m    *Message
		want []string
	}{
		{name: "command in DM", m: message("im", "flip a coin"), want: []string{"reply coin"}},
		{name: "command mentioned", m: message("channel", "<@U0BOT> flip a coin"), want: []string{"reply coin"}},
		{name: "command mentioned with colon", m: message("channel", "<@U0BOT>: flip a coin"), want: []string{"reply coin"}},
		{name: "command mentioned last", m: message("channel", "flip a coin <@U0BOT>"), want: []string{"reply coin"}},
		{name: "command not addressed", m: message("channel", "flip a coin")},
		{name: "command in a group DM not addressed", m: message("mpim", "flip a coin")},
		{name: "command in a private channel mentioned", m: message("group", "<@U0BOT> flip"), want: []string{"reply coin"}},
		{name: "alias", m: message("im", "coin flip"), want: []string{"reply coin"}},
		{name: "case", m: message("im", "FLIP A Coin"), want: []string{"reply coin"}},
		{name: "alias registered in upper case", m: message("im", "go books"), want: []string{"reply books [mention asked]"}},
		{name: "white space and punctuation", m: message("im", "  flip \n a   coin?!. "), want: []string{"reply coin"}},
		{name: "curly apostrophe", m: message("im", "What’s new?"), want: []string{"reply news"}},
		{
			name: "asking for someone", m: message("channel", "<@U0BOT> books <@U2> <!subteam^S1|@team>"),
			want: []string{"reply books [mention asked]"},
		},
		{name: "command after a comma, mentioned last", m: message("channel", "flip a coin, <@U0BOT>"), want: []string{"reply coin"}},
		{name: "command after a comma, mentioned last, asking", m: message("channel", "flip a coin, <@U0BOT>?"), want: []string{"reply coin"}},
		{name: "command with zero-width spaces", m: message("channel", "<@U0BOT>\u200b flip a\u200b coin\u2060\ufeff"), want: []string{"reply coin"}},
		{name: "prefix with a zero-width space", m: message("im", "d/net/http\u200b"), want: []string{"reply doc [net/http]"}},
		{name: "command then more words", m: message("im", "flip a coin please"), want: []string{notFoundReply}},
		{name: "prefix", m: message("im", "d/net/http"), want: []string{"reply doc [net/http]"}},
		{name: "prefix case", m: message("im", "XKCD: 149"), want: []string{"reply xkcd [149]"}},
		{name: "prefix auto-linked", m: message("channel", "<@U0BOT> d/<http://golang.org/x/tools|golang.org/x/tools>"), want: []string{"reply doc [golang.org/x/tools]"}},
		{name: "prefix ghd not d", m: message("im", "ghd/golang/go"), want: []string{"reply ghdoc [golang/go]"}},
		{name: "prefix with space", m: message("im", "define   goroutine "), want: []string{"reply define [goroutine]"}},
		{name: "prefix with newline", m: message("im", "define\nchannel"), want: []string{"reply define [channel]"}},
		{name: "prefix word alone", m: message("im", "define"), want: []string{"reply define"}},
		{name: "prefix word run on", m: message("im", "defined"), want: []string{notFoundReply}},
		{name: "prefix word alone, asking", m: message("channel", "<@U0BOT> define?"), want: []string{"reply define"}},
		{name: "prefix word alone, ending a sentence", m: message("im", "Define!."), want: []string{"reply define"}},
		{name: "prefix word run on by punctuation", m: message("im", "define?goroutine"), want: []string{notFoundReply}},
		{name: "prefix asking for someone", m: message("channel", "<@U0BOT> define goroutine <@U2|ann> <!here>"), want: []string{"reply define [goroutine]"}},
		{name: "prefix ends a sentence", m: message("im", "xkcd:927."), want: []string{"reply xkcd [927]"}},
		{name: "prefix asks", m: message("im", "define goroutine?"), want: []string{"reply define [goroutine]"}},
		{name: "prefix with a mention inside", m: message("im", "define two <@U2>  words"), want: []string{"reply define [two  words]"}},
		{name: "prefix not addressed", m: message("channel", "d/net/http")},
		{name: "longest prefix first", m: message("im", "go doc fmt.Println"), want: []string{"reply go doc [fmt.Println]"}},
		{name: "shorter prefix", m: message("im", "go vet"), want: []string{"reply go [vet]"}},
		{name: "not found in DM", m: message("im", "hi"), want: []string{notFoundReply}},
		{name: "not found mentioned", m: message("channel", "<@U0BOT> what time is it"), want: []string{notFoundReply}},
		{name: "bare mention", m: message("channel", "<@U0BOT>"), want: []string{"reply Hi! Ask me `help` to see what I can answer."}},
		{name: "not addressed, nothing", m: message("channel", "hi all")},
		{name: "keyword not addressed", m: message("channel", "(╯°□°)╯︵ ┻━┻"), want: []string{"reply ┬─┬ノ( º _ ºノ)"}},
		{name: "keyword addressed: no fallback", m: message("im", "(╯°□°)╯︵┻━┻"), want: []string{"reply ┬─┬ノ( º _ ºノ)"}},
		{name: "keyword phrase", m: message("channel", "honestly GOPHERBOT SUCKS today"), want: []string{"reply I try my best."}},
		{name: "keyword phrase not on word boundary", m: message("channel", "gopherbot sucksss")},
		{name: "reaction", m: message("channel", "my Gopher plush"), want: []string{"react gopher", "react wave"}},
		{name: "reaction on word boundary only", m: message("channel", "gophers and going")},
		{name: "reaction with punctuation", m: message("channel", "gofmt!"), want: []string{"react scissors"}},
		{name: "only-mentioned reaction not addressed", m: message("channel", "thanks all")},
		{name: "only-mentioned reaction mentioned: no fallback", m: message("channel", "thanks <@U0BOT>!"), want: []string{"react heart"}},
		{name: "only-mentioned reaction in DM", m: message("im", "thank you"), want: []string{"react heart"}},
		{name: "same emoji once", m: message("im", "thanks, thank you"), want: []string{"react heart"}},
		{
			name: "matcher", m: message("channel", "```\npackage main\n\nfunc main() {}\n```"),
			want: []string{"reply playground [unfurl]"},
		},
		{
			name: "help",
			m:    message("im", "help"),
			want: []string{"reply " + mx.Help()},
		},
		{
			name: "everything that applies, in order",
			m:    message("channel", "<@U0BOT> define gopher\n┻━┻\nthanks\ngofmt"),
			want: []string{
				"reply define [gopher\n┻━┻\nthanks\ngofmt]",
				"reply ┬─┬ノ( º _ ºノ)",
				"reply playground [unfurl]",
				"react gopher", "react heart", "react scissors", "react wave",
			},
		},
		{name: "event", m: &Message{Kind: KindTeamJoin, User: "U9"}, want: []string{"dm U9 welcome"}},
		{name: "event with text is still only the event", m: &Message{Kind: KindTeamJoin, User: "U9", Text: "help", ChannelType: "im"}, want: []string{"dm U9 welcome"}},
		{name: "event not registered", m: &Message{Kind: KindMemberJoinedChannel, User: "U9", ChannelType: "im"}},
		{name: "kind unset is a message", m: &Message{ChannelType: "im", Text: "flip"}, want: []string{"reply coin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			if err := mx.ServeMessage(t.Context(), tt.m, &r); err != nil {
				t.Fatalf("ServeMessage: %v", err)
			}
			if diff := cmp.Diff(tt.want, r.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMuxZeroValue(t *testing.T) {
	var mx Mux
	var r recorder
	if err := mx.ServeMessage(t.Context(), message("im", "help"), &r); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"reply Sorry, I don't know that one."}, r.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if got, want := mx.Help(), "I don't know any commands yet."; got != want {
		t.Errorf("Help() = %q, want %q", got, want)
	}
}

func TestMuxNotFound(t *testing.T) {
	mx := NewMux()
	mx.Command("help", "", mx.HelpHandler())
	mx.NotFound(HandlerFunc(func(ctx context.Context, m *Message, r Responder) error {
		return r.Ephemeral(ctx, "no idea about "+m.Text+" ("+m.Route+")")
	}))
	var r recorder
	if err := mx.ServeMessage(t.Context(), message("channel", "<@U0BOT> hi"), &r); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ephemeral no idea about hi (notfound)"}, r.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// TestMuxReactionChance checks that a reaction with a Chance is decided by
// the event ID: the same event always makes the same choice, and over many
// events the reaction comes at about the chance.
func TestMuxReactionChance(t *testing.T) {
	const chance = 0.1
	mx := NewMux()
	mx.React(Reaction{Keyword: "rust", Emoji: "crab", Chance: chance})
	mx.React(Reaction{Keyword: "rust", Emoji: "gear", Chance: 0.5})

	serve := func(id string) []string {
		m := message("channel", "have you tried rust?")
		m.EventID = id
		var r recorder
		if err := mx.ServeMessage(t.Context(), m, &r); err != nil {
			t.Fatal(err)
		}
		return r.calls
	}
	const n = 4000
	counts := map[string]int{}
	for i := range n {
		id := fmt.Sprintf("Ev%08d", i)
		first := serve(id)
		if diff := cmp.Diff(first, serve(id)); diff != "" {
			t.Fatalf("event %s served twice made different calls (-first +second):\n%s", id, diff)
		}
		for _, c := range first {
			counts[c]++
		}
	}
	for _, c := range []struct {
		call   string
		chance float64
	}{{"react crab", chance}, {"react gear", 0.5}} {
		rate := float64(counts[c.call]) / n
		t.Logf("%s: %d of %d", c.call, counts[c.call], n)
		// Five standard deviations of a binomial rate over n events.
		tol := 5 * math.Sqrt(c.chance*(1-c.chance)/n)
		if rate < c.chance-tol || rate > c.chance+tol {
			t.Errorf("%s: rate %.3f over %d events, want %.3f ± %.3f", c.call, rate, n, c.chance, tol)
		}
	}
}

func TestMuxRoutes(t *testing.T) {
	mx := NewMux()
	var routes []string
	mx.Use(func(h Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message, r Responder) error {
			routes = append(routes, m.Route+"|"+m.Arg)
			return h.ServeMessage(ctx, m, r)
		})
	})
	noop := HandlerFunc(func(context.Context, *Message, Responder) error { return nil })
	mx.Command("Flip a coin", "", noop, "flip")
	mx.Prefix("d/", "", noop)
	mx.Keyword("┻━┻", "", noop)
	mx.Match("paste", "", func(*Message) bool { return true }, noop)
	mx.React(Reaction{Keyword: "Gopher", Emoji: "gopher"})
	mx.Event(KindTeamJoin, noop)

	m := message("im", "flip")
	for _, m := range []*Message{m, message("im", "d/fmt gopher ┻━┻"), message("channel", "hi"), {Kind: KindTeamJoin}} {
		if err := mx.ServeMessage(t.Context(), m, &recorder{}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"command Flip a coin|", "match paste|",
		"prefix d/|fmt gopher ┻━┻", "keyword ┻━┻|", "match paste|", "react Gopher :gopher:|",
		"match paste|",
		"event team_join|",
	}
	if diff := cmp.Diff(want, routes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if m.Route != "" || m.Arg != "" {
		t.Errorf("the caller's Message was changed: Route %q, Arg %q", m.Route, m.Arg)
	}
}

func TestMuxMiddlewareOrder(t *testing.T) {
	mx := NewMux()
	var log []string
	mw := func(name string) Middleware {
		return func(h Handler) Handler {
			return HandlerFunc(func(ctx context.Context, m *Message, r Responder) error {
				log = append(log, name+" before "+m.Route)
				err := h.ServeMessage(ctx, m, r)
				log = append(log, name+" after")
				return err
			})
		}
	}
	mx.Use(mw("a"), mw("b"))
	mx.Use(mw("c"))
	mx.Command("ping", "", HandlerFunc(func(ctx context.Context, m *Message, r Responder) error {
		log = append(log, "ping")
		return nil
	}))
	mx.React(Reaction{Keyword: "ping", Emoji: "table_tennis_paddle_and_ball"})

	var r recorder
	if err := mx.ServeMessage(t.Context(), message("im", "ping"), &r); err != nil {
		t.Fatal(err)
	}
	if err := mx.ServeMessage(t.Context(), message("im", "pong"), &r); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a before command ping", "b before command ping", "c before command ping",
		"ping",
		"c after", "b after", "a after",
		"a before react ping :table_tennis_paddle_and_ball:", "b before react ping :table_tennis_paddle_and_ball:", "c before react ping :table_tennis_paddle_and_ball:",
		"c after", "b after", "a after",
		"a before notfound", "b before notfound", "c before notfound",
		"c after", "b after", "a after",
	}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

func TestMuxErrorsJoined(t *testing.T) {
	errSlack := errors.New("slack is down")
	errOwn := errors.New("own failure")
	mx := NewMux()
	mx.Keyword("┻━┻", "", say("┬─┬"))
	mx.Match("fails", "", func(*Message) bool { return true }, HandlerFunc(func(context.Context, *Message, Responder) error {
		return errOwn
	}))
	mx.Match("panics", "", func(*Message) bool { return true }, HandlerFunc(func(context.Context, *Message, Responder) error {
		panic("boom")
	}))
	mx.React(Reaction{Keyword: "gopher", Emoji: "gopher"})
	var reactionRuns []string
	mx.Use(func(h Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message, r Responder) error {
			if m.Route == "react gopher :gopher:" {
				reactionRuns = append(reactionRuns, m.Route)
			}
			return h.ServeMessage(ctx, m, r)
		})
	})

	r := recorder{fail: map[string]error{"┬─┬": errSlack}}
	err := mx.ServeMessage(t.Context(), message("channel", "gopher ┻━┻"), &r)
	if diff := cmp.Diff([]string{"reply ┬─┬", "react gopher"}, r.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	for _, want := range []error{errSlack, errOwn, ErrPanic} {
		if !errors.Is(err, want) {
			t.Errorf("error %q does not wrap %q", err, want)
		}
	}
	for _, want := range []string{"keyword ┻━┻: slack is down", "match fails: own failure", "match panics: handler panicked: boom"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if len(reactionRuns) != 1 {
		t.Errorf("the reaction after the failures ran %d times through the middleware, want 1", len(reactionRuns))
	}
}

func TestMuxRegistrationPanics(t *testing.T) {
	noop := HandlerFunc(func(context.Context, *Message, Responder) error { return nil })
	tests := []struct {
		name     string
		register func(mx *Mux)
		want     string // in the panic message
	}{
		{"empty command", func(mx *Mux) { mx.Command("", "", noop) }, `empty name "" for command ""`},
		{"blank command", func(mx *Mux) { mx.Command(" ?! ", "", noop) }, `empty name`},
		{"empty alias", func(mx *Mux) { mx.Command("toss", "", noop, "throw", "") }, `empty alias "" for command "toss"`},
		{"duplicate command", func(mx *Mux) { mx.Command("help", "", noop) }, `name "help" of command "help" is already taken by command "help"`},
		{"command clashes with alias", func(mx *Mux) { mx.Command("Coin Flip", "", noop) }, `name "Coin Flip" of command "Coin Flip" is already taken by command "flip a coin"`},
		{"alias clashes with command", func(mx *Mux) { mx.Command("toss", "", noop, "HELP?") }, `alias "HELP?" of command "toss" is already taken by command "help"`},
		{"alias twice", func(mx *Mux) { mx.Command("toss", "", noop, "throw", "Throw") }, `command "toss" has "Throw" twice`},
		{"nil command handler", func(mx *Mux) { mx.Command("toss", "", nil) }, `nil handler for command "toss"`},
		{"empty prefix", func(mx *Mux) { mx.Prefix(" ", "", noop) }, `empty prefix " "`},
		{"duplicate prefix", func(mx *Mux) { mx.Prefix("D/", "", noop) }, `duplicate prefix "D/"`},
		{"nil prefix handler", func(mx *Mux) { mx.Prefix("x/", "", nil) }, `nil handler for prefix "x/"`},
		{"empty keyword", func(mx *Mux) { mx.Keyword("", "", noop) }, `empty keyword ""`},
		{"duplicate keyword", func(mx *Mux) { mx.Keyword("gopherbot SUCKS", "", noop) }, `duplicate keyword "gopherbot SUCKS"`},
		{"nil keyword handler", func(mx *Mux) { mx.Keyword("x", "", nil) }, `nil handler for keyword "x"`},
		{"empty matcher name", func(mx *Mux) { mx.Match("", "", func(*Message) bool { return true }, noop) }, `empty matcher name`},
		{"duplicate matcher", func(mx *Mux) { mx.Match("paste", "", func(*Message) bool { return true }, noop) }, `duplicate matcher "paste"`},
		{"nil match", func(mx *Mux) { mx.Match("x", "", nil, noop) }, `nil match or handler for matcher "x"`},
		{"empty reaction keyword", func(mx *Mux) { mx.React(Reaction{Emoji: "x"}) }, `empty keyword for reaction "x"`},
		{"empty emoji", func(mx *Mux) { mx.React(Reaction{Keyword: "x", Emoji: "::"}) }, `empty emoji for reaction to "x"`},
		{"duplicate reaction", func(mx *Mux) { mx.React(Reaction{Keyword: "Gopher", Emoji: ":gopher:"}) }, `duplicate reaction "gopher" to "Gopher"`},
		{"chance above 1", func(mx *Mux) { mx.React(Reaction{Keyword: "x", Emoji: "x", Chance: 1.5}) }, `chance 1.5 of reaction to "x" is not in [0, 1]`},
		{"negative chance", func(mx *Mux) { mx.React(Reaction{Keyword: "x", Emoji: "x", Chance: -0.1}) }, `not in [0, 1]`},
		{"message event", func(mx *Mux) { mx.Event(KindMessage, noop) }, `Event needs a kind other than a message, not "message"`},
		{"empty event", func(mx *Mux) { mx.Event("", noop) }, `Event needs a kind other than a message, not ""`},
		{"duplicate event", func(mx *Mux) { mx.Event(KindTeamJoin, noop) }, `duplicate handler for event "team_join"`},
		{"nil event handler", func(mx *Mux) { mx.Event(KindMemberJoinedChannel, nil) }, `nil handler for event "member_joined_channel"`},
		{"NotFound twice", func(mx *Mux) { mx.NotFound(noop); mx.NotFound(noop) }, `NotFound registered twice`},
		{"nil NotFound", func(mx *Mux) { mx.NotFound(nil) }, `nil NotFound handler`},
		{"nil middleware", func(mx *Mux) { mx.Use(nil) }, `nil middleware`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mx := testMux()
			before := mx.Help()
			got := func() (msg string) {
				defer func() {
					if v := recover(); v != nil {
						msg = fmt.Sprint(v)
					}
				}()
				tt.register(mx)
				return ""
			}()
			if got == "" {
				t.Fatalf("no panic, want one saying %q", tt.want)
			}
			if !strings.HasPrefix(got, "handler: ") || !strings.Contains(got, tt.want) {
				t.Errorf("panic %q, want one saying %q", got, tt.want)
			}
			if after := mx.Help(); after != before {
				t.Errorf("the failed registration changed Help:\n%s", cmp.Diff(before, after))
			}
		})
	}
}

// TestMuxFailedCommandKeepsNothing checks that a command refused for its
// second alias did not keep its name or first alias.
func TestMuxFailedCommandKeepsNothing(t *testing.T) {
	mx := testMux()
	func() {
		defer func() { recover() }()
		mx.Command("toss", "", say("toss"), "throw", "flip")
	}()
	var r recorder
	if err := mx.ServeMessage(t.Context(), message("im", "toss"), &r); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{notFoundReply}, r.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	mx.Command("toss", "", say("toss"), "throw") // not taken
}

func TestHelpListsEverything(t *testing.T) {
	mx := testMux()
	help := mx.Help()
	for _, c := range mx.commands {
		for _, name := range append([]string{c.name}, c.aliases...) {
			if !strings.Contains(help, "`"+Escape(name)+"`") {
				t.Errorf("Help does not list %q of command %q:\n%s", name, c.name, help)
			}
		}
	}
	for _, p := range mx.prefixes {
		if !strings.Contains(help, "`"+Escape(p.prefix)) {
			t.Errorf("Help does not list prefix %q:\n%s", p.prefix, help)
		}
	}
	want := strings.Join([]string{
		"Mention me with one of these in a channel, or send it to me in a DM.",
		"*Questions and commands*",
		"• `books` (also `book`, `Go Books`) — Books about Go.",
		"• `flip a coin` (also `coin flip`, `flip`) — Heads or tails.",
		"• `help` (also `commands`) — What I can answer.",
		"• `what's new`",
		"*Lookups*",
		"• `d/&lt;package&gt;` — Its documentation.",
		"• `define &lt;term&gt;` — A Go term.",
		"• `ghd/&lt;owner/repo&gt;` — Its documentation.",
		"• `go &lt;command&gt;` — The go command.",
		"• `go doc &lt;symbol&gt;` — Documentation.",
		"• `xkcd:&lt;number or name&gt;` — A comic.",
		"*Without being asked*",
		"• `┻━┻` — Tables go back up.",
		"• Long pastes go to the Playground.",
	}, "\n")
	if diff := cmp.Diff(want, help); diff != "" {
		t.Errorf("Help (-want +got):\n%s", diff)
	}
}

func TestHelpPrefixWithoutArgForm(t *testing.T) {
	mx := NewMux()
	mx.Prefix("echo ", "Says it back.", say("echo"))
	mx.Prefix("x/", "", say("x"))
	want := "Mention me with one of these in a channel, or send it to me in a DM.\n" +
		"*Lookups*\n" +
		"• `echo &lt;text&gt;` — Says it back.\n" +
		"• `x/&lt;text&gt;`"
	if diff := cmp.Diff(want, mx.Help()); diff != "" {
		t.Errorf("Help (-want +got):\n%s", diff)
	}
}

func TestContainsWord(t *testing.T) {
	tests := []struct {
		text, keyword string
		want          bool
	}{
		{"go", "go", true},
		{"i like go!", "go", true},
		{"(go)", "go", true},
		{"good", "go", false},
		{"ergo", "go", false},
		{"go_lang", "go", false},
		{"go2", "go", false},
		{"ergo go", "go", true},
		{"gogo go", "go", true},
		{"thank you!", "thank you", true},
		{"thank youuu", "thank you", false},
		{"┻━┻", "┻━┻", true},
		{"x┻━┻x", "┻━┻", true},
		{"café go", "go", true},
		{"égo", "go", false},
		{"", "go", false},
		{"go", "", false},
	}
	for _, tt := range tests {
		if got := containsWord(tt.text, tt.keyword); got != tt.want {
			t.Errorf("containsWord(%q, %q) = %v, want %v", tt.text, tt.keyword, got, tt.want)
		}
	}
}

func BenchmarkServeMessage(b *testing.B) {
	mx := testMux()
	for _, bm := range []struct{ name, raw string }{
		{"command", "<@U0BOT> flip a coin"},
		{"chatter", "I had a good day writing some go code with my gopher friends, thanks all"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			m := message("channel", bm.raw)
			var r recorder
			for b.Loop() {
				r.calls = r.calls[:0]
				if err := mx.ServeMessage(b.Context(), m, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPrefixAfterMentionOfSomeoneElse: as commands forgive a mention of
// someone else anywhere ("@bot @ann books" answers books for ann), a prefix
// matches after one too ("@bot @ann define goroutine").
func TestPrefixAfterMentionOfSomeoneElse(t *testing.T) {
	mx := testMux()
	for raw, want := range map[string]string{
		"<@U0BOT> <@U2> books":            "reply books [mention asked]",
		"<@U0BOT> <@U2> define goroutine": "reply define [goroutine]",
		"<@U0BOT>, <@U2|ann> d/net/http":  "reply doc [net/http]",
		"<@U2> <@U0BOT> xkcd:927":         "reply xkcd [927]",
	} {
		var r recorder
		if err := mx.ServeMessage(t.Context(), message("channel", raw), &r); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{want}, r.calls); diff != "" {
			t.Errorf("%q (-want +got):\n%s", raw, diff)
		}
	}
}

// TestMuxMatcherPanics: a match function that panics on some message (an
// index out of range on odd input, say) is recovered like a handler: the
// other handlers of the message still run, and the error names the
// matcher, instead of the panic leaving ServeMessage and taking every
// answer to the message with it.
func TestMuxMatcherPanics(t *testing.T) {
	mx := NewMux()
	mx.Command("books", "", say("books"))
	mx.Match("fragile", "", func(m *Message) bool { return m.Files[0].Lines > 10 }, say("never"))
	mx.React(Reaction{Keyword: "books", Emoji: "books"})
	var r recorder
	var err error
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("ServeMessage panicked: %v", v)
			}
		}()
		err = mx.ServeMessage(t.Context(), message("im", "books"), &r)
	}()
	if diff := cmp.Diff([]string{"reply books", "react books"}, r.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrPanic) || !strings.Contains(err.Error(), "match fragile: ") {
		t.Errorf("error %v; want ErrPanic, naming the matcher", err)
	}
}
