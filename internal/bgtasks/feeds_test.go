package bgtasks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gophers/gopherbot/internal/fakeweb"
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

// A Mastodon account's feed has items without titles; the post quotes the
// text of the toot.
func TestFeedUntitledItem(t *testing.T) {
	e := newEnv(t)
	e.cfg.FeedPollInterval = time.Hour
	e.cfg.Feeds = e.cfg.Feeds[:1]
	r := e.runner("a", Options{})
	ctx := context.Background()
	if err := r.RunTask(ctx, "feed"); err != nil {
		t.Fatal(err)
	}
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
