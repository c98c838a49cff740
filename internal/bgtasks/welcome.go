package bgtasks

import (
	"context"
	"errors"
	"fmt"

	"github.com/gophers/gopherbot/internal/commands"
	"github.com/gophers/gopherbot/internal/slackapi"
)

// Welcome sweep state: the IDs of the members seen by a sweep, and a marker
// that the first sweep (which only records) has finished.
const (
	membersKey     = keyPrefix + "members"
	membersInitKey = keyPrefix + "members:init"
	// membersPage is the users.list page size: large pages keep a big
	// workspace's sweep within few calls of this tier-2 method.
	membersPage = 500
)

// sweepMembers sends the welcome DM to members the consumer missed: Slack
// never resends a team_join that did not reach us. A member is new when no
// sweep saw them before; the first sweep ever only records who is there.
// The welcomed record, shared with the consumer, decides who still needs
// the DM, so nobody is welcomed twice.
func (r *Runner) sweepMembers(ctx context.Context) error {
	n, err := r.rdb.Exists(ctx, membersInitKey).Result()
	if err != nil {
		return fmt.Errorf("welcome: read state: %w", err)
	}
	first := n == 0
	if first && r.opts.DryRun {
		r.log.Info().Str("task", "welcome").Msg("dry run: the first sweep would record the members there are; nothing recorded")
		return nil
	}

	var newcomers []string
	members, pages := 0, 0
	for cursor := ""; ; {
		users, next, err := r.out.slack.ListUsers(ctx, cursor, membersPage)
		if err != nil {
			return fmt.Errorf("welcome: users.list page %d: %w", pages+1, err)
		}
		pages++
		var ids []string
		for _, u := range users {
			if welcomable(u) {
				ids = append(ids, u.ID)
			}
		}
		members += len(ids)
		if len(ids) > 0 {
			if first {
				if err := r.rdb.SAdd(ctx, membersKey, anys(ids)...).Err(); err != nil {
					return fmt.Errorf("welcome: record members: %w", err)
				}
			} else {
				known, err := r.rdb.SMIsMember(ctx, membersKey, anys(ids)...).Result()
				if err != nil {
					return fmt.Errorf("welcome: read members: %w", err)
				}
				for i, k := range known {
					if !k {
						newcomers = append(newcomers, ids[i])
					}
				}
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}

	if first {
		if err := r.rdb.Set(ctx, membersInitKey, r.now().Unix(), 0).Err(); err != nil {
			return fmt.Errorf("welcome: record first sweep: %w", err)
		}
		r.log.Info().Str("task", "welcome").Int("members", members).Int("pages", pages).Msg("first sweep: recorded the members there are; welcoming only newer ones")
		return nil
	}
	if len(newcomers) == 0 {
		return nil
	}
	text := func(ctx context.Context, user string) string {
		ids := commands.ResolveChannels(ctx, r.out.chans, r.cfg.RecommendedChannels, r.log)
		return commands.WelcomeDM(user, r.cfg.RecommendedChannels, ids)
	}
	var errs []error
	for _, u := range newcomers {
		if err := r.welcomeMember(ctx, u, text); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// welcomable says whether a listed member is a person who should be
// welcomed: not a bot (Slackbot included) and not deactivated.
// welcomable leaves out bots, app users and guests: guests see only the
// channels they were invited to, so a list of channels to join is no use.
func welcomable(u slackapi.User) bool {
	return u.ID != "" && !u.IsBot && !u.IsAppUser && !u.Deleted &&
		!u.IsRestricted && !u.IsUltraRestricted && u.ID != "USLACKBOT"
}

// welcomeMember welcomes one member the sweeps had not seen, unless the
// consumer (or an earlier sweep) claimed them. The member is recorded as
// known once the matter is settled: welcomed, welcomed by someone else,
// impossible to DM, or with an outcome we cannot know. A failure that sent
// nothing releases the claim and leaves them unknown, so the next sweep
// tries again.
func (r *Runner) welcomeMember(ctx context.Context, user string, text func(context.Context, string) string) error {
	log := r.log.With().Str("task", "welcome").Str("user", user).Logger()
	known := func() error {
		if r.opts.DryRun {
			return nil
		}
		if err := r.rdb.SAdd(ctx, membersKey, user).Err(); err != nil {
			return fmt.Errorf("welcome: record %s: %w", user, err)
		}
		return nil
	}
	if r.out.shadow {
		log.Info().Str("text", text(ctx, user)).Msg("shadow mode: would send the welcome DM")
		return known()
	}
	// Once sent, the claim is not cut short by ctx: one that Redis made
	// while we stopped listening (the lease lost) would be someone else's
	// to the next leader, and nobody would welcome the member.
	if err := ctx.Err(); err != nil {
		return err
	}
	cctx, ccancel := releaseContext(ctx)
	ok, err := r.welcome.Claim(cctx, user)
	ccancel()
	if err != nil {
		return fmt.Errorf("welcome: %w", err)
	}
	if !ok {
		log.Debug().Msg("already welcomed")
		return known()
	}

	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.PostTimeout)
	defer cancel()
	err = r.out.dm(pctx, user, text(pctx, user))
	switch {
	case err == nil:
		log.Info().Msg("sent the welcome DM the consumer missed")
		return known()
	case notSent(err):
		rctx, rcancel := releaseContext(ctx)
		defer rcancel()
		if rerr := r.welcome.Release(rctx, user); rerr != nil {
			log.Error().Err(rerr).Msg("cannot release the welcome claim; only a later try by this process can still welcome this member")
		}
		if errors.Is(err, errPermanent) && !errors.Is(err, slackapi.ErrTokenRejected) {
			// Retrying cannot help (a deactivated account, a DM refused).
			// A rejected token is another matter: once it is replaced,
			// the member can be welcomed.
			log.Warn().Err(err).Msg("cannot send the welcome DM; not trying again")
			return known()
		}
		return fmt.Errorf("welcome %s: %w", user, err)
	default:
		log.Error().Err(err).Msg("welcome DM outcome unknown; not retrying, to never welcome twice")
		if kerr := known(); kerr != nil {
			return errors.Join(err, kerr)
		}
		return fmt.Errorf("welcome %s: %w", user, err)
	}
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
