package bgtasks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/workqueue"
)

// Slack is the part of the Web API client the tasks and the channel cache
// use. *slackapi.Client has it. The error of PostMessage wraps
// slackapi.ErrOutcomeUnknown when Slack may have posted the message; any
// other error means it did not (an error that is no *slackapi.Error at all
// is taken as "may have posted", see outbox.post).
type Slack interface {
	PostMessage(ctx context.Context, channel, text string, o slackapi.PostOptions) (string, error)
	OpenDM(ctx context.Context, user string) (string, error)
	ListUsers(ctx context.Context, cursor string, limit int) ([]slackapi.User, string, error)
	ListChannels(ctx context.Context, cursor string, limit int) ([]slackapi.Channel, string, error)
	ChannelInfo(ctx context.Context, id string) (slackapi.Channel, error)
}

var _ Slack = (*slackapi.Client)(nil)

// channelIDs resolves channel names; the channel cache does it.
type channelIDs interface {
	ID(ctx context.Context, name string) (string, error)
}

// refresher is the channel cache's periodic refill.
type refresher interface {
	Refresh(ctx context.Context) error
}

// errNotPosted is wrapped when a post failed before its message was sent:
// the channel name did not resolve, or the DM could not be opened.
// conversations.open is safe to repeat, so its own "outcome unknown"
// means nothing for the message, which was never sent.
var errNotPosted = errors.New("nothing was posted")

// errUnresolved is wrapped when a channel name does not resolve.
var errUnresolved = errors.New("channel name does not resolve")

// errPermanent marks failures that retrying cannot fix (Slack's permanent
// error codes, through slackapi).
var errPermanent = workqueue.ErrPermanent

// errRefusedItem is wrapped by deliver's error when Slack refused the item
// itself for good: see itemRefused.
var errRefusedItem = errors.New("Slack refuses this item for good; it is skipped")

// outbox is where the tasks' messages go: Slack, or the log in shadow mode.
type outbox struct {
	slack  Slack
	chans  channelIDs
	shadow bool
	log    zerolog.Logger
}

// close stops what the channel cache still does for a name that missed
// (its listing outlives the post that asked): Run calls it on the way out.
func (o *outbox) close() {
	if c, ok := o.chans.(interface{ Close() }); ok {
		c.Close()
	}
}

// newSlack builds the Web API client of cmd/bgtasks; its posting budget is
// shared with the consumers through rdb.
func newSlack(cfg config.Config, rdb redis.UniversalClient, log zerolog.Logger) *slackapi.Client {
	return slackapi.New(cfg.SlackBotToken, cfg.SlackAPIURL, rdb, log)
}

// post posts text to the channel named channel, or logs it in shadow mode.
func (o *outbox) post(ctx context.Context, task, channel, text string) error {
	if o.shadow {
		o.log.Info().Str("task", task).Str("channel", channel).Str("text", text).Msg("shadow mode: would post")
		return nil
	}
	id, err := o.chans.ID(ctx, channel)
	if err != nil {
		return fmt.Errorf("#%s: %w: %w: %w", channel, errNotPosted, errUnresolved, err)
	}
	if id == "" {
		return fmt.Errorf("#%s: %w: %w", channel, errNotPosted, errUnresolved)
	}
	if _, err := o.slack.PostMessage(ctx, id, text, slackapi.PostOptions{}); err != nil {
		return fmt.Errorf("post to #%s: %w", channel, postError(err))
	}
	return nil
}

// dm sends text to user in the bot's DM with them.
func (o *outbox) dm(ctx context.Context, user, text string) error {
	ch, err := o.slack.OpenDM(ctx, user)
	if err != nil {
		return fmt.Errorf("open DM: %w: %w", errNotPosted, err)
	}
	if _, err := o.slack.PostMessage(ctx, ch, text, slackapi.PostOptions{}); err != nil {
		return fmt.Errorf("DM: %w", postError(err))
	}
	return nil
}

// postError is PostMessage's error, marked as a possible post when the
// client did not classify it: only slackapi can tell a request that never
// went out from one whose answer was lost, so an error it did not make (a
// bare context error, say) proves nothing.
func postError(err error) error {
	if _, ok := errors.AsType[*slackapi.Error](err); ok {
		return err
	}
	return fmt.Errorf("%w: %w", slackapi.ErrOutcomeUnknown, err)
}

// notSent reports whether a failed post certainly left nothing in Slack.
// Slack may have posted exactly when the error wraps
// slackapi.ErrOutcomeUnknown (its answer was lost, or it answered 500, 502,
// 504, internal_error or fatal_error; slackapi then does not repeat the
// post): that message may be there. Every other failure sent nothing: a
// Slack error code, a 4xx (a 429 included), a 503, no posting slot before
// the deadline, a connection that never opened, a channel name that did not
// resolve, a DM that could not be opened.
func notSent(err error) bool {
	return errors.Is(err, errNotPosted) || !errors.Is(err, slackapi.ErrOutcomeUnknown)
}

// itemCodes are the Slack error codes that refuse a message for what it
// says, not for where it goes: posting the same text again meets the same
// code, while the channel's other items post fine.
var itemCodes = map[string]bool{
	"msg_too_long": true, "no_text": true, "too_many_attachments": true,
	"invalid_blocks": true, "invalid_blocks_format": true, "invalid_attachments": true,
	"attachment_payload_limit_exceeded": true, "invalid_charset": true,
	"markdown_text_conflict": true,
}

// itemRefused reports whether Slack refused a post for good because of
// the item itself (its text), rather than because of the channel, the
// token or the app (not_in_channel, channel_not_found, is_archived,
// invalid_auth, ...), which every item of the channel would meet.
func itemRefused(err error) bool {
	return !errors.Is(err, slackapi.ErrOutcomeUnknown) && itemCodes[slackapi.Code(err)]
}

// releaseTimeout bounds taking a claim, and giving back the claim of an
// item not posted.
const releaseTimeout = 5 * time.Second

// releaseContext is the context of giving a claim back after a failed
// post. It is not the post's: a post that ran out of time before it sent
// anything (a channel name that could not be resolved in time, a
// connection that never opened) has a spent deadline, and the item would
// be lost for want of a few milliseconds to release its claim. Claims are
// taken in it too, for the reason claimItem gives.
func releaseContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
}

// deliver posts text for an item the caller has claimed, and names the
// item in what it logs. The post gets its own deadline, not ctx's: once
// claimed, an item no other replica will post should go out even if this
// one just lost the lease.
//
//   - Posted: nil.
//   - Refused by Slack for what the item says (itemRefused): the claim
//     stays, so that the item is never tried again and the items after it
//     are not held up; the refusal is logged as an error, and the error
//     returned wraps errRefusedItem, for the caller to go on with the next
//     item.
//   - Certainly not posted (notSent): release gives the claim back and the
//     error is returned, so that the round fails and a later one posts it.
//   - Outcome unknown: the claim stays and the error is returned (see the
//     package comment).
func (r *Runner) deliver(ctx context.Context, task, item, channel, text string, release func(context.Context) error) error {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.PostTimeout)
	defer cancel()
	err := r.out.post(pctx, task, channel, text)
	switch {
	case err == nil:
		return nil
	case itemRefused(err):
		r.log.Error().Str("task", task).Str("item", item).Str("channel", channel).Str("reason", slackapi.Code(err)).Err(err).
			Msg("Slack refuses this item for good; skipping it for ever, to let the next ones through")
		return fmt.Errorf("%w: %w", errRefusedItem, err)
	case notSent(err):
		rctx, cancel := releaseContext(ctx)
		defer cancel()
		if rerr := release(rctx); rerr != nil {
			r.log.Error().Str("task", task).Str("item", item).Err(rerr).Msg("cannot release the claim of an item that was not posted; it will be missed")
			return errors.Join(err, rerr)
		}
		return err
	}
	r.log.Error().Str("task", task).Str("item", item).Str("channel", channel).Err(err).Msg("post outcome unknown; not retrying this item, to never post it twice")
	return err
}
