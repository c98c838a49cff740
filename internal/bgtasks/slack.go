package bgtasks

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/workqueue"
)

// Slack is the part of the Web API client the tasks and the channel cache
// use. *slackapi.Client has it.
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

// errUnresolved is wrapped when a channel name does not resolve: nothing
// was posted.
var errUnresolved = errors.New("channel name does not resolve")

// errPermanent marks failures that retrying cannot fix (Slack's permanent
// error codes, through slackapi).
var errPermanent = workqueue.ErrPermanent

// outbox is where the tasks' messages go: Slack, or the log in shadow mode.
type outbox struct {
	slack  Slack
	chans  channelIDs
	shadow bool
	log    zerolog.Logger
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
		return fmt.Errorf("#%s: %w: %w", channel, errUnresolved, err)
	}
	if id == "" {
		return fmt.Errorf("#%s: %w", channel, errUnresolved)
	}
	if _, err := o.slack.PostMessage(ctx, id, text, slackapi.PostOptions{}); err != nil {
		return fmt.Errorf("post to #%s: %w", channel, err)
	}
	return nil
}

// dm sends text to user in the bot's DM with them.
func (o *outbox) dm(ctx context.Context, user, text string) error {
	ch, err := o.slack.OpenDM(ctx, user)
	if err != nil {
		return fmt.Errorf("open DM: %w", err)
	}
	if _, err := o.slack.PostMessage(ctx, ch, text, slackapi.PostOptions{}); err != nil {
		return fmt.Errorf("DM: %w", err)
	}
	return nil
}

// notSent reports whether a failed post certainly left nothing in Slack:
// the channel did not resolve, conversations.open failed, or Slack answered
// with an error code or a 4xx (a 429 included). A timeout, a cut connection
// or a 5xx may hide a message that went out.
func notSent(err error) bool {
	if errors.Is(err, errUnresolved) {
		return true
	}
	if e, ok := errors.AsType[*slackapi.Error](err); ok {
		return e.Code != "" || (e.Status >= 400 && e.Status < 500)
	}
	return false
}

// deliver posts text for an item the caller has claimed. The post gets its
// own deadline, not ctx's: once claimed, an item no other replica will post
// should go out even if this one just lost the lease. When the post
// certainly failed, release gives the claim back so that the next round
// posts it; when its outcome is unknown, the claim stays (see the package
// comment).
func (r *Runner) deliver(ctx context.Context, task, channel, text string, release func(context.Context) error) error {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.PostTimeout)
	defer cancel()
	err := r.out.post(pctx, task, channel, text)
	if err == nil {
		return nil
	}
	if notSent(err) {
		if rerr := release(pctx); rerr != nil {
			r.log.Error().Str("task", task).Err(rerr).Msg("cannot release the claim of an item that was not posted; it will be missed")
			return errors.Join(err, rerr)
		}
		return err
	}
	r.log.Error().Str("task", task).Str("channel", channel).Err(err).Msg("post outcome unknown; not retrying this item, to never post it twice")
	return err
}
