package bgtasks

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/fakeweb"
	"github.com/gophers/gopherbot/internal/slackfake"
)

func TestFeeds(t *testing.T) {
	for _, tt := range []struct {
		name    string
		feed    func(e *env) *fakeweb.Feed
		channel string
		title   string
	}{
		{"RSS", func(e *env) *fakeweb.Feed { return e.rss }, "gotimefm", "Go Time"},
		{"Atom", func(e *env) *fakeweb.Feed { return e.atom }, "random", "The Go Blog"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.FeedPollInterval = time.Hour
			feed := tt.feed(e)
			now := time.Now()
			feed.Add(
				fakeweb.Item{ID: "ep-1", Title: "Episode 1", Link: "https://example.com/1", Published: now.Add(-48 * time.Hour)},
				fakeweb.Item{ID: "ep-2", Title: "Episode 2", Link: "https://example.com/2", Published: now.Add(-24 * time.Hour)},
			)
			r := e.runner("a", Options{})
			ctx := context.Background()
			round := func() {
				t.Helper()
				if err := r.RunTask(ctx, "feed"); err != nil {
					t.Fatal(err)
				}
			}

			round() // first run: the backlog is not news
			if got := e.posts(tt.channel); len(got) != 0 {
				t.Fatalf("first run posted %q; want nothing", got)
			}

			feed.Add(
				// Too old to announce, though new to us.
				fakeweb.Item{ID: "ep-0", Title: "Episode 0", Link: "https://example.com/0", Published: now.Add(-30 * 24 * time.Hour)},
				fakeweb.Item{ID: "ep-4", Title: "Episode 4 <live>", Link: "https://example.com/4", Published: now.Add(-time.Minute)},
				fakeweb.Item{ID: "ep-3", Title: "Episode 3", Link: "https://example.com/3", Published: now.Add(-time.Hour)},
				// No ID: known by its link.
				fakeweb.Item{Title: "Bonus", Link: "https://example.com/bonus", Published: now},
			)
			round()
			round()
			feed.Remove("ep-3") // gone from the feed: nothing changes
			round()

			want := []string{
				"New from " + tt.title + ": Episode 3\nhttps://example.com/3",
				"New from " + tt.title + ": Episode 4 &lt;live&gt;\nhttps://example.com/4",
				"New from " + tt.title + ": Bonus\nhttps://example.com/bonus",
			}
			if diff := cmp.Diff(want, e.posts(tt.channel)); diff != "" {
				t.Errorf("posts (-want +got):\n%s", diff)
			}
		})
	}
}

// oneFeed returns an env with one feed and a runner that has made that
// feed's first round (which posts nothing).
func oneFeed(t *testing.T) (*env, *Runner) {
	t.Helper()
	e := newEnv(t)
	e.cfg.FeedPollInterval = time.Hour
	e.cfg.Feeds = e.cfg.Feeds[:1]
	r := e.runner("a", Options{})
	if err := r.RunTask(context.Background(), "feed"); err != nil {
		t.Fatal(err)
	}
	return e, r
}

// A Mastodon account's feed has items without titles; the post quotes the
// text of the toot.
func TestFeedUntitledItem(t *testing.T) {
	e, r := oneFeed(t)
	ctx := context.Background()
	e.rss.Add(fakeweb.Item{
		ID:          "https://mastodon.example/@gotime/1",
		Link:        "https://mastodon.example/@gotime/1",
		Description: "<p>We are live in 10 minutes &amp; talking generics!</p><p>Join <a href=\"https://example.com\">us</a></p>",
		Published:   time.Now(),
	})
	if err := r.RunTask(ctx, "feed"); err != nil {
		t.Fatal(err)
	}
	want := []string{"New from Go Time:\n> We are live in 10 minutes &amp; talking generics!\n> Join us\nhttps://mastodon.example/@gotime/1"}
	if diff := cmp.Diff(want, e.posts("gotimefm")); diff != "" {
		t.Errorf("posts (-want +got):\n%s", diff)
	}
}

// One broken feed does not keep the other from being posted.
func TestFeedFailureIsolated(t *testing.T) {
	e := newEnv(t)
	e.cfg.FeedPollInterval = time.Hour
	r := e.runner("a", Options{})
	ctx := context.Background()
	if err := r.RunTask(ctx, "feed"); err != nil {
		t.Fatal(err)
	}
	e.rss.FailNext(1)
	e.atom.Add(fakeweb.Item{ID: "a1", Title: "Post", Link: "https://example.com/a1", Published: time.Now()})
	err := r.RunTask(ctx, "feed")
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("RunTask with one feed failing = %v; want its 503", err)
	}
	if got := e.posts("random"); len(got) != 1 {
		t.Errorf("posts of the working feed = %q; want one", got)
	}
}

// An item Slack refuses for what it says (msg_too_long) is skipped for
// good, and the newer items of the feed are posted.
func TestFeedRefusedItemDoesNotBlockNewer(t *testing.T) {
	e, r := oneFeed(t)
	ctx := context.Background()
	now := time.Now()
	e.rss.Add(
		fakeweb.Item{ID: "huge", Title: strings.Repeat("x", 41000), Link: "https://example.com/huge", Published: now.Add(-time.Hour)},
		fakeweb.Item{ID: "ep-next", Title: "Next episode", Link: "https://example.com/next", Published: now},
	)
	// Slack cuts a text over 40,000 characters, but has been seen to
	// answer msg_too_long for shorter ones.
	e.slack.Inject("chat.postMessage", slackfake.Fault{Error: "msg_too_long"})
	for range 3 {
		if err := r.RunTask(ctx, "feed"); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"New from Go Time: Next episode\nhttps://example.com/next"}
	if diff := cmp.Diff(want, e.posts("gotimefm")); diff != "" {
		t.Errorf("posts (-want +got):\n%s", diff)
	}
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 2 {
		t.Errorf("chat.postMessage called %d times; want 2 (the refused item once)", n)
	}
	logged := e.logLines("a", "Slack refuses this item for good; skipping it for ever, to let the next ones through")
	if len(logged) != 1 || logged[0]["item"] != "huge" || logged[0]["reason"] != "msg_too_long" {
		t.Errorf("logged %v; want one error naming the item and msg_too_long", logged)
	}
}

// The claim's reply is lost and go-redis sends the claim again: the retry
// finds the claim the first send made, which is ours, and the item is
// posted.
func TestFeedLostClaimReplyStillPosted(t *testing.T) {
	e := newEnv(t)
	e.cfg.FeedPollInterval = time.Hour
	e.cfg.Feeds = e.cfg.Feeds[:1]
	p := e.redis.NewCutProxy(t)
	r := New(e.cfg, e.logger("a"), p.Client(), e.slackClient(), Options{Now: time.Now})
	ctx := context.Background()
	if err := r.RunTask(ctx, "feed"); err != nil {
		t.Fatal(err)
	}
	e.rss.Add(fakeweb.Item{ID: "ep-cut", Title: "Cut", Link: "https://example.com/cut", Published: time.Now()})
	if err := claimMember.Load(ctx, e.rdb).Err(); err != nil {
		t.Fatal(err)
	}
	p.Arm("evalsha", claimMember.Hash(), "ep-cut")
	if err := r.RunTask(ctx, "feed"); err != nil {
		t.Fatalf("round with the claim's reply lost: %v", err)
	}
	if p.Cuts() != 1 {
		t.Fatalf("the proxy cut %d replies; want the claim's", p.Cuts())
	}
	if err := r.RunTask(ctx, "feed"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("gotimefm"); len(got) != 1 {
		t.Errorf("posts = %q; want the item once", got)
	}
}

// An item claimed before claims had tokens (a bare member of the seen
// set) is someone else's claim: it is not posted.
func TestFeedOldFormatClaimHonoured(t *testing.T) {
	e, r := oneFeed(t)
	ctx := context.Background()
	now := time.Now()
	e.rss.Add(
		fakeweb.Item{ID: "ep-old", Title: "Claimed", Link: "https://example.com/old", Published: now.Add(-time.Minute)},
		fakeweb.Item{ID: "ep-new", Title: "New", Link: "https://example.com/new", Published: now},
	)
	seen, _ := feedKeys(e.cfg.Feeds[0])
	if err := e.rdb.ZAdd(ctx, seen, redis.Z{Score: float64(now.UnixMilli()), Member: "ep-old"}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.RunTask(ctx, "feed"); err != nil {
		t.Fatal(err)
	}
	want := []string{"New from Go Time: New\nhttps://example.com/new"}
	if diff := cmp.Diff(want, e.posts("gotimefm")); diff != "" {
		t.Errorf("posts (-want +got):\n%s", diff)
	}
}

// A site that changes the IDs and links of all its items (a redesign)
// makes every item look new. One round posts at most feedMaxPosts of them,
// the newest, and records the rest as seen with a warning that says how
// many were held back; later rounds post none of them, and real news after
// that is posted as usual.
func TestFeedFloodCapped(t *testing.T) {
	const limit = feedMaxPosts
	e := newEnv(t)
	e.cfg.FeedPollInterval = time.Hour
	e.cfg.Feeds = e.cfg.Feeds[:1]
	now := time.Now()
	const n = 20
	for i := range n {
		e.rss.Add(fakeweb.Item{ID: fmt.Sprintf("old-%d", i), Title: fmt.Sprintf("Episode %d", i), Link: fmt.Sprintf("https://example.com/%d", i), Published: now.Add(time.Duration(i-n) * time.Hour)})
	}
	r := e.runner("a", Options{})
	feedRounds(t, r, 1) // the first round: known before the redesign
	for i := range n {
		e.rss.Remove(fmt.Sprintf("old-%d", i))
		e.rss.Add(fakeweb.Item{ID: fmt.Sprintf("https://example.com/episodes/%d", i), Title: fmt.Sprintf("Episode %d", i), Link: fmt.Sprintf("https://example.com/episodes/%d", i), Published: now.Add(time.Duration(i-n) * time.Hour)})
	}
	feedRounds(t, r, 3)
	var want []string
	for i := n - limit; i < n; i++ {
		want = append(want, fmt.Sprintf("New from Go Time: Episode %d\nhttps://example.com/episodes/%d", i, i))
	}
	if diff := cmp.Diff(want, e.posts("gotimefm")); diff != "" {
		t.Errorf("posts after the redesign (-want +got):\n%s", diff)
	}
	logged := e.logLines("a", "more new items than one round posts; the oldest are recorded as seen, not posted")
	if len(logged) != 1 || logged[0]["held_back"] != float64(n-limit) || logged[0]["level"] != "warn" {
		t.Errorf("logged %v; want one warning that %d items were held back", logged, n-limit)
	}

	e.rss.Add(fakeweb.Item{ID: "news", Title: "Real news", Link: "https://example.com/news", Published: now})
	feedRounds(t, r, 1)
	if got := e.posts("gotimefm"); len(got) != limit+1 || got[len(got)-1] != "New from Go Time: Real news\nhttps://example.com/news" {
		t.Errorf("posts after the news: %q; want the news last", got)
	}
}
