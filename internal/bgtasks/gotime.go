package bgtasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// goTimeKey holds the last live announcement: "<ms> <token>" or
// "<ms> <token> <previous ms>", where ms is its Unix time in milliseconds,
// token the claim's random token and previous ms the announcement before
// it, which a release puts back. A record written before claims had tokens
// is "<ms>" alone, and is read the same.
const goTimeKey = keyPrefix + "gotime:announced"

// goTimeQuiet is how long after one announcement no other is made: a show
// is live for an hour or two and polled every minute, and a status stuck on
// "live" must not announce every minute either.
const goTimeQuiet = 24 * time.Hour

// liveStatus is the answer of the live status URL.
type liveStatus struct {
	Live  bool   `json:"live"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// claimGoTime takes the day's announcement: it records now unless the last
// announcement is less than the quiet time old, and returns the previous
// announcement's time ("" for none) for a release. A record with our token
// is our own claim (a retry of this very call, whose first reply was lost,
// or a claim of ours whose outcome we did not learn): it is ours, with the
// time and the previous time it kept.
//
// KEYS[1] goTimeKey; ARGV[1] now (ms), ARGV[2] the quiet time (ms), ARGV[3]
// the token. Returns {1, previous, time} when the claim is ours, {0,
// record} when not.
var claimGoTime = redis.NewScript(`
local last = redis.call('GET', KEYS[1])
local prev = ''
if last then
  local ms, tok, before = string.match(last, '^(%d+) (%S+) ?(%d*)$')
  if not ms then ms = string.match(last, '^(%d+)$') end
  if not ms then return redis.error_reply('unreadable record ' .. last) end
  if tok == ARGV[3] then return {1, before, ms} end
  if tonumber(ARGV[1]) - tonumber(ms) < tonumber(ARGV[2]) then return {0, last} end
  prev = ms
end
local rec = ARGV[1] .. ' ' .. ARGV[3]
if prev ~= '' then rec = rec .. ' ' .. prev end
redis.call('SET', KEYS[1], rec)
return {1, prev, ARGV[1]}
`)

// goTimeRecord is the record claimGoTime writes.
func goTimeRecord(now, token, prev string) string {
	if prev == "" {
		return now + " " + token
	}
	return now + " " + token + " " + prev
}

// releaseGoTime puts the previous record back when ours is still there.
// When the previous one is there already (a retry of a release whose reply
// was lost), it is done too.
//
// KEYS[1] goTimeKey; ARGV[1] our record, ARGV[2] the previous time ("" for
// none). Returns 0 when the record is someone else's and was left alone.
var releaseGoTime = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
  return 1
end
if (not v and ARGV[2] == '') or v == ARGV[2] then return 1 end
return 0
`)

// pollGoTime announces the show when its live stream is on, at most once a
// day.
func (r *Runner) pollGoTime(ctx context.Context) error {
	body, err := r.get(ctx, r.cfg.GoTimeStatusURL, "application/json")
	if err != nil {
		return fmt.Errorf("gotime: %w", err)
	}
	var st liveStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("gotime: decode status: %w", err)
	}
	if !st.Live {
		return nil
	}

	if r.opts.DryRun {
		return r.dryGoTime(ctx, st)
	}

	now := fmt.Sprint(r.now().UnixMilli())
	// The token of a claim whose outcome we did not learn, if any (see
	// claimTokens); the claim is not cut short by ctx, as claimItem's.
	token := r.tokens.take(goTimeKey)
	cctx, cancel := releaseContext(ctx)
	defer cancel()
	res, err := claimGoTime.Run(cctx, r.rdb, []string{goTimeKey}, now, goTimeQuiet.Milliseconds(), token).Slice()
	if err != nil {
		r.tokens.keep(goTimeKey, token)
		return fmt.Errorf("gotime: claim: %w", err)
	}
	if len(res) < 2 {
		return fmt.Errorf("gotime: claim: unexpected answer %v", res)
	}
	if n, _ := res[0].(int64); n == 0 {
		return nil // announced within the day
	}
	prev, _ := res[1].(string)
	if len(res) > 2 {
		if at, _ := res[2].(string); at != "" {
			now = at // the time of our claim, when it was an earlier one
		}
	}
	release := func(ctx context.Context) error {
		ours, err := releaseGoTime.Run(ctx, r.rdb, []string{goTimeKey}, goTimeRecord(now, token, prev), prev).Int()
		if err != nil {
			r.tokens.keep(goTimeKey, token) // the claim may be there, ours
		}
		if err == nil && ours == 0 {
			r.log.Warn().Str("task", "gotime").Msg("the claim of an announcement that was not posted is someone else's now; left alone")
		}
		return err
	}
	err = r.deliver(ctx, "gotime", "live show "+strconv.Quote(st.Title), r.cfg.GoTimeChannel, goTimeText(st, r.cfg.GoTimeScheduleURL), release)
	switch {
	case errors.Is(err, errRefusedItem):
		return nil // logged; the day's claim stays
	case err != nil:
		return fmt.Errorf("gotime: post: %w", err)
	}
	r.log.Info().Str("task", "gotime").Str("title", st.Title).Msg("announced the live show")
	return nil
}

// dryGoTime is pollGoTime's dry run for a show that is live: it logs the
// announcement unless the day's was made, and takes nothing.
func (r *Runner) dryGoTime(ctx context.Context, st liveStatus) error {
	last, err := r.rdb.Get(ctx, goTimeKey).Result()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return fmt.Errorf("gotime: read state: %w", err)
	default:
		ms, _, _ := strings.Cut(last, " ")
		at, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			return fmt.Errorf("gotime: unreadable record %q", last)
		}
		if r.now().UnixMilli()-at < goTimeQuiet.Milliseconds() {
			return nil // announced within the day
		}
	}
	return r.out.post(ctx, "gotime", r.cfg.GoTimeChannel, goTimeText(st, r.cfg.GoTimeScheduleURL))
}

// goTimeText is the live announcement: the stream's link from the status,
// and the schedule of the next shows.
func goTimeText(st liveStatus, schedule string) string {
	var b strings.Builder
	b.WriteString(":studio_microphone: Go Time is live right now")
	if t := strings.TrimSpace(st.Title); t != "" {
		b.WriteString(": " + slackEscape(t))
	}
	b.WriteString("\nCome listen along and chat with the panel")
	// Links are escaped like any text (Slack reads &amp; in a link as &):
	// the status is another site's answer, and a "<" in it must not open
	// a mention.
	switch {
	case st.URL != "":
		b.WriteString(": " + slackEscape(st.URL))
	case schedule != "":
		b.WriteString(": " + slackEscape(schedule))
	default:
		b.WriteString(".")
	}
	if schedule != "" && st.URL != "" && schedule != st.URL {
		b.WriteString("\nMissed it? The next shows are listed at " + slackEscape(schedule))
	}
	return b.String()
}
