package handler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// ErrPanic is wrapped by the error ServeMessage returns for a handler (or
// a Match function) that panicked. The Mux recovers every handler, so one
// panic neither stops the other handlers of the message nor the consumer.
var ErrPanic = errors.New("handler panicked")

// Middleware wraps a Handler, as for logging or timing. Middlewares set with
// Mux.Use wrap every handler the Mux runs.
type Middleware func(Handler) Handler

// Mux routes messages, shaped like http.ServeMux. Registering an empty or
// duplicate pattern, or a nil handler, panics. Register everything before
// serving; the zero Mux is ready to use.
//
// ServeMessage runs, one after the other and in this order:
//
//  1. For a non-message Kind: the handler registered with Event for it, and
//     nothing else (no handler: nothing happens).
//  2. If the message is addressed to the bot (Message.Addressed: a DM or a
//     mention): the Command whose name or alias equals the text, compared
//     case-insensitively after trimming, collapsing white space, dropping
//     trailing '?', '!' and '.', and dropping the mentions of other people
//     ("books @ann?" asks for "books"). Failing that, the longest Prefix
//     the text starts with.
//  3. On every message, addressed or not: each Keyword found in the text,
//     each Match that matches, each Reaction whose keyword is in the text
//     (OnlyMentioned ones only when addressed; one with a Chance only when
//     the message's Rand draws below it). Each group in registration order;
//     an emoji is added once even when several reactions name it.
//  4. If the message is addressed and nothing of 2 and 3 applied: the
//     NotFound handler, by default a short reply pointing at help. So a DM
//     saying "hi" gets an answer, while a mention that only earned a
//     reaction gets no "I don't know that one" on top.
//
// Every handler is run even when an earlier one failed; the errors are
// joined, each prefixed with the Route of its handler.
type Mux struct {
	mu        sync.RWMutex
	commands  []*command
	names     map[string]*command // by normalised name and alias
	prefixes  []*prefixRoute      // longest first
	keywords  []*keywordRoute
	matchers  []*matcher
	reactions []*reactionRoute
	events    map[string]Handler
	notFound  Handler
	mws       []Middleware
}

type command struct {
	name    string
	aliases []string
	help    string
	h       Handler
}

type prefixRoute struct {
	prefix string // as registered
	word   string // prefix without trailing blanks, if it had any
	spaced bool   // the prefix ends in a blank: "define "
	help   string
	h      Handler
}

type keywordRoute struct {
	keyword string // as registered
	lower   string
	help    string
	h       Handler
}

type matcher struct {
	name  string
	help  string
	match func(*Message) bool
	h     Handler
}

type reactionRoute struct {
	Reaction
	lower string
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{} }

// Use adds middlewares around every handler the Mux runs, including the
// NotFound, Event and reaction handlers. The first one added is the
// outermost: Use(a, b) runs a(b(h)).
func (mx *Mux) Use(mws ...Middleware) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	for _, mw := range mws {
		if mw == nil {
			panic("handler: nil middleware")
		}
	}
	mx.mws = append(mx.mws, mws...)
}

// Command registers an exact command (case-insensitive) with its aliases.
// It runs only when the message is addressed to the bot (a DM or a mention).
// Help lists it with every alias.
func (mx *Mux) Command(name, help string, h Handler, aliases ...string) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if h == nil {
		panic(fmt.Sprintf("handler: nil handler for command %q", name))
	}
	c := &command{name: name, aliases: aliases, help: help, h: h}
	// Check every name before keeping any, so that a recovered panic
	// leaves the Mux as it was.
	keys := make([]string, 0, 1+len(aliases))
	for i, s := range append([]string{name}, aliases...) {
		what := "name"
		if i > 0 {
			what = "alias"
		}
		k := normalize(s)
		switch {
		case k == "":
			panic(fmt.Sprintf("handler: empty %s %q for command %q", what, s, name))
		case slices.Contains(keys, k):
			panic(fmt.Sprintf("handler: command %q has %q twice", name, s))
		case mx.names[k] != nil:
			panic(fmt.Sprintf("handler: %s %q of command %q is already taken by command %q", what, s, name, mx.names[k].name))
		}
		keys = append(keys, k)
	}
	if mx.names == nil {
		mx.names = make(map[string]*command)
	}
	for _, k := range keys {
		mx.names[k] = c
	}
	mx.commands = append(mx.commands, c)
}

// Prefix registers a command that starts with prefix ("xkcd:", "d/",
// "define "); the rest of the text, trimmed and without the mentions of
// people, is the argument, in Message.Arg. Addressed only; matched case-insensitively, the longest
// prefix first. A prefix ending in a blank also matches its word alone
// ("define" or "define?" runs the "define " handler with an empty Arg) or
// followed by another blank such as a newline.
//
// Help shows the prefix with its argument, taken from the start of help when
// it is written in angle brackets: Prefix("d/", "<package> Link to the
// package's documentation", h) is shown as "d/<package>".
func (mx *Mux) Prefix(prefix, help string, h Handler) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if strings.TrimSpace(prefix) == "" {
		panic(fmt.Sprintf("handler: empty prefix %q", prefix))
	}
	if h == nil {
		panic(fmt.Sprintf("handler: nil handler for prefix %q", prefix))
	}
	p := &prefixRoute{prefix: prefix, help: help, h: h}
	p.word = strings.TrimRightFunc(prefix, unicode.IsSpace)
	p.spaced = p.word != prefix
	for _, q := range mx.prefixes {
		if strings.EqualFold(q.word, p.word) && q.spaced == p.spaced {
			panic(fmt.Sprintf("handler: duplicate prefix %q", prefix))
		}
	}
	mx.prefixes = append(mx.prefixes, p)
	slices.SortStableFunc(mx.prefixes, func(a, b *prefixRoute) int {
		return cmp.Compare(len(b.prefix), len(a.prefix))
	})
}

// match reports whether text starts with the prefix, and what follows it.
func (p *prefixRoute) match(text string) (arg string, ok bool) {
	if !hasPrefixFold(text, p.word) {
		return "", false
	}
	rest := text[len(p.word):]
	if p.spaced {
		r, _ := utf8.DecodeRuneInString(rest)
		// "define?" asks for the word alone, as "help?" asks for help.
		if rest != "" && !unicode.IsSpace(r) && strings.TrimRight(rest, "?!.") != "" {
			return "", false
		}
	}
	if strings.Contains(rest, "<") {
		// As for commands: "define goroutine @ann" asks about "goroutine"
		// for ann, whom a MentionAsked reply addresses.
		rest = dropPeople(rest)
	}
	// "xkcd:927." and "define goroutine?" end a sentence, as commands may.
	return strings.TrimSpace(strings.TrimRight(strings.TrimSpace(rest), "?!.")), true
}

// Reaction is a keyword that gets an emoji reaction.
type Reaction struct {
	Keyword       string  // a word or phrase, matched case-insensitively on word boundaries
	Emoji         string  // without colons
	OnlyMentioned bool    // react only when the bot is addressed
	Chance        float64 // 0 or 1: always; else the probability, drawn from Message.Rand
}

// React registers a keyword reaction. The same keyword may have several
// emoji; the same keyword and emoji twice panics, as does a Chance outside
// [0, 1].
func (mx *Mux) React(r Reaction) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if strings.TrimSpace(r.Keyword) == "" {
		panic(fmt.Sprintf("handler: empty keyword for reaction %q", r.Emoji))
	}
	r.Emoji = strings.Trim(r.Emoji, ":")
	if r.Emoji == "" {
		panic(fmt.Sprintf("handler: empty emoji for reaction to %q", r.Keyword))
	}
	if math.IsNaN(r.Chance) || r.Chance < 0 || r.Chance > 1 {
		panic(fmt.Sprintf("handler: chance %v of reaction to %q is not in [0, 1]", r.Chance, r.Keyword))
	}
	rr := &reactionRoute{Reaction: r, lower: strings.ToLower(strings.TrimSpace(r.Keyword))}
	for _, q := range mx.reactions {
		if q.lower == rr.lower && q.Emoji == rr.Emoji {
			panic(fmt.Sprintf("handler: duplicate reaction %q to %q", r.Emoji, r.Keyword))
		}
	}
	mx.reactions = append(mx.reactions, rr)
}

// Keyword registers a text answer to a keyword found anywhere in a message
// (such as a flipped table), addressed or not. The keyword is matched
// case-insensitively; where it starts or ends with a letter or digit, only
// as a whole word.
func (mx *Mux) Keyword(keyword, help string, h Handler) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if strings.TrimSpace(keyword) == "" {
		panic(fmt.Sprintf("handler: empty keyword %q", keyword))
	}
	if h == nil {
		panic(fmt.Sprintf("handler: nil handler for keyword %q", keyword))
	}
	k := &keywordRoute{keyword: keyword, lower: strings.ToLower(strings.TrimSpace(keyword)), help: help, h: h}
	for _, q := range mx.keywords {
		if q.lower == k.lower {
			panic(fmt.Sprintf("handler: duplicate keyword %q", keyword))
		}
	}
	mx.keywords = append(mx.keywords, k)
}

// Match registers a custom matcher, run on every message, addressed or not.
// The name is for Route and logs; help, when not empty, is listed by Help.
// match must not modify the Message.
func (mx *Mux) Match(name, help string, match func(*Message) bool, h Handler) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if strings.TrimSpace(name) == "" {
		panic(fmt.Sprintf("handler: empty matcher name %q", name))
	}
	if match == nil || h == nil {
		panic(fmt.Sprintf("handler: nil match or handler for matcher %q", name))
	}
	for _, q := range mx.matchers {
		if q.name == name {
			panic(fmt.Sprintf("handler: duplicate matcher %q", name))
		}
	}
	mx.matchers = append(mx.matchers, &matcher{name: name, help: help, match: match, h: h})
}

// Event registers the handler of a non-message kind (KindTeamJoin, KindMemberJoinedChannel).
func (mx *Mux) Event(kind string, h Handler) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if kind == "" || isMessageKind(kind) {
		panic(fmt.Sprintf("handler: Event needs a kind other than a message, not %q", kind))
	}
	if h == nil {
		panic(fmt.Sprintf("handler: nil handler for event %q", kind))
	}
	if _, ok := mx.events[kind]; ok {
		panic(fmt.Sprintf("handler: duplicate handler for event %q", kind))
	}
	if mx.events == nil {
		mx.events = make(map[string]Handler)
	}
	mx.events[kind] = h
}

// NotFound registers the handler of an addressed message that nothing else
// handled, in place of the default short reply pointing at help.
func (mx *Mux) NotFound(h Handler) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if h == nil {
		panic("handler: nil NotFound handler")
	}
	if mx.notFound != nil {
		panic("handler: NotFound registered twice")
	}
	mx.notFound = h
}

// HelpHandler returns a handler that replies with Help, so that registering
// help is one line:
//
//	mux.Command("help", "What I can do.", mux.HelpHandler(), "commands")
func (mx *Mux) HelpHandler() Handler {
	return HandlerFunc(func(ctx context.Context, m *Message, r Responder) error {
		// The list is long: in a channel it goes in a thread under the
		// question, so that it does not push the conversation away.
		return r.Reply(ctx, mx.Help(), InThread())
	})
}

// defaultNotFound answers an addressed message nothing else handled.
func (mx *Mux) defaultNotFound(ctx context.Context, m *Message, r Responder) error {
	mx.mu.RLock()
	_, hasHelp := mx.names["help"]
	mx.mu.RUnlock()
	var text string
	switch {
	case m.Text == "" && hasHelp:
		text = "Hi! Ask me `help` to see what I can answer."
	case m.Text == "":
		text = "Hi!"
	case hasHelp:
		text = "Sorry, I don't know that one. Ask me `help` to see what I can answer."
	default:
		text = "Sorry, I don't know that one."
	}
	return r.Reply(ctx, text)
}

// step is one handler ServeMessage runs, or, with err, a failure to report
// in its place (a matcher that panicked).
type step struct {
	route string
	arg   string
	h     Handler
	err   error
}

// ServeMessage dispatches m as the Mux's doc comment describes, and returns
// the errors of the handlers that failed, joined.
func (mx *Mux) ServeMessage(ctx context.Context, m *Message, r Responder) error {
	mx.mu.RLock()
	steps := mx.plan(m)
	mws := mx.mws
	mx.mu.RUnlock()

	var errs []error
	for _, s := range steps {
		err := s.err
		if err == nil {
			err = run(ctx, s, m, r, mws)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.route, err))
		}
	}
	return errors.Join(errs...)
}

// plan decides, before any handler runs, every handler m gets.
func (mx *Mux) plan(m *Message) []step {
	if !isMessageKind(m.Kind) {
		if h := mx.events[m.Kind]; h != nil {
			return []step{{route: "event " + m.Kind, h: h}}
		}
		return nil
	}

	var steps []step
	addressed := m.Addressed()
	if addressed {
		if c := mx.names[normalize(m.Text)]; c != nil {
			steps = append(steps, step{route: "command " + c.name, h: c.h})
		} else {
			text := strings.TrimSpace(m.Text)
			if strings.HasPrefix(text, "<") {
				// "@bot @ann define goroutine": asking on someone's
				// behalf, as commands allow anywhere.
				text = strings.TrimSpace(dropPeople(text))
			}
			for _, p := range mx.prefixes {
				if arg, ok := p.match(text); ok {
					steps = append(steps, step{route: "prefix " + p.prefix, arg: arg, h: p.h})
					break
				}
			}
		}
	}

	lower := strings.ToLower(m.Text)
	for _, k := range mx.keywords {
		if containsWord(lower, k.lower) {
			steps = append(steps, step{route: "keyword " + k.keyword, h: k.h})
		}
	}
	for _, mt := range mx.matchers {
		switch ok, err := matches(mt, m); {
		case err != nil:
			steps = append(steps, step{route: "match " + mt.name, err: err})
		case ok:
			steps = append(steps, step{route: "match " + mt.name, h: mt.h})
		}
	}
	var reacted []string
	var rng interface{ Float64() float64 }
	for _, rr := range mx.reactions {
		if rr.OnlyMentioned && !addressed || !containsWord(lower, rr.lower) {
			continue
		}
		if rr.Chance > 0 && rr.Chance < 1 {
			if rng == nil {
				rng = m.Rand()
			}
			if rng.Float64() >= rr.Chance {
				continue
			}
		}
		if slices.Contains(reacted, rr.Emoji) {
			continue
		}
		reacted = append(reacted, rr.Emoji)
		steps = append(steps, step{route: "react " + rr.Keyword + " :" + rr.Emoji + ":", h: reactWith(rr.Emoji)})
	}

	if addressed && len(steps) == 0 {
		h := mx.notFound
		if h == nil {
			h = HandlerFunc(mx.defaultNotFound)
		}
		steps = append(steps, step{route: "notfound", h: h})
	}
	return steps
}

// matches runs a matcher, turning a panic into an error as run does for
// handlers: the other handlers of the message still run.
func matches(mt *matcher, m *Message) (ok bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v\n%s", ErrPanic, v, debug.Stack())
		}
	}()
	return mt.match(m), nil
}

func reactWith(emoji string) Handler {
	return HandlerFunc(func(ctx context.Context, m *Message, r Responder) error {
		return r.React(ctx, emoji)
	})
}

// run runs one step with the middlewares around it, on its own copy of m,
// turning a panic into an error.
func run(ctx context.Context, s step, m *Message, r Responder, mws []Middleware) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v\n%s", ErrPanic, v, debug.Stack())
		}
	}()
	h := s.h
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	mc := *m
	mc.Route, mc.Arg = s.route, s.arg
	return h.ServeMessage(ctx, &mc, r)
}

func isMessageKind(kind string) bool {
	return kind == "" || kind == KindMessage || kind == "app_mention"
}

// normalize is how command names and the texts compared with them are
// written: lower case, single spaces, no trailing '?', '!' or '.', no
// mentions of people (<@U1>, <!here>, <!subteam^S1>), straight apostrophes.
func normalize(s string) string {
	if strings.ContainsAny(s, "<’") {
		s = strings.ReplaceAll(s, "’", "'")
		s = dropPeople(s)
	}
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	return strings.TrimSpace(strings.TrimRight(s, "?!."))
}

// dropPeople removes the <@...> and <!...> references of s.
func dropPeople(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "<")
		if i < 0 || i+1 == len(s) {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		if c := s[i+1]; c != '@' && c != '!' {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		// The reference goes with the blanks before it, so "a <@U1> b"
		// is "a b"; one at the start keeps a blank in its place.
		left := strings.TrimRight(s[:i], " \t")
		b.WriteString(left)
		if left == "" {
			b.WriteByte(' ')
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// hasPrefixFold is strings.HasPrefix, ignoring case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// containsWord reports whether keyword occurs in text (both lower case) where
// its letters and digits do not run on into those of the text: "go" is in
// "I like go!" but not in "good". A keyword edge that is not a letter or
// digit (a flipped table) needs no boundary.
func containsWord(text, keyword string) bool {
	if keyword == "" {
		return false
	}
	first, _ := utf8.DecodeRuneInString(keyword)
	last, _ := utf8.DecodeLastRuneInString(keyword)
	for from := 0; ; {
		i := strings.Index(text[from:], keyword)
		if i < 0 {
			return false
		}
		start := from + i
		end := start + len(keyword)
		before, _ := utf8.DecodeLastRuneInString(text[:start])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if (start == 0 || !isWordRune(first) || !isWordRune(before)) &&
			(end == len(text) || !isWordRune(last) || !isWordRune(after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(text[start:])
		from = start + size
	}
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// Help is the help text generated from what is registered, in Slack mrkdwn:
// every command with all its aliases, every prefix with its argument, and
// the keywords and matchers that have a help text, each group sorted.
// Names are escaped; help texts are mrkdwn as written.
func (mx *Mux) Help() string {
	mx.mu.RLock()
	defer mx.mu.RUnlock()
	var b strings.Builder
	line := func(item, help string) {
		b.WriteString("• " + item)
		if help != "" {
			b.WriteString(" — " + help)
		}
		b.WriteByte('\n')
	}
	code := func(s string) string { return "`" + Escape(s) + "`" }

	if len(mx.commands) == 0 && len(mx.prefixes) == 0 {
		b.WriteString("I don't know any commands yet.\n")
	} else {
		b.WriteString("Mention me with one of these in a channel, or send it to me in a DM.\n")
	}
	if len(mx.commands) > 0 {
		b.WriteString("*Questions and commands*\n")
		cs := slices.Clone(mx.commands)
		slices.SortFunc(cs, func(a, b *command) int { return cmp.Compare(normalize(a.name), normalize(b.name)) })
		for _, c := range cs {
			item := code(c.name)
			if len(c.aliases) > 0 {
				as := make([]string, len(c.aliases))
				for i, a := range c.aliases {
					as[i] = code(a)
				}
				item += " (also " + strings.Join(as, ", ") + ")"
			}
			line(item, c.help)
		}
	}
	if len(mx.prefixes) > 0 {
		b.WriteString("*Lookups*\n")
		ps := slices.Clone(mx.prefixes)
		slices.SortFunc(ps, func(a, b *prefixRoute) int { return cmp.Compare(strings.ToLower(a.prefix), strings.ToLower(b.prefix)) })
		for _, p := range ps {
			arg, help := "<text>", p.help
			if strings.HasPrefix(help, "<") {
				if j := strings.IndexByte(help, '>'); j > 0 {
					arg, help = help[:j+1], strings.TrimSpace(help[j+1:])
				}
			}
			line(code(p.prefix+arg), help)
		}
	}
	var also []string
	ks := slices.Clone(mx.keywords)
	slices.SortFunc(ks, func(a, b *keywordRoute) int { return cmp.Compare(a.lower, b.lower) })
	for _, k := range ks {
		if k.help != "" {
			also = append(also, code(k.keyword)+" — "+k.help)
		}
	}
	ms := slices.Clone(mx.matchers)
	slices.SortFunc(ms, func(a, b *matcher) int { return cmp.Compare(a.name, b.name) })
	for _, mt := range ms {
		if mt.help != "" {
			also = append(also, mt.help)
		}
	}
	if len(also) > 0 {
		b.WriteString("*Without being asked*\n")
		for _, a := range also {
			line(a, "")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}
