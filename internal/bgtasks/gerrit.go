package bgtasks

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// Gerrit state. floor is the submit time (Unix ms) of the newest CL when
// the task first ran (or the time of that run when there was none): nothing
// submitted before it is ever posted. A CL submitted in the same millisecond
// is posted unless the first run saw it: the first run records the CLs it
// saw in seen, which holds the CLs posted or being posted, scored by submit
// time; a CL claimed for posting has its claim's token next to it (see
// setClaim).
const (
	gerritFloorKey = keyPrefix + "gerrit:floor"
	gerritSeenKey  = keyPrefix + "gerrit:seen"
)

const (
	// gerritLate is how much older than the newest CL posted a CL may be
	// and still be posted: Gerrit's search index can show a change a
	// little after a later one. Such a CL is posted out of order, not lost.
	gerritLate = time.Hour
	// gerritPage is the page size of one query; gerritMaxPages bounds a
	// catch-up after a long outage.
	gerritPage     = 100
	gerritMaxPages = 50
	// maxCommitBody bounds the commit message quoted in a post.
	maxCommitBody = 1500
)

// gerritTimeLayout is how Gerrit writes times (UTC).
const gerritTimeLayout = "2006-01-02 15:04:05.000000000"

type gerritTime struct{ time.Time }

func (t *gerritTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseInLocation(gerritTimeLayout, s, time.UTC)
	if err != nil {
		return fmt.Errorf("gerrit time %q: %w", s, err)
	}
	t.Time = v
	return nil
}

// gerritChange is the part of Gerrit's ChangeInfo the task reads.
type gerritChange struct {
	Number          int        `json:"_number"`
	Project         string     `json:"project"`
	Branch          string     `json:"branch"`
	Subject         string     `json:"subject"`
	Status          string     `json:"status"`
	Submitted       gerritTime `json:"submitted"`
	Updated         gerritTime `json:"updated"`
	CurrentRevision string     `json:"current_revision"`
	Revisions       map[string]struct {
		Commit struct {
			Message string `json:"message"`
		} `json:"commit"`
	} `json:"revisions"`
	MoreChanges bool `json:"_more_changes"`
}

func (c gerritChange) submittedMS() int64 { return c.Submitted.UnixMilli() }

func (c gerritChange) message() string {
	return c.Revisions[c.CurrentRevision].Commit.Message
}

// parseGerrit decodes a list of changes, without the )]}' line Gerrit puts
// before every JSON answer against cross-site script inclusion.
func parseGerrit(body []byte) ([]gerritChange, error) {
	body = bytes.TrimPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte(")]}'"))
	var cs []gerritChange
	if err := json.Unmarshal(body, &cs); err != nil {
		return nil, fmt.Errorf("gerrit: decode changes: %w", err)
	}
	return cs, nil
}

// gerritDate writes t for Gerrit's after: and before: operators, which
// take milliseconds at most.
func gerritDate(t time.Time) string {
	return `"` + t.UTC().Format("2006-01-02 15:04:05.000 -0700") + `"`
}

// gerritQuery runs the change search q and returns what it finds, each
// change once, reading up to maxPages pages; more reports that Gerrit had
// more than those.
//
// Gerrit lists changes by last update, newest first, and the list moves
// while we page through it: a change commented on or merged meanwhile
// jumps to the top. Pages taken by offset (S=) then shift under us, and a
// change can fall between two pages: a merged CL lost for good once the
// next round's window has passed its submit time. So the pages after the
// first are bounded by time instead (before: the last update of the page
// before, inclusive; the repeats are dropped by change number), which a
// change leaving or joining the top does not disturb, and what moved to
// the top while we read is read again: changes updated since the newest
// update of the first page (after:, inclusive), by the same rule, until
// a pass is one answer (one answer is one consistent view) or nothing was
// updated since the pass before began.
func (r *Runner) gerritQuery(ctx context.Context, q string, maxPages int) (all []gerritChange, more bool, err error) {
	seen := map[int]bool{}
	pages := 0
	var top time.Time // the newest update of the last pass; zero on the first
	for {
		pass := q
		if !top.IsZero() {
			pass += " after:" + gerritDate(top.Truncate(time.Millisecond))
		}
		var (
			bound     time.Time // before: of the next page; zero on the first
			skip      int       // changes of the list up to bound read already
			passPages int
			passTop   time.Time
		)
		for {
			if pages == maxPages {
				return all, true, nil
			}
			pq := pass
			if !bound.IsZero() {
				pq += " before:" + gerritDate(bound)
			}
			cs, err := r.gerritPage(ctx, pq, skip)
			if err != nil {
				return nil, false, err
			}
			pages++
			passPages++
			for _, c := range cs {
				if !seen[c.Number] {
					seen[c.Number] = true
					all = append(all, c)
				}
			}
			if passPages == 1 && len(cs) > 0 {
				passTop = cs[0].Updated.Time
				if !top.IsZero() && !passTop.After(top) {
					return all, false, nil // nothing moved while the last pass read
				}
			}
			if len(cs) == 0 || !cs[len(cs)-1].MoreChanges {
				break
			}
			// The next page ends the millisecond after the last update
			// read (Gerrit compares milliseconds), so that nothing of
			// that millisecond is left out. When that does not move the
			// bound down (a page of changes updated within a millisecond
			// or two, or no update time), the offset goes on within it.
			last := cs[len(cs)-1].Updated.Time
			next := last.Truncate(time.Millisecond).Add(time.Millisecond)
			if last.IsZero() || (!bound.IsZero() && !next.Before(bound)) {
				skip += len(cs)
			} else {
				bound, skip = next, 0
			}
		}
		if passPages == 1 || passTop.IsZero() {
			return all, false, nil
		}
		top = passTop
	}
}

// gerritPage reads one page of the change search q, skipping the first
// skip changes.
func (r *Runner) gerritPage(ctx context.Context, q string, skip int) ([]gerritChange, error) {
	v := url.Values{
		"q": {q},
		"n": {strconv.Itoa(gerritPage)},
		"o": {"CURRENT_REVISION", "CURRENT_COMMIT"},
	}
	if skip > 0 {
		v.Set("S", strconv.Itoa(skip))
	}
	body, err := r.get(ctx, r.cfg.GerritURL+"/changes/?"+v.Encode(), "application/json")
	if err != nil {
		return nil, fmt.Errorf("gerrit: %w", err)
	}
	return parseGerrit(body)
}

// pollGerrit posts the CLs merged since the last round, oldest first.
func (r *Runner) pollGerrit(ctx context.Context) error {
	floor, err := r.rdb.Get(ctx, gerritFloorKey).Int64()
	if errors.Is(err, redis.Nil) {
		return r.firstGerrit(ctx)
	}
	if err != nil {
		return fmt.Errorf("gerrit: read state: %w", err)
	}

	mark := floor
	top, err := r.rdb.ZRevRangeWithScores(ctx, gerritSeenKey, 0, 0).Result()
	if err != nil {
		return fmt.Errorf("gerrit: read state: %w", err)
	}
	if len(top) > 0 && int64(top[0].Score) > mark {
		mark = int64(top[0].Score)
	}
	since := mark - gerritLate.Milliseconds()

	// after: filters on the last update, which is never before the
	// submission, so every CL submitted since is in the answer.
	q := "status:merged after:" + gerritDate(time.UnixMilli(since))
	changes, more, err := r.gerritQuery(ctx, q, gerritMaxPages)
	if err != nil {
		return err
	}
	if more {
		r.log.Warn().Str("task", "gerrit").Int("changes", len(changes)).Msg("more merged CLs than a catch-up reads; the oldest are not posted")
	}
	changes = slices.DeleteFunc(changes, func(c gerritChange) bool {
		return c.Status != "MERGED" || c.Submitted.IsZero() || c.submittedMS() < floor || c.submittedMS() < since
	})
	slices.SortFunc(changes, func(a, b gerritChange) int {
		return cmp.Or(a.Submitted.Compare(b.Submitted.Time), cmp.Compare(a.Number, b.Number))
	})

	for _, c := range changes {
		item := fmt.Sprintf("CL %d", c.Number)
		cl := r.newClaim(gerritSeenKey, strconv.Itoa(c.Number))
		ours, err := r.claimItem(ctx, cl, c.submittedMS())
		if err != nil {
			return fmt.Errorf("gerrit: claim %s: %w", item, err)
		}
		if !ours {
			continue // posted before, or by another replica
		}
		err = r.deliver(ctx, "gerrit", item, r.cfg.GerritChannel, gerritText(c), r.releaser("gerrit", cl))
		switch {
		case errors.Is(err, errRefusedItem):
			continue // logged; the next CLs go on
		case err != nil:
			return fmt.Errorf("gerrit: post %s: %w", item, err)
		}
		r.log.Info().Str("task", "gerrit").Int("cl", c.Number).Str("project", c.Project).Msg("posted merged CL")
	}

	// Forget what can no longer be a candidate; the newest stays as the mark.
	if r.opts.DryRun {
		return nil
	}
	if err := r.rdb.ZRemRangeByScore(ctx, gerritSeenKey, "-inf", "("+strconv.FormatInt(since-gerritLate.Milliseconds(), 10)).Err(); err != nil {
		return fmt.Errorf("gerrit: prune: %w", err)
	}
	return nil
}

// firstGerrit records the newest merged CL as the floor and posts nothing:
// a new installation must not announce the project's history.
func (r *Runner) firstGerrit(ctx context.Context) error {
	// One page is enough: only the newest matter, and nothing is posted.
	changes, _, err := r.gerritQuery(ctx, "status:merged", 1)
	if err != nil {
		return err
	}
	var zs []redis.Z
	newest := int64(0)
	for _, c := range changes {
		if c.Submitted.IsZero() {
			continue
		}
		newest = max(newest, c.submittedMS())
		zs = append(zs, redis.Z{Score: float64(c.submittedMS()), Member: strconv.Itoa(c.Number)})
	}
	// Without a dated CL (none merged yet, or Gerrit left the submit times
	// out), the floor is now: a floor of 0 would post the whole history.
	floor := r.now().UnixMilli()
	if len(zs) > 0 {
		floor = newest
	}
	if r.opts.DryRun {
		r.log.Info().Str("task", "gerrit").Time("floor", time.UnixMilli(floor)).Int("changes", len(changes)).
			Msg("dry run: the first run would record the newest merged CL; nothing recorded")
		return nil
	}
	if len(zs) > 0 {
		if err := r.rdb.ZAddNX(ctx, gerritSeenKey, zs...).Err(); err != nil {
			return fmt.Errorf("gerrit: record first run: %w", err)
		}
	}
	set, err := r.rdb.SetNX(ctx, gerritFloorKey, floor, 0).Result()
	if err != nil {
		return fmt.Errorf("gerrit: record first run: %w", err)
	}
	if set {
		r.log.Info().Str("task", "gerrit").Time("floor", time.UnixMilli(floor)).Int("changes", len(changes)).
			Msg("first run: recorded the newest merged CL; posting only newer ones")
	}
	return nil
}

// gerritText is the post announcing one merged CL.
func gerritText(c gerritChange) string {
	subject := c.Subject
	if c.Project != "" && c.Project != "go" {
		subject = "[" + c.Project + "] " + subject
	}
	// Release branch CLs name their branch in the subject by convention.
	if c.Branch != "" && c.Branch != "master" && c.Branch != "main" && !strings.Contains(subject, c.Branch) {
		subject += " (" + c.Branch + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CL %d merged: %s\nhttps://go.dev/cl/%d", c.Number, slackEscape(subject), c.Number)
	if body := commitBody(c.message()); body != "" {
		body = strings.ReplaceAll(body, "```", "'''")
		b.WriteString("\n```\n" + slackEscape(body) + "\n```")
	}
	return b.String()
}

// trailer matches a git trailer line such as "Change-Id: I..." or
// "Reviewed-by: ...".
var trailer = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*: \S`)

// commitBody is a commit message without its subject line and without its
// closing block of trailers, cut to maxCommitBody characters.
func commitBody(msg string) string {
	lines := strings.Split(strings.ReplaceAll(msg, "\r\n", "\n"), "\n")
	if len(lines) > 0 {
		lines = lines[1:] // the subject, already in the post
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	// The last paragraph goes when every line of it is a trailer.
	start := len(lines)
	for start > 0 && strings.TrimSpace(lines[start-1]) != "" {
		start--
	}
	if start < len(lines) && !slices.ContainsFunc(lines[start:], func(l string) bool { return !trailer.MatchString(l) }) {
		lines = lines[:start]
	}
	body := strings.Trim(strings.Join(lines, "\n"), "\n")
	if utf8.RuneCountInString(body) > maxCommitBody {
		cut := 0
		for i := range body {
			if cut == maxCommitBody {
				body = strings.TrimRight(body[:i], " \n") + "…"
				break
			}
			cut++
		}
	}
	return body
}

// slackEscape escapes the three characters Slack's message format reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
