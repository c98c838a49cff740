package bgtasks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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

	// welcomeMaxDMs is the most welcome DMs one sweep sends. The consumer
	// welcomes nearly every newcomer from their team_join; the sweep only
	// catches up the few whose event never reached us, a handful even
	// after an outage of a day (the workspace gets a few dozen members a
	// day). Many more members without a welcome at once mean that Redis
	// lost the sweep's state (the known members, the welcomed record)
	// but not the marker of the first sweep, or was restored from an old
	// backup: the members look new, and most have been here for years or
	// were welcomed already.
	//
	// A sweep with more than welcomeMaxDMs to welcome sends none of them
	// and records them all as known, as a first sweep does, with an error
	// in the log that says how many. It sends none rather than the first
	// welcomeMaxDMs, unlike the feeds (which post the newest items):
	// users.list does not say who joined when, so those would be long-time
	// members picked at random, or members welcomed twice. Nor are the
	// members over the cap kept for later sweeps, which would DM the
	// whole workspace, welcomeMaxDMs at a time. What keeps a member who
	// really just joined from being left out is that the sweep writes
	// nothing in the welcomed record for the members it skips: the
	// consumer reads only that record, so their team_join, queued or
	// being retried, still welcomes them (a dead-lettered one too, once
	// requeued with queuectl), and a member the consumer holds a fresh
	// claim on is not counted here at all (see welcomeSettle). Only a
	// member whose team_join never reached us, joining just when the
	// state was lost, goes unwelcomed: the price of never mass-DMing.
	// It is a constant: the settings contract has no place for it.
	welcomeMaxDMs = 30

	// welcomeSettleMin is the least age of someone else's welcome claim
	// for the sweep to count its member as done; see welcomeSettle.
	welcomeSettleMin = 6 * time.Hour
	// queueMaxRetryDelay is the consumer queue's longest wait between two
	// deliveries of an event (workqueue.Options.MaxRetryDelay, which the
	// consumer leaves at its default).
	queueMaxRetryDelay = 5 * time.Minute
)

// welcomeFloodMsg is the error logged when a sweep finds more members to
// welcome than welcomeMaxDMs.
const welcomeFloodMsg = "more members without a welcome than one sweep may DM: was the sweep's state in Redis lost? " +
	"Sending none of them a DM and recording them all as known; a team_join still queued or retried welcomes its member all the same"

// sweepMembers sends the welcome DM to members the consumer missed: Slack
// never resends a team_join that did not reach us. A member is new until a
// sweep has settled their welcome; the first sweep ever only records who
// is there. The welcomed record, shared with the consumer, decides who
// still needs the DM, so nobody is welcomed twice, and a sweep sends at
// most welcomeMaxDMs. Members known to be done cost no Redis call of their
// own: each users.list page is checked in one.
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

	// Who still needs a welcome is for the welcomed record to say. A
	// member nobody claimed is welcomed now. One claimed long enough ago
	// is done: recorded as known, never looked at again. One claimed
	// recently may be the consumer's, whose DM can still fail and whose
	// claim would then be given back: they stay unknown, to be looked at
	// again by the next sweep, until the claim settles or is gone.
	claimedAt, err := r.welcome.ClaimedAt(ctx, newcomers)
	if err != nil {
		return err
	}
	settle := r.welcomeSettle()
	now := r.now()
	var unclaimed, settled, recent []string
	for _, u := range newcomers {
		at, ok := claimedAt[u]
		switch {
		case !ok:
			unclaimed = append(unclaimed, u)
		case now.Sub(at) >= settle:
			settled = append(settled, u)
		default:
			recent = append(recent, u)
		}
	}
	if len(unclaimed) > welcomeMaxDMs {
		r.log.Error().Str("task", "welcome").Int("unwelcomed", len(unclaimed)).Int("max_dms", welcomeMaxDMs).
			Int("members", members).Msg(welcomeFloodMsg)
		settled = append(settled, unclaimed...)
		unclaimed = nil
	}
	if err := r.recordKnown(ctx, settled); err != nil {
		return err
	}

	text := func(ctx context.Context, user string) string {
		ids := commands.ResolveChannels(ctx, r.out.chans, r.cfg.RecommendedChannels, r.log)
		return commands.WelcomeDM(user, r.cfg.RecommendedChannels, ids)
	}
	var errs []error
	// The recent claims are tried too: one may be this replica's own,
	// whose answer was lost (see welcomed), which only our Claim wins
	// back. Shadow mode claims nothing, so it has nothing to win back,
	// and must not say it would welcome someone claimed.
	if !r.out.shadow {
		unclaimed = append(unclaimed, recent...)
	}
	for _, u := range unclaimed {
		if err := r.welcomeMember(ctx, u, text); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// welcomeSettle is how old someone else's welcome claim must be for the
// sweep to count its member as done. A younger claim may be the
// consumer's while it tries the DM: a DM that fails gives the claim back,
// the queue retries the event, and when every delivery failed it
// dead-letters it. The sweep must still be there then, or nobody welcomes
// the member. So the claim must outlast the consumer's tries: up to
// QUEUE_MAX_DELIVERIES deliveries, each up to HANDLER_TIMEOUT and the
// release after it, with waits between them of at most the queue's retry
// cap or, after a consumer died, QUEUE_CLAIM_IDLE. A claim whose answer
// was lost can also be won back by its holder's next delivery within an
// hour (see welcomed) and given back after it. Twice the consumer's tries
// and never under welcomeSettleMin covers both, and any clock skew
// between the consumer (which dated the claim) and us. A claim that old
// is a DM sent, or one whose outcome nobody knows: never sent again.
func (r *Runner) welcomeSettle() time.Duration {
	delivery := r.cfg.HandlerTimeout + releaseTimeout + max(queueMaxRetryDelay, r.cfg.ClaimIdle)
	return max(welcomeSettleMin, 2*time.Duration(r.cfg.MaxDeliveries)*delivery)
}

// recordKnown records users as known to the sweeps, done with, in one
// round trip; a dry run records nothing.
func (r *Runner) recordKnown(ctx context.Context, users []string) error {
	if len(users) == 0 || r.opts.DryRun {
		return nil
	}
	pipe := r.rdb.Pipeline()
	for c := range slices.Chunk(users, membersPage) {
		pipe.SAdd(ctx, membersKey, anys(c)...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("welcome: record members: %w", err)
	}
	return nil
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
// known once the matter is settled by this sweep: welcomed, impossible to
// DM, or with an outcome we cannot know. A failure that sent nothing
// releases the claim and leaves them unknown, so the next sweep tries
// again. So does a claim someone else holds: it may be the consumer's,
// given back if its DM fails, and it is for sweepMembers to count the
// member as done once the claim has settled.
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
		log.Debug().Msg("claimed by someone else; looking again next sweep, until the claim settles")
		return nil
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
