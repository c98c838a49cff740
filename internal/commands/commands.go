// Package commands is everything gopherbot says and does in chat: the named
// answers, the coin, define, xkcd and documentation links, keyword
// reactions, the flipped table, Playground links for long pastes and Go
// files, and the welcomes. Register puts it all on a handler.Mux.
//
// Every handler here makes the same Responder calls in the same order when
// it is given the same event again (random choices come from Message.Rand),
// because the Responder recognises effects it already made by position.
package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/glossary"
	"github.com/gophers/gopherbot/handler"
	"github.com/gophers/gopherbot/internal/chancache"
)

// Channels resolves channel names to IDs. It is implemented by the channel
// cache, which asks Slack on a miss.
type Channels interface {
	// ID returns the ID of the channel named name (without '#'), or an
	// error wrapping chancache.ErrNotFound when there is no such channel.
	ID(ctx context.Context, name string) (string, error)
}

// Sharer stores code on the Go Playground and returns the link to it; see
// playground.Client. An error wrapping playground.ErrRejected,
// playground.ErrTooLarge or playground.ErrEmpty means the code will never be
// accepted; any other error may be temporary.
type Sharer interface {
	Share(ctx context.Context, code []byte) (url string, err error)
}

// Files downloads files shared in Slack (their url_private, which needs the
// bot token). An error wrapping workqueue.ErrPermanent (too large, gone)
// skips the file; any other error fails the event so that it is retried.
type Files interface {
	Download(ctx context.Context, url string) ([]byte, error)
}

// Welcomed records who got the welcome DM, so that the consumer and the
// bgtasks catch-up sweep never both welcome someone; see internal/welcomed.
type Welcomed interface {
	// Claim reports false when the user was claimed already.
	Claim(ctx context.Context, user string) (bool, error)
	// Release forgets a claim whose welcome could not be sent.
	Release(ctx context.Context, user string) error
}

// Deps is what the chat features need. Only Glossary has a fallback (the
// built-in glossary); a nil Channels shows channels as plain #names; a nil
// Playground turns the Playground links off, a nil Files only uploaded
// files; a nil Welcomed turns the welcome DM off, since without the record
// a member could be welcomed twice.
type Deps struct {
	Glossary   *glossary.Glossary
	Channels   Channels
	Playground Sharer
	Files      Files
	Welcomed   Welcomed

	NewbiesChannel      string   // name, without '#'; default "newbies"
	RecommendedChannels []string // names listed in the welcome DM
	PlaygroundDenylist  []string // names (or IDs) of channels where pastes are left alone

	Log zerolog.Logger
}

// bot holds the dependencies the handlers share.
type bot struct {
	Deps
}

// Register registers every chat feature on mx. It panics, as the Mux does,
// when something is registered twice.
func Register(mx *handler.Mux, d Deps) {
	if d.Glossary == nil {
		d.Glossary = glossary.Default()
	}
	d.NewbiesChannel = strings.TrimPrefix(strings.TrimSpace(d.NewbiesChannel), "#")
	if d.NewbiesChannel == "" {
		d.NewbiesChannel = "newbies"
	}
	b := &bot{Deps: d}

	mx.Command("help", "What I can do: this list.", mx.HelpHandler(), "commands", "what can you do")
	b.registerAnswers(mx)
	b.registerFun(mx)
	b.registerLookups(mx)
	if d.Playground != nil {
		b.registerPlayground(mx)
	} else {
		d.Log.Warn().Msg("commands: no Playground client; long pastes will not be linked")
	}
	b.registerWelcome(mx)
}

// channelRef returns how to mention the channel named name in a message:
// <#ID> when it resolves, else #name (which Slack shows as plain text).
func (b *bot) channelRef(ctx context.Context, name string) string {
	id := b.channelID(ctx, name)
	if id == "" {
		return "#" + name
	}
	return "<#" + id + ">"
}

// resolve returns the ID of the channel named name, or "" when Slack has
// no such channel (logged: a setting names a channel that does not
// exist). When the look-up itself fails (Slack or Redis unreachable), it
// returns the error, so that the handler fails and the queue retries the
// event instead of deciding on a guess.
func (b *bot) resolve(ctx context.Context, name string) (string, error) {
	if b.Channels == nil || name == "" {
		return "", nil
	}
	id, err := b.Channels.ID(ctx, name)
	switch {
	case errors.Is(err, chancache.ErrNotFound):
		b.Log.Warn().Err(err).Str("channel", name).Msg("commands: no such channel")
		return "", nil
	case err != nil:
		return "", fmt.Errorf("commands: look up #%s: %w", name, err)
	}
	return id, nil
}

// channelID is resolve for a text, which does without the ID (it names
// the channel as #name) when the look-up fails: logged, and "".
func (b *bot) channelID(ctx context.Context, name string) string {
	id, err := b.resolve(ctx, name)
	if err != nil {
		b.Log.Warn().Err(err).Str("channel", name).Msg("commands: cannot resolve channel name")
		return ""
	}
	return id
}

// ResolveChannels resolves names to IDs with ch, leaving out the names it
// cannot resolve (logged), as WelcomeDM expects. ch may be nil.
func ResolveChannels(ctx context.Context, ch Channels, names []string, log zerolog.Logger) map[string]string {
	ids := make(map[string]string, len(names))
	if ch == nil {
		return ids
	}
	for _, name := range names {
		id, err := ch.ID(ctx, name)
		if err != nil || id == "" {
			log.Warn().Err(err).Str("channel", name).Msg("commands: cannot resolve channel name")
			continue
		}
		ids[name] = id
	}
	return ids
}

// argument cleans the argument of a prefix command for use as a term, a
// number or a path: Slack references (<@U1>, <!here>, <#C1|x>) are dropped,
// since the asker may address someone after the argument, and must never be
// echoed back to ping people.
func argument(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		tok := s[i+1 : i+j]
		if tok == "" || !strings.ContainsRune("@!#", rune(tok[0])) || strings.ContainsAny(tok, " \t\n") {
			// Not a reference: a '<' the asker typed.
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteByte(' ')
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return strings.Join(strings.Fields(b.String()), " ")
}
