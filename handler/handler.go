// Package handler is gopherbot's chat framework, shaped like net/http: a Mux
// routes a Message to the Handler registered for it, and the Handler answers
// through a small Responder.
//
// CONTRACT STUB: the types below are the agreed API; the Mux implementation
// replaces the panics.
package handler

import (
	"context"
	"math/rand/v2"
	"time"
)

// Kinds of Message.
const (
	KindMessage             = "message"               // a chat message (also app_mention)
	KindTeamJoin            = "team_join"             // User joined the workspace
	KindMemberJoinedChannel = "member_joined_channel" // User joined Channel
)

// Message is what a handler is asked about: a chat message, or a join.
type Message struct {
	Kind        string // KindMessage, KindTeamJoin, KindMemberJoinedChannel
	EventID     string // Slack event_id; seeds Rand
	Channel     string // channel ID
	ChannelType string // channel, group, im, mpim, app_home
	User        string // sender (or who joined)
	UserName    string // display name when known (team_join carries it)
	Text        string // text with the bot's mention removed, trimmed
	RawText     string // text as Slack sent it
	TS          string // message timestamp
	ThreadTS    string // thread parent; empty outside a thread
	Mentioned   bool   // the bot was mentioned
	Mentions    []Mention
	Files       []File
	Time        time.Time // when the event happened
	BotID       string    // the bot's own user ID
}

// MentionKind is what a Mention points at.
type MentionKind int

const (
	MentionUser      MentionKind = iota // <@U123> or <@U123|name>
	MentionChannel                      // <#C123|name>
	MentionUserGroup                    // <!subteam^S123|@group>
	MentionSpecial                      // <!here>, <!channel>, <!everyone>
	MentionLink                         // <https://...|label>
)

// Mention is one <...> reference in a message's text.
type Mention struct {
	Kind  MentionKind
	ID    string // user, channel or group ID; "here"/"channel"/"everyone"; the URL of a link
	Label string // the text after '|', if any
}

// File is a file shared with a message.
type File struct {
	ID         string
	Name       string
	Filetype   string // "go", "text", ...
	URLPrivate string // needs the bot token to download
	Preview    string
	Lines      int
}

// DM reports whether the message is in a direct message with the bot.
func (m *Message) DM() bool { return m.ChannelType == "im" }

// Addressed reports whether the message was meant for the bot: a DM or a mention.
func (m *Message) Addressed() bool { return m.DM() || m.Mentioned }

// Rand returns a random source seeded by the event ID, so that a redelivered
// event makes the same random choices (and so the same effects) again.
func (m *Message) Rand() *rand.Rand {
	var seed uint64 = 14695981039346656037
	for i := 0; i < len(m.EventID); i++ {
		seed ^= uint64(m.EventID[i])
		seed *= 1099511628211
	}
	return rand.New(rand.NewPCG(seed, seed>>1|1))
}

// Responder is how a handler answers. Each call is one effect in Slack; each
// effect of an event happens at most once, also when the event is redelivered.
type Responder interface {
	// Reply answers in the message's channel, in its thread when it was in one.
	Reply(ctx context.Context, text string, opts ...ReplyOption) error
	// Ephemeral answers so that only the asker (Message.User) sees it.
	Ephemeral(ctx context.Context, text string) error
	// DM sends text to user in a direct message.
	DM(ctx context.Context, user, text string) error
	// React adds an emoji reaction (name without colons) to the message.
	React(ctx context.Context, emoji string) error
}

// ReplyOptions are set by ReplyOption values.
type ReplyOptions struct {
	Unfurl       bool // let Slack unfurl links (off by default)
	MentionAsked bool // start the reply by mentioning the users the asker mentioned
}

// ReplyOption changes one reply.
type ReplyOption func(*ReplyOptions)

// Unfurl lets Slack unfurl the links of the reply.
func Unfurl() ReplyOption { return func(o *ReplyOptions) { o.Unfurl = true } }

// MentionAsked addresses the reply to the people the asker mentioned.
func MentionAsked() ReplyOption { return func(o *ReplyOptions) { o.MentionAsked = true } }

// Handler answers a Message.
type Handler interface {
	ServeMessage(ctx context.Context, m *Message, r Responder) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m *Message, r Responder) error

// ServeMessage calls f.
func (f HandlerFunc) ServeMessage(ctx context.Context, m *Message, r Responder) error {
	return f(ctx, m, r)
}
