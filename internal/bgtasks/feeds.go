package bgtasks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	"github.com/redis/go-redis/v9"
	"golang.org/x/net/html/charset"

	"github.com/gophers/gopherbot/config"
)

const (
	// feedKeep is the least number of item IDs remembered per feed; the
	// oldest beyond it (and beyond twice the feed's length) are forgotten.
	feedKeep = 1000
	// maxFeedText bounds the text quoted from an untitled item (a toot).
	maxFeedText = 500
	// feedMaxPosts is the most items one feed posts in one round. A
	// podcast, a blog or a social account publishes a few items between
	// two polls (a short thread of toots at most); many more new items at
	// once mean the site changed the IDs or links of all its items (a
	// redesign, a move), and each old item looks new. Only the newest
	// feedMaxPosts are posted then; the others are recorded as seen, with
	// a warning that says how many, rather than held for later rounds:
	// the channel's readers want news, and dozens of reposts of old
	// episodes spread over an afternoon are no better than in one burst.
	// FEED_MAX_AGE already leaves out dated items that are old; this cap
	// also covers feeds without dates. It is a constant: the settings
	// contract has no place for it, and no feed we know needs another.
	feedMaxPosts = 5
)

// feedKeys names the state of one feed: seen is the set of item IDs posted
// or known (scored by when they were first seen; an item claimed for posting
// has its claim's token next to it, see setClaim), init marks that the first
// round ran. The key hashes channel and URL, so the same feed sent to two
// channels is tracked twice and a changed URL starts afresh.
func feedKeys(f config.Feed) (seen, init string) {
	h := sha256.Sum256([]byte(f.Channel + "\x00" + f.URL))
	base := keyPrefix + "feed:" + hex.EncodeToString(h[:8])
	return base + ":seen", base + ":init"
}

// feedItem is an entry of a feed, reduced to what the task needs.
type feedItem struct {
	id, title, link, text string
	date                  *time.Time // published, else updated; nil when the feed gives none
}

// pollFeed posts the new items of one feed, oldest first.
func (r *Runner) pollFeed(ctx context.Context, f config.Feed) error {
	shown := config.RedactURL(f.URL)
	a, err := r.fetch(ctx, f.URL, "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5")
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	base := a.url
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(xmlUTF8(a.body, a.contentType)))
	if err != nil {
		return fmt.Errorf("feed %s: parse: %w", shown, err)
	}
	items := feedItems(feed, base)
	seenKey, initKey := feedKeys(f)
	now := r.now()

	n, err := r.rdb.Exists(ctx, initKey).Result()
	if err != nil {
		return fmt.Errorf("feed: read state: %w", err)
	}
	if n == 0 && r.opts.DryRun {
		r.log.Info().Str("task", "feed").Str("url", shown).Int("items", len(items)).Msg("dry run: the first run would record the items there are; nothing recorded")
		return nil
	}
	if n == 0 {
		// First round: what is there now is the backlog, not news.
		if len(items) > 0 {
			zs := make([]redis.Z, len(items))
			for i, it := range items {
				zs[i] = redis.Z{Score: float64(now.UnixMilli()), Member: it.id}
			}
			if err := r.rdb.ZAddNX(ctx, seenKey, zs...).Err(); err != nil {
				return fmt.Errorf("feed: record first run: %w", err)
			}
		}
		if err := r.rdb.SetNX(ctx, initKey, now.Unix(), 0).Err(); err != nil {
			return fmt.Errorf("feed: record first run: %w", err)
		}
		r.log.Info().Str("task", "feed").Str("url", shown).Int("items", len(items)).Msg("first run: recorded the items there are; posting only newer ones")
		return nil
	}

	title := feedTitle(feed.Title)
	if title == "" {
		title = base.Host
	}
	var recent []feedItem
	for _, it := range items {
		if r.cfg.FeedMaxAge > 0 && it.date != nil && now.Sub(*it.date) > r.cfg.FeedMaxAge {
			continue
		}
		recent = append(recent, it)
	}
	// An item whose claim we made without learning the outcome is in
	// the set, but is still ours to post (see claimTokens).
	fresh, err := unseenItems(ctx, r.rdb, seenKey, recent, func(id string) bool {
		return r.tokens.has(setClaim{set: seenKey, member: id}.tokenKey())
	})
	if err != nil {
		return fmt.Errorf("feed: read state: %w", err)
	}
	if held := len(fresh) - feedMaxPosts; held > 0 {
		// Recorded before anything is posted: a round that fails
		// half-way must not find the held items new again and post some.
		zs := make([]redis.Z, held)
		for i, it := range fresh[:held] {
			zs[i] = redis.Z{Score: float64(now.UnixMilli()), Member: it.id}
		}
		if !r.opts.DryRun {
			if err := r.rdb.ZAddNX(ctx, seenKey, zs...).Err(); err != nil {
				return fmt.Errorf("feed: record held-back items: %w", err)
			}
		}
		r.log.Warn().Str("task", "feed").Str("url", shown).Int("new", len(fresh)).Int("held_back", held).Int("max_posts", feedMaxPosts).
			Msg("more new items than one round posts; the oldest are recorded as seen, not posted")
		fresh = fresh[held:]
	}
	for _, it := range fresh {
		fc := r.newClaim(seenKey, it.id)
		ours, err := r.claimItem(ctx, fc, now.UnixMilli())
		if err != nil {
			return fmt.Errorf("feed: claim %s: %w", it.id, err)
		}
		if !ours {
			continue
		}
		err = r.deliver(ctx, "feed", it.id, f.Channel, feedText(title, it), r.releaser("feed", fc))
		switch {
		case errors.Is(err, errRefusedItem):
			continue // logged; the newer items go on
		case err != nil:
			return fmt.Errorf("feed %s: post %s: %w", shown, it.id, err)
		}
		r.log.Info().Str("task", "feed").Str("url", shown).Str("item", it.id).Msg("posted feed item")
	}

	if r.opts.DryRun {
		return nil
	}
	keep := max(feedKeep, 2*len(items))
	if err := r.rdb.ZRemRangeByRank(ctx, seenKey, 0, int64(-keep-1)).Err(); err != nil {
		return fmt.Errorf("feed: prune: %w", err)
	}
	return nil
}

// unseenItems returns the items whose IDs are not in the set key, or are
// ours (a claim of ours whose outcome we do not know), in their order,
// each ID once.
func unseenItems(ctx context.Context, rdb redis.UniversalClient, key string, items []feedItem, ours func(id string) bool) ([]feedItem, error) {
	if len(items) == 0 {
		return nil, nil
	}
	args := []any{"ZMSCORE", key}
	for _, it := range items {
		args = append(args, it.id)
	}
	scores, err := rdb.Do(ctx, args...).Slice()
	if err != nil {
		return nil, err
	}
	if len(scores) != len(items) {
		return nil, fmt.Errorf("ZMSCORE answered %d scores for %d items", len(scores), len(items))
	}
	var out []feedItem
	dup := map[string]bool{}
	for i, sc := range scores {
		if (sc == nil || ours(items[i].id)) && !dup[items[i].id] {
			dup[items[i].id] = true
			out = append(out, items[i])
		}
	}
	return out, nil
}

// feedItems turns the parsed feed, fetched from base, into items, oldest
// first. Feeds list the newest first; when every item is dated the dates
// decide.
func feedItems(feed *gofeed.Feed, base *url.URL) []feedItem {
	var items []feedItem
	for _, it := range slices.Backward(feed.Items) {
		fi := feedItem{
			id:    strings.TrimSpace(it.GUID),
			title: feedTitle(it.Title),
			link:  strings.TrimSpace(it.Link),
			date:  it.PublishedParsed,
		}
		if fi.date == nil {
			fi.date = it.UpdatedParsed
		}
		fi.text = it.Description
		if fi.text == "" {
			fi.text = it.Content
		}
		if fi.id == "" {
			fi.id = fi.link // as written: the ID must not change with the feed's address
		}
		if fi.id == "" {
			h := sha256.Sum256([]byte(strings.TrimSpace(it.Title) + "\x00" + it.Published + "\x00" + fi.text))
			fi.id = "sha256:" + hex.EncodeToString(h[:12])
		}
		fi.link = absLink(base, fi.link)
		items = append(items, fi)
	}
	if !slices.ContainsFunc(items, func(it feedItem) bool { return it.date == nil }) {
		slices.SortStableFunc(items, func(a, b feedItem) int { return a.date.Compare(*b.date) })
	}
	return items
}

// xmlDecl is an XML declaration that names the document's encoding.
var xmlDecl = regexp.MustCompile(`^\x{FEFF}?\s*<\?xml[^>]*\sencoding\s*=`)

// xmlUTF8 is an XML document in UTF-8, given the Content-Type it came
// with. A document that names its encoding itself is left to the parser,
// which reads the declaration; so is one that is valid UTF-8 already
// (servers often add a wrong default charset). Otherwise the charset of
// the Content-Type decides, as RFC 7303 says: without it the parser
// would fail on the first accented letter.
func xmlUTF8(body []byte, contentType string) []byte {
	_, params, err := mime.ParseMediaType(contentType)
	label := strings.ToLower(params["charset"])
	if err != nil || label == "" || label == "utf-8" || label == "utf8" || utf8.Valid(body) || xmlDecl.Match(body) {
		return body
	}
	rd, err := charset.NewReaderLabel(label, bytes.NewReader(body))
	if err != nil {
		return body // an unknown charset: the parser says what is wrong
	}
	out, err := io.ReadAll(rd)
	if err != nil {
		return body
	}
	return out
}

// feedTitle is a feed's or an item's title as text, on one line. Titles
// are often HTML even where the format says text (an Atom title of type
// "html", an RSS title in CDATA): their tags go, else "<code>" would show,
// and their entities are decoded, else "&amp;" would. The feed does not
// tell us which titles are HTML, so only the tags of HTML's inline
// elements go: "x < y" and "Episode 4 <live>" are text.
func feedTitle(s string) string {
	s = titleTag.ReplaceAllString(s, "")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

// titleTag is a tag of the HTML elements found in titles.
var titleTag = regexp.MustCompile(`(?i)</?(?:a|abbr|b|bdi|bdo|big|br|cite|code|del|dfn|em|font|i|ins|kbd|mark|q|s|samp|small|span|strike|strong|sub|sup|time|tt|u|var|wbr)(?:\s[^<>]*)?/?>`)

// absLink resolves a relative link against the feed's address (RFC 4287
// for Atom; what readers do for RSS). A link that is no URL is kept as it
// is: it is escaped when posted.
func absLink(base *url.URL, link string) string {
	if link == "" || base == nil {
		return link
	}
	u, err := url.Parse(link)
	if err != nil || u.IsAbs() {
		return link
	}
	return base.ResolveReference(u).String()
}

// feedText is the post for one item: the title and link of a podcast
// episode or article, or the text of an untitled post (a toot) and its link.
func feedText(feedTitle string, it feedItem) string {
	var b strings.Builder
	if it.title != "" {
		fmt.Fprintf(&b, "New from %s: %s", slackEscape(feedTitle), slackEscape(it.title))
	} else {
		fmt.Fprintf(&b, "New from %s:", slackEscape(feedTitle))
		if t := plainText(it.text); t != "" {
			for line := range strings.SplitSeq(t, "\n") {
				b.WriteString("\n> " + slackEscape(line))
			}
		}
	}
	if it.link != "" {
		// Escaped like any text: Slack reads a link's &amp; as &, and
		// a "<" in a site's link must not open a mention.
		b.WriteString("\n" + slackEscape(it.link))
	}
	return b.String()
}

var (
	htmlBreak = regexp.MustCompile(`(?i)<br\s*/?>|</p>|</li>`)
	htmlTag   = regexp.MustCompile(`<[^>]*>`)
	blanks    = regexp.MustCompile(`[ \t]+`)
	newlines  = regexp.MustCompile(`\n{3,}`)
)

// plainText turns the HTML of a feed item into short plain text.
func plainText(s string) string {
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = htmlTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = blanks.ReplaceAllString(s, " ")
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	s = newlines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxFeedText {
		n := 0
		for i := range s {
			if n == maxFeedText {
				s = strings.TrimSpace(s[:i]) + "…"
				break
			}
			n++
		}
	}
	return s
}
