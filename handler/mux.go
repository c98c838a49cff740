package handler

import "context"

// CONTRACT STUB: the implementation replaces the panics.

// Mux routes messages. Registering an empty or duplicate pattern panics.
type Mux struct{}

// NewMux returns an empty Mux.
func NewMux() *Mux { panic("unimplemented") }

// Command registers an exact command (case-insensitive) with its aliases.
// It runs only when the message is addressed to the bot (a DM or a mention).
func (mx *Mux) Command(name, help string, h Handler, aliases ...string) { panic("unimplemented") }

// Prefix registers a command that starts with prefix ("xkcd:", "d/",
// "define "); the rest of the text is the argument. Addressed only.
func (mx *Mux) Prefix(prefix, help string, h Handler) { panic("unimplemented") }

// Reaction is a keyword that gets an emoji reaction.
type Reaction struct {
	Keyword       string  // a word or phrase, matched case-insensitively on word boundaries
	Emoji         string  // without colons
	OnlyMentioned bool    // react only when the bot is addressed
	Chance        float64 // 0 or 1: always; else the probability, drawn from Message.Rand
}

// React registers a keyword reaction.
func (mx *Mux) React(r Reaction) { panic("unimplemented") }

// Keyword registers a text answer to a keyword found anywhere in a message
// (such as a flipped table), addressed or not.
func (mx *Mux) Keyword(keyword, help string, h Handler) { panic("unimplemented") }

// Match registers a custom matcher, run on every message, addressed or not.
func (mx *Mux) Match(name, help string, match func(*Message) bool, h Handler) { panic("unimplemented") }

// Event registers the handler of a non-message kind (KindTeamJoin, KindMemberJoinedChannel).
func (mx *Mux) Event(kind string, h Handler) { panic("unimplemented") }

// Help is the help text generated from what is registered.
func (mx *Mux) Help() string { panic("unimplemented") }

// ServeMessage dispatches m.
func (mx *Mux) ServeMessage(ctx context.Context, m *Message, r Responder) error {
	panic("unimplemented")
}
