package bgtasks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// goTimeKey holds the Unix time (ms) of the last live announcement.
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
// record ("" for none) for a release.
var claimGoTime = redis.NewScript(`
local last = redis.call('GET', KEYS[1])
if last and tonumber(ARGV[1]) - tonumber(last) < tonumber(ARGV[2]) then return {0, last} end
redis.call('SET', KEYS[1], ARGV[1])
return {1, last or ''}
`)

// releaseGoTime puts the previous record back when ours is still there.
var releaseGoTime = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1
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

	now := fmt.Sprint(r.now().UnixMilli())
	res, err := claimGoTime.Run(ctx, r.rdb, []string{goTimeKey}, now, goTimeQuiet.Milliseconds()).Slice()
	if err != nil {
		return fmt.Errorf("gotime: claim: %w", err)
	}
	if len(res) != 2 {
		return fmt.Errorf("gotime: claim: unexpected answer %v", res)
	}
	if n, _ := res[0].(int64); n == 0 {
		return nil // announced within the day
	}
	prev, _ := res[1].(string)
	release := func(ctx context.Context) error {
		return releaseGoTime.Run(ctx, r.rdb, []string{goTimeKey}, now, prev).Err()
	}
	if err := r.deliver(ctx, "gotime", r.cfg.GoTimeChannel, goTimeText(st, r.cfg.GoTimeScheduleURL), release); err != nil {
		return fmt.Errorf("gotime: post: %w", err)
	}
	r.log.Info().Str("task", "gotime").Str("title", st.Title).Msg("announced the live show")
	return nil
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
	switch {
	case st.URL != "":
		b.WriteString(": " + st.URL)
	case schedule != "":
		b.WriteString(": " + schedule)
	default:
		b.WriteString(".")
	}
	if schedule != "" && st.URL != "" && schedule != st.URL {
		b.WriteString("\nMissed it? The next shows are listed at " + schedule)
	}
	return b.String()
}
