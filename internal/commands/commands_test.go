package commands

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/glossary"
	"github.com/gophers/gopherbot/handler"
	"github.com/gophers/gopherbot/internal/chancache"
	"github.com/gophers/gopherbot/internal/playground"
	"github.com/gophers/gopherbot/internal/welcomed"
	"github.com/gophers/gopherbot/workqueue"
)

// The real implementations of the dependencies.
var (
	_ Channels = (*chancache.Cache)(nil)
	_ Sharer   = (*playground.Client)(nil)
	_ Welcomed = (*welcomed.Store)(nil)
)

const botID = "UBOT"

// call is one Responder call, as the recorder saw it.
type call struct {
	Op      string   // reply, ephemeral, dm, react
	To      string   // dm: the user; ephemeral: who sees it
	Text    string   // the text, or the emoji of a reaction
	Mention []string // reply with MentionAsked: the users it addresses
	Unfurl  bool
	Thread  bool // reply with InThread
}

// recorder is a Responder that records what the handlers do. With fail set,
// every call fails with it and is not recorded, as a Slack outage would.
// With rehearsed set it stands for shadow mode (handler.Rehearsed), whose
// responder only logs the calls it records.
type recorder struct {
	m         *handler.Message
	rehearsed bool

	mu    sync.Mutex
	calls []call
	fail  error
}

// Rehearsed makes handler.Rehearsed report r.rehearsed.
func (r *recorder) Rehearsed() bool { return r.rehearsed }

func (r *recorder) add(c call) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.calls = append(r.calls, c)
	return nil
}

func (r *recorder) Reply(ctx context.Context, text string, opts ...handler.ReplyOption) error {
	var o handler.ReplyOptions
	for _, opt := range opts {
		opt(&o)
	}
	c := call{Op: "reply", Text: text, Unfurl: o.Unfurl, Thread: o.Thread}
	if o.MentionAsked {
		c.Mention = r.m.MentionedUsers()
	}
	return r.add(c)
}

func (r *recorder) Ephemeral(ctx context.Context, text string) error {
	return r.add(call{Op: "ephemeral", To: r.m.User, Text: text})
}

func (r *recorder) DM(ctx context.Context, user, text string) error {
	return r.add(call{Op: "dm", To: user, Text: text})
}

func (r *recorder) React(ctx context.Context, emoji string) error {
	return r.add(call{Op: "react", Text: emoji})
}

var _ handler.Responder = (*recorder)(nil)

var errNoChannel = chancache.ErrNotFound

// fakeChannels is the channel cache: name -> ID.
type fakeChannels map[string]string

func (f fakeChannels) ID(ctx context.Context, name string) (string, error) {
	if id, ok := f[name]; ok {
		return id, nil
	}
	return "", fmt.Errorf("channel %q: %w", name, errNoChannel)
}

var testChannels = fakeChannels{
	"general":     "CGENERAL",
	"newbies":     "CNEWBIES",
	"golang-jobs": "CJOBS",
	"reviews":     "CREVIEWS",
	"offtopic":    "COFFTOPIC",
	// gotimefm is recommended but unknown: it is listed as plain text.
}

var testRecommended = []string{"general", "newbies", "gotimefm", "reviews"}

// fakeFiles serves downloads of Slack files by URL and counts them.
type fakeFiles struct {
	mu        sync.Mutex
	files     map[string][]byte
	permanent map[string]bool // these fail as a file too large does
	downloads []string
}

func (f *fakeFiles) Download(ctx context.Context, url string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.downloads = append(f.downloads, url)
	if f.permanent[url] {
		return nil, fmt.Errorf("download %s: too large: %w", url, workqueue.ErrPermanent)
	}
	b, ok := f.files[url]
	if !ok {
		return nil, fmt.Errorf("download %s: 404", url)
	}
	return b, nil
}

var testEntries = []glossary.Entry{
	{Term: "goroutine", Aliases: []string{"go routine"}, Definition: "A function running concurrently with others in the same address space, started with the go statement.", Link: "https://go.dev/ref/spec#Go_statements"},
	{Term: "zero value", Definition: "The value a variable has before anything is assigned to it: 0, false, \"\" or nil.", Link: "https://go.dev/ref/spec#The_zero_value"},
	{Term: "interface", Definition: "A type that lists methods; any type with those methods implements it.", Link: "https://go.dev/ref/spec#Interface_types"},
	{Term: "channel", Aliases: []string{"chan"}, Definition: "A typed conduit: ch <- v sends, v := <-ch receives, && more.", Link: "https://go.dev/ref/spec#Channel_types"},
}

// env is a Mux with every feature registered on fakes that keep state.
type env struct {
	mx    *handler.Mux
	pg    *playground.Fake
	files *fakeFiles
}

func newEnv(t testing.TB, modify ...func(*Deps)) *env {
	t.Helper()
	g, err := glossary.New(testEntries)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := playground.NewFake()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	e := &env{mx: handler.NewMux(), pg: pg, files: &fakeFiles{files: map[string][]byte{}}}
	d := Deps{
		Glossary:            g,
		Channels:            testChannels,
		Playground:          &playground.Client{BaseURL: pg.URL},
		Files:               e.files,
		NewbiesChannel:      "newbies",
		RecommendedChannels: testRecommended,
		PlaygroundDenylist:  []string{"offtopic", "#CRANDOM"},
		Log:                 zerolog.Nop(),
	}
	for _, f := range modify {
		f(&d)
	}
	Register(e.mx, d)
	return e
}

// serve runs m through the Mux and returns what it did.
func (e *env) serve(t testing.TB, m *handler.Message) ([]call, error) {
	t.Helper()
	r := &recorder{m: m}
	err := e.mx.ServeMessage(t.Context(), m, r)
	return r.calls, err
}

// mustServe is serve for messages that must not fail.
func (e *env) mustServe(t testing.TB, m *handler.Message) []call {
	t.Helper()
	calls, err := e.serve(t, m)
	if err != nil {
		t.Fatalf("ServeMessage(%q): %v", m.RawText, err)
	}
	return calls
}

// message is a channel message as Slack sends it, not addressed to the bot
// unless raw mentions it.
func message(raw string, modify ...func(*handler.Message)) *handler.Message {
	text, mentions, mentioned := handler.Parse(raw, botID)
	m := &handler.Message{
		Kind:        handler.KindMessage,
		EventID:     "Ev0001",
		Channel:     "CGENERAL",
		ChannelType: "channel",
		User:        "UASKER",
		Text:        text,
		RawText:     raw,
		TS:          "1700000000.000100",
		Mentioned:   mentioned,
		Mentions:    mentions,
		Time:        time.Now(),
		BotID:       botID,
	}
	for _, f := range modify {
		f(m)
	}
	return m
}

// mention is a channel message addressed to the bot.
func mention(text string, modify ...func(*handler.Message)) *handler.Message {
	return message("<@"+botID+"> "+text, modify...)
}

func inChannel(id string) func(*handler.Message) { return func(m *handler.Message) { m.Channel = id } }
func withEvent(id string) func(*handler.Message) { return func(m *handler.Message) { m.EventID = id } }
func asDM(m *handler.Message)                    { m.Channel, m.ChannelType = "DASKER", "im" }

// reply is the call a plain reply makes.
func reply(text string, mention ...string) call {
	return call{Op: "reply", Text: text, Mention: mention}
}

// expandForTest is what {#name} becomes with testChannels; written apart
// from the code under test.
func expandForTest(text string) string {
	for name, id := range testChannels {
		text = strings.ReplaceAll(text, "{#"+name+"}", "<#"+id+">")
	}
	return text
}

func TestAnswers(t *testing.T) {
	e := newEnv(t)
	for _, a := range answers {
		want := expandForTest(a.text)
		for _, name := range append([]string{a.name}, a.aliases...) {
			t.Run(name, func(t *testing.T) {
				// Asked for someone: the answer addresses them.
				// Reactions to words in the names ("gopher") are tested
				// apart; here only the answers count.
				got := withoutReactions(e.mustServe(t, mention(name+" <@UBOB>")))
				if diff := cmp.Diff([]call{reply(want, "UBOB")}, got); diff != "" {
					t.Errorf("mention %q (-want +got):\n%s", name, diff)
				}
				// In a DM, shouted, with a question mark.
				got = withoutReactions(e.mustServe(t, message(strings.ToUpper(name)+"?", asDM)))
				if diff := cmp.Diff([]call{reply(want)}, got); diff != "" {
					t.Errorf("DM %q (-want +got):\n%s", name, diff)
				}
				// Said in a channel without mentioning the bot: nothing.
				if got := withoutReactions(e.mustServe(t, message(name))); len(got) != 0 {
					t.Errorf("unaddressed %q got %+v, want nothing", name, got)
				}
			})
		}
	}
}

var (
	urlRE    = regexp.MustCompile(`https?://[^\s<>|)]+`)
	slackRef = regexp.MustCompile(`<[#@][A-Z0-9]+>`)
)

// TestAnswerTexts checks the table itself: texts present and short enough,
// placeholders known, links well formed, at least 32 answers.
func TestAnswerTexts(t *testing.T) {
	if len(answers) < 32 {
		t.Errorf("%d named answers, want at least 32", len(answers))
	}
	names := map[string]string{}
	for _, a := range answers {
		if strings.TrimSpace(a.text) == "" || strings.TrimSpace(a.help) == "" {
			t.Errorf("answer %q has an empty text or help", a.name)
		}
		if len(a.text) > 1500 {
			t.Errorf("answer %q is %d bytes; keep answers short", a.name, len(a.text))
		}
		if strings.Contains(expandForTest(a.text), "{#") {
			t.Errorf("answer %q names a channel the tests do not know", a.name)
		}
		for _, n := range append([]string{a.name}, a.aliases...) {
			k := strings.ToLower(n)
			if other, ok := names[k]; ok {
				t.Errorf("%q is used by both %q and %q", n, other, a.name)
			}
			names[k] = a.name
		}
		// Slack reads <, > and & as markup: a text may hold them only in
		// references such as {#channel}, which become <#ID>.
		if bare := slackRef.ReplaceAllString(expandForTest(a.text), ""); strings.ContainsAny(bare, "<>&") {
			t.Errorf("answer %q has a bare <, > or &; escape it", a.name)
		}
		for _, u := range urlRE.FindAllString(a.text, -1) {
			p, err := url.Parse(u)
			if err != nil || p.Scheme != "https" || p.Host == "" || strings.HasSuffix(u, ".") || strings.HasSuffix(u, ",") {
				t.Errorf("answer %q: bad link %q", a.name, u)
			}
		}
	}
	for _, s := range []string{newbieResources, tableBack, pasteNote, uploadNote, secretNote, WelcomeDM("U1", []string{"general"}, map[string]string{"general": "C1"})} {
		if strings.TrimSpace(s) == "" {
			t.Error("an empty fixed text")
		}
		if bare := slackRef.ReplaceAllString(s, ""); strings.ContainsAny(bare, "<>&") {
			t.Errorf("fixed text %.40q... has a bare <, > or &", s)
		}
	}
}

// TestRegisterTwice: the Mux refuses duplicates, so registering everything
// on one Mux works once, and proves no two features share a name or alias.
func TestRegisterTwice(t *testing.T) {
	e := newEnv(t)
	defer func() {
		if recover() == nil {
			t.Error("registering everything twice on one Mux did not panic")
		}
	}()
	Register(e.mx, Deps{Glossary: func() *glossary.Glossary { g, _ := glossary.New(testEntries); return g }(), Playground: &playground.Client{}, Log: zerolog.Nop()})
}

func TestHelp(t *testing.T) {
	e := newEnv(t)
	got := e.mustServe(t, mention("help"))
	if len(got) != 1 || got[0].Op != "reply" {
		t.Fatalf("help answered %+v, want one reply", got)
	}
	help := got[0].Text
	code := func(s string) string { return "`" + handler.Escape(s) + "`" }
	var want []string
	for _, a := range answers {
		want = append(want, code(a.name))
		for _, al := range a.aliases {
			want = append(want, code(al))
		}
	}
	want = append(want,
		code("help"), code("newbie resources"), code("newbies"), code("recommended channels"),
		code("flip a coin"), code("coin flip"), code("flip coin"),
		code("define <term>"), code("xkcd:<number or name>"), code("d/<import path>"), code("ghd/<owner/repo>"),
		code(flippedTable), "Go Playground link", "`nolink`",
	)
	for _, w := range want {
		if !strings.Contains(help, w) {
			t.Errorf("help does not list %s", w)
		}
	}
	if again := e.mustServe(t, message("commands", asDM)); len(again) != 1 || again[0].Text != help {
		t.Errorf("the `commands` alias answered %+v, want the help", again)
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	got := e.mustServe(t, mention("what is the meaning of life"))
	if len(got) != 1 || got[0].Op != "reply" || !strings.Contains(got[0].Text, "help") {
		t.Errorf("unknown command answered %+v, want one reply pointing at help", got)
	}
}

func TestNewbies(t *testing.T) {
	pointer := "\nAnd questions of every size are welcome in "
	for _, tt := range []struct {
		name     string
		channels Channels
		m        *handler.Message
		want     string
	}{
		{"elsewhere", testChannels, mention("newbies <@UBOB>"), newbieResources + pointer + "<#CNEWBIES>."},
		{"in newbies", testChannels, mention("newbies <@UBOB>", inChannel("CNEWBIES")), newbieResources},
		{"in a DM", testChannels, mention("new to go <@UBOB>", asDM), newbieResources + pointer + "<#CNEWBIES>."},
		{"unresolved", fakeChannels{}, mention("newbie <@UBOB>"), newbieResources + pointer + "#newbies."},
		{"no cache", nil, mention("learn go <@UBOB>"), newbieResources + pointer + "#newbies."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(d *Deps) { d.Channels = tt.channels })
			got := e.mustServe(t, tt.m)
			if diff := cmp.Diff([]call{reply(tt.want, "UBOB")}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecommendedChannels(t *testing.T) {
	e := newEnv(t)
	got := e.mustServe(t, mention("channels"))
	want := "Channels worth joining: <#CGENERAL>, <#CNEWBIES>, #gotimefm, <#CREVIEWS>. " +
		"Browse the rest with the channel list; there is one for almost every Go topic."
	if diff := cmp.Diff([]call{reply(want)}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	e = newEnv(t, func(d *Deps) { d.RecommendedChannels = nil })
	got = e.mustServe(t, mention("recommended channels"))
	if len(got) != 1 || got[0].Text == "" {
		t.Errorf("with no recommended channels got %+v, want one reply", got)
	}
}

func TestJobsChannelLink(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Channels = fakeChannels{} })
	got := e.mustServe(t, mention("jobs"))
	if len(got) != 1 || !strings.Contains(got[0].Text, "#golang-jobs") || strings.Contains(got[0].Text, "{#") {
		t.Errorf("jobs with the channel unknown answered %+v, want a plain #golang-jobs", got)
	}
}

func TestArgument(t *testing.T) {
	for in, want := range map[string]string{
		"goroutine":                 "goroutine",
		"  zero   value ":           "zero value",
		"goroutine <@UBOB>":         "goroutine",
		"<!channel> x <#C1|gen> y":  "x y",
		"<!subteam^S1|@team>":       "",
		"a<b":                       "a<b",
		"x < y > z":                 "x < y > z",
		"net/http#Client <@U1|bob>": "net/http#Client",
	} {
		if got := argument(in); got != want {
			t.Errorf("argument(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveChannels(t *testing.T) {
	got := ResolveChannels(t.Context(), testChannels, []string{"general", "nope", "reviews"}, zerolog.Nop())
	want := map[string]string{"general": "CGENERAL", "reviews": "CREVIEWS"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := ResolveChannels(t.Context(), nil, []string{"general"}, zerolog.Nop()); len(got) != 0 {
		t.Errorf("with no cache: %v, want empty", got)
	}
}

func withoutReactions(calls []call) []call {
	return slices.DeleteFunc(calls, func(c call) bool { return c.Op == "react" })
}
