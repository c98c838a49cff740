package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gophers/gopherbot/handler"
)

// releaseTimeout bounds giving a claim back after a failed welcome DM.
const releaseTimeout = 5 * time.Second

func (b *bot) registerWelcome(mx *handler.Mux) {
	if b.Welcomed == nil {
		b.Log.Warn().Msg("commands: no welcomed record; new members get no welcome DM")
	} else {
		mx.Event(handler.KindTeamJoin, handler.HandlerFunc(b.teamJoin))
	}
	mx.Event(handler.KindMemberJoinedChannel, handler.HandlerFunc(b.joinedChannel))
}

// WelcomeDM is the direct message a new member of the workspace gets.
// recommended are channel names in the order to list them; ids maps the
// names that resolved to their IDs (see ResolveChannels), and the others are
// listed as plain #names. The consumer (on team_join) and the bgtasks
// catch-up sweep both send this text.
func WelcomeDM(user string, recommended []string, ids map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Hi <@%s>, welcome to the Gophers Slack! :wave:\n", user)
	if len(recommended) > 0 {
		b.WriteString("A few channels you may like:\n")
		for _, name := range recommended {
			if id := ids[name]; id != "" {
				fmt.Fprintf(&b, "• <#%s>\n", id)
			} else {
				fmt.Fprintf(&b, "• #%s\n", name)
			}
		}
		b.WriteString("There is a channel for almost every Go topic; browse them all in the channel list.\n")
	}
	b.WriteString("New to Go? A Tour of Go (https://go.dev/tour) is a great start, and no question is too basic to ask here.\n" +
		"We all follow the Go Community Code of Conduct: https://go.dev/conduct\n" +
		"Send me `help` any time to see what I can answer. Have fun!")
	return b.String()
}

// teamJoin welcomes a new member with a DM, once: the claim in the
// welcomed record comes first, so that a redelivered event, or the bgtasks
// sweep, does not welcome them again. A DM that certainly failed gives the
// claim back, so the retry of the event can send it; one that may have gone
// out (handler.ErrOutcomeUnknown) keeps it.
func (b *bot) teamJoin(ctx context.Context, m *handler.Message, r handler.Responder) error {
	log := b.Log.With().Str("user", m.User).Str("event_id", m.EventID).Logger()
	if m.User == "" || m.User == m.BotID {
		log.Warn().Msg("commands: team_join without a new member; ignored")
		return nil
	}
	ok, err := b.Welcomed.Claim(ctx, m.User)
	if err != nil {
		return fmt.Errorf("commands: welcome: %w", err)
	}
	if !ok {
		log.Info().Msg("commands: welcome: member already welcomed")
		return nil
	}
	ids := ResolveChannels(ctx, b.Channels, b.RecommendedChannels, b.Log)
	if err := r.DM(ctx, m.User, WelcomeDM(m.User, b.RecommendedChannels, ids)); err != nil {
		if errors.Is(err, handler.ErrOutcomeUnknown) {
			log.Error().Err(err).Msg("commands: welcome DM may have gone out; not sending it again")
			return fmt.Errorf("commands: welcome DM: %w", err)
		}
		// A fresh context: ctx may be what just ran out.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if rerr := b.Welcomed.Release(rctx, m.User); rerr != nil {
			log.Error().Err(rerr).Msg("commands: welcome: cannot release the claim; only a later try by this process can still welcome this member")
		}
		return fmt.Errorf("commands: welcome DM: %w", err)
	}
	log.Info().Msg("commands: welcomed")
	return nil
}

// joinedChannel greets, with a note only they see, whoever joins the
// newbies channel.
func (b *bot) joinedChannel(ctx context.Context, m *handler.Message, r handler.Responder) error {
	if m.User == "" || m.User == m.BotID {
		return nil
	}
	if m.Channel != b.NewbiesChannel {
		id, err := b.resolve(ctx, b.NewbiesChannel)
		if err != nil {
			return err // retried: the join is not stale, unlike a message
		}
		if id != m.Channel {
			return nil
		}
	}
	return r.Ephemeral(ctx, fmt.Sprintf("Welcome to <#%s>, <@%s>! :wave: Every Go question is welcome here, however small.\n"+
		"To get good answers fast, share your code as a Playground link (https://go.dev/play) and say what you expected and what happened instead. "+
		"Mention me with `newbies` for a list of learning resources.", m.Channel, m.User))
}
