// Package handler is gopherbot's chat framework, shaped like net/http: a Mux
// routes a Message to the Handlers registered for it, and each Handler answers
// through a small Responder.
//
// The consumer decodes a Slack event, drops (among others) what Skip says to
// drop and the message events older than its MESSAGE_MAX_AGE setting
// (MaxMessageAge unless set otherwise), fills a Message (Parse gives its Text, Mentions and
// Mentioned) and calls Mux.ServeMessage with a Responder that talks to Slack. The Mux runs
// its handlers one after the other in a fixed order, so a redelivered event
// makes the same calls in the same order; that is what lets the Responder
// recognise, by position, the effects it already made.
package handler

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
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

	// Set by the Mux on the copy of the Message each handler gets.

	// Route names the registration being served, such as "command help",
	// "prefix d/" or "react gopher :gopher:", for logs and middleware.
	Route string
	// Arg is, for a Prefix handler, the text after the prefix, trimmed,
	// without mentions of people and without a sentence's last ?, ! or .:
	// "net/http" for "d/net/http <@U2>" and for "d/net/http.". It is empty
	// for every other handler.
	Arg string
}

// MaxMessageAge is the default of how old a message event may be when it is
// handled: a late answer confuses people more than none. The consumer's
// MESSAGE_MAX_AGE setting (config.Config.MessageMaxAge) replaces it. Join
// events have no age limit.
const MaxMessageAge = 30 * time.Second

// Stale reports whether m is a message event older than MaxMessageAge at now.
// A message without a Time is never stale. It keeps to the default limit: the
// consumer does not call it, but compares a message's age with its
// MESSAGE_MAX_AGE setting, which may differ.
func (m *Message) Stale(now time.Time) bool {
	return isMessageKind(m.Kind) && !m.Time.IsZero() && now.Sub(m.Time) > MaxMessageAge
}

// MentionedUsers returns the IDs of the users the message mentions, other than
// the bot, once each, in order: the people a MentionAsked reply addresses.
func (m *Message) MentionedUsers() []string {
	var ids []string
	for _, mn := range m.Mentions {
		if mn.Kind == MentionUser && mn.ID != m.BotID && !slices.Contains(ids, mn.ID) {
			ids = append(ids, mn.ID)
		}
	}
	return ids
}

// MentionKind is what a Mention points at.
type MentionKind int

const (
	MentionUser      MentionKind = iota // <@U123> or <@U123|name>
	MentionChannel                      // <#C123|name>
	MentionUserGroup                    // <!subteam^S123|@group>
	MentionSpecial                      // <!here>, <!channel>, <!everyone>
	MentionLink                         // <https://...|label>, <mailto:...|label>
)

func (k MentionKind) String() string {
	switch k {
	case MentionUser:
		return "user"
	case MentionChannel:
		return "channel"
	case MentionUserGroup:
		return "usergroup"
	case MentionSpecial:
		return "special"
	case MentionLink:
		return "link"
	}
	return "MentionKind(" + strconv.Itoa(int(k)) + ")"
}

// Mention is one <...> reference in a message's text (see Parse).
type Mention struct {
	Kind  MentionKind
	ID    string // user, channel or group ID; "here"/"channel"/"everyone"; the URL of a link
	Label string // the text after '|', if any, unescaped
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

// ErrOutcomeUnknown is wrapped by the error of a Responder call whose
// effect may have happened all the same: Slack got the call, but its answer
// was lost or was a server error. The effect is not made again on a
// redelivery; a handler that keeps its own record of what it did (such as
// "this member was welcomed") should keep it too.
var ErrOutcomeUnknown = errors.New("outcome unknown: Slack may have acted on the call")

// Responder is how a handler answers. Each call is one effect in Slack; each
// effect of an event happens at most once, also when the event is redelivered.
// An error wrapping ErrOutcomeUnknown means the effect may have happened.
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

// Rehearsed reports whether r only logs what it would do, as a bot in
// shadow mode does for the messages not addressed to it. A handler then
// also skips work that people would see outside Slack, such as sharing
// code on the Go Playground, and logs it instead.
func Rehearsed(r Responder) bool {
	x, ok := r.(interface{ Rehearsed() bool })
	return ok && x.Rehearsed()
}

// ReplyOptions are set by ReplyOption values.
type ReplyOptions struct {
	Unfurl       bool // let Slack unfurl links (off by default)
	MentionAsked bool // start the reply by mentioning the users the asker mentioned
	Thread       bool // answer in a thread under the message, starting one if needed
}

// ReplyOption changes one reply.
type ReplyOption func(*ReplyOptions)

// Unfurl lets Slack unfurl the links of the reply.
func Unfurl() ReplyOption { return func(o *ReplyOptions) { o.Unfurl = true } }

// InThread answers in a thread under the message even when it was not in one,
// to keep a busy channel readable (a Playground link for a long paste). In a
// DM it changes nothing.
func InThread() ReplyOption { return func(o *ReplyOptions) { o.Thread = true } }

// MentionAsked addresses the reply to the people the asker mentioned.
func MentionAsked() ReplyOption { return func(o *ReplyOptions) { o.MentionAsked = true } }

// Handler answers a Message.
//
// A handler must make the same Responder calls in the same order when it is
// given the same event again (use Message.Rand for random choices), and must
// not modify the Message or its slices. An error is returned to the consumer,
// which retries the event; effects already made are not made again.
type Handler interface {
	ServeMessage(ctx context.Context, m *Message, r Responder) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m *Message, r Responder) error

// ServeMessage calls f.
func (f HandlerFunc) ServeMessage(ctx context.Context, m *Message, r Responder) error {
	return f(ctx, m, r)
}
