package consumer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/handler"
	"github.com/gophers/gopherbot/internal/slackapi"
)

// responder answers one handling of one event through Slack. Every call is
// one effect, made at most once per event (see ledger), or, in shadow mode,
// only logged.
type responder struct {
	slack  Slack
	ledger ledger
	log    zerolog.Logger
	m      *handler.Message
	event  string // the ledger's key: the event ID
	// shadow is set outside production for messages not addressed to the
	// bot: nothing is sent, every effect is logged instead.
	shadow bool
	// production is false in shadow mode, where even an answer to an
	// addressed message may only go to its asker.
	production bool
	route      string // the handler run this responder serves (see ledger)
	n          int    // effects so far in this handler run
}

// forRoute returns the responder for one handler run of the Mux.
func (r *responder) forRoute(route string) *responder {
	c := *r
	c.route, c.n = route, 0
	return &c
}

// perRoute is the Mux middleware that gives each handler run its own
// responder, so that effects are numbered per run (see ledger).
func perRoute(h handler.Handler) handler.Handler {
	return handler.HandlerFunc(func(ctx context.Context, m *handler.Message, r handler.Responder) error {
		if rr, ok := r.(*responder); ok {
			r = rr.forRoute(m.Route)
		}
		return h.ServeMessage(ctx, m, r)
	})
}

var _ handler.Responder = (*responder)(nil)

// Rehearsed reports whether the responder only logs its effects (shadow
// mode, for a message not addressed to the bot); see handler.Rehearsed.
func (r *responder) Rehearsed() bool { return r.shadow }

// Reply answers in the message's channel, in its thread when it was in one.
func (r *responder) Reply(ctx context.Context, text string, opts ...handler.ReplyOption) error {
	var o handler.ReplyOptions
	for _, opt := range opts {
		opt(&o)
	}
	if r.m.Channel == "" {
		return fmt.Errorf("reply: %s event has no channel", r.m.Kind)
	}
	if o.MentionAsked {
		text = mentionAsked(r.m) + text
	}
	thread := r.m.ThreadTS
	if thread == "" && o.Thread && !r.m.DM() {
		thread = r.m.TS
	}
	where := r.m.Channel
	if thread != "" {
		where += " thread " + thread
	}
	return r.effect(ctx, r.shadow, "reply in "+where, text, func(ctx context.Context) error {
		_, err := r.slack.PostMessage(ctx, r.m.Channel, text, slackapi.PostOptions{ThreadTS: thread, Unfurl: o.Unfurl})
		return err
	})
}

// Ephemeral answers so that only the asker sees it.
func (r *responder) Ephemeral(ctx context.Context, text string) error {
	if r.m.Channel == "" || r.m.User == "" {
		return fmt.Errorf("ephemeral: %s event has no channel or user", r.m.Kind)
	}
	return r.effect(ctx, r.shadow, "ephemeral to "+r.m.User+" in "+r.m.Channel, text, func(ctx context.Context) error {
		return r.slack.PostEphemeral(ctx, r.m.Channel, r.m.User, text, r.m.ThreadTS)
	})
}

// DM sends text to user in a direct message. A user deactivated since the
// event (user_disabled) is skipped with an info line, as a reaction to a
// deleted message is: every retry would meet the same answer.
func (r *responder) DM(ctx context.Context, user, text string) error {
	if user == "" {
		return errors.New("dm: no user")
	}
	// Answering the asker in private is an answer; writing to someone else
	// is the bot speaking on its own, which shadow mode forbids.
	shadow := r.shadow || (!r.production && user != r.m.User)
	return r.effect(ctx, shadow, "DM to "+user, text, func(ctx context.Context) error {
		ch, err := r.slack.OpenDM(ctx, user)
		if slackapi.Code(err) == "user_disabled" {
			// Deactivated since the event (a spam account removed while
			// the queue caught up): nobody to write to, and nothing for
			// an operator to do.
			r.log.Info().Str("to", user).Msg("DM skipped: the member is deactivated")
			return nil
		}
		if err != nil {
			// Whatever Slack did with conversations.open, nothing was
			// posted: the DM is still to be sent, by the queue's retry.
			return nothingVisible(err)
		}
		_, err = r.slack.PostMessage(ctx, ch, text, slackapi.PostOptions{})
		return err
	})
}

// React adds an emoji reaction to the message.
func (r *responder) React(ctx context.Context, emoji string) error {
	emoji = strings.Trim(emoji, ":")
	if r.m.Channel == "" || r.m.TS == "" {
		return fmt.Errorf("react: %s event has no message to react to", r.m.Kind)
	}
	return r.effect(ctx, r.shadow, "reaction :"+emoji+": on "+r.m.Channel+" "+r.m.TS, "", func(ctx context.Context) error {
		err := r.slack.AddReaction(ctx, r.m.Channel, r.m.TS, emoji)
		switch slackapi.Code(err) {
		case "invalid_name":
			// A custom emoji this workspace does not have: every retry
			// would meet the same answer, and the event's other effects
			// are fine. Skipped, and said loudly enough to be fixed.
			r.log.Warn().Str("emoji", emoji).
				Msg("the workspace has no such emoji; reaction skipped (add the emoji, or drop it from the reactions)")
			return nil
		case "message_not_found":
			// Deleted before the reaction came: nothing to react to, and
			// nothing for an operator to do.
			r.log.Info().Str("emoji", emoji).Msg("reaction skipped: the message is gone (deleted before we reacted)")
			return nil
		}
		// A reaction added twice is added once (already_reacted is a
		// success), so one that Slack may have added is tried again.
		return nothingVisible(err)
	})
}

// nothingVisible returns the error of a Slack call that made no visible
// effect, or whose repeat makes none (opening a DM, adding a reaction),
// without the "outcome unknown" that keeps an effect's claim for good: the
// effect is then released and made by the queue's retry, and a handler
// does not take it for one that may have happened.
func nothingVisible(err error) error {
	if e, ok := err.(*slackapi.Error); ok && e.Unsure {
		c := *e
		c.Unsure = false
		return &c
	}
	return err
}

// effect makes one call at most once per event.
func (r *responder) effect(ctx context.Context, shadow bool, what, text string, call func(context.Context) error) error {
	r.n++
	field := effectField(r.route, r.n)
	log := r.log.With().Str("effect", field).Logger()
	if shadow {
		// Counted all the same, so that the numbering does not depend on
		// the mode.
		log.Info().Str("text", text).Msg("shadow: would send " + what)
		return nil
	}
	ok, prev, err := r.ledger.claim(ctx, r.event, field, what)
	if err != nil {
		// Without the record the call might be a repeat: leave it to the
		// queue's retry.
		return err
	}
	if !ok {
		log.Info().Str("was", prev).Msg("skip " + what + ": already made by an earlier delivery")
		if !strings.HasSuffix(prev, " "+what) {
			// The handler did not repeat itself: a bug (a handler that is
			// not deterministic per event), or a changed deployment.
			log.Warn().Str("was", prev).Str("now", what).Msg("effect differs from the earlier delivery's")
		}
		return nil
	}

	callErr := call(ctx)

	// The record must be written even when the handler's deadline just
	// passed: a "done" lost here would make a retry repeat the effect.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if callErr == nil {
		if err := r.ledger.done(rctx, r.event, field, what); err != nil {
			log.Warn().Err(err).Msg("could not record a done effect; it stays claimed and is not repeated")
		}
		log.Debug().Msg("sent " + what)
		return nil
	}
	if errors.Is(callErr, slackapi.ErrOutcomeUnknown) {
		// The answer was lost or cut off by the deadline, or Slack answered
		// with a server error: it may have acted on the call. Keep the
		// claim, so the effect is lost rather than doubled.
		log.Error().Err(callErr).Msg("Slack call outcome unknown; not retrying " + what)
		return fmt.Errorf("%s: %w", what, callErr)
	}
	log.Error().Err(callErr).Msg("Slack call failed: " + what)
	if err := r.ledger.release(rctx, r.event, field); err != nil {
		log.Warn().Err(err).Msg("could not release a failed effect; a retry will skip it")
	}
	return fmt.Errorf("%s: %w", what, callErr)
}

// mentionAsked is the prefix addressing a reply to the users the asker
// mentioned (not the bot).
func mentionAsked(m *handler.Message) string {
	var b strings.Builder
	for _, id := range m.MentionedUsers() {
		b.WriteString("<@" + id + "> ")
	}
	return b.String()
}
