package bgtasks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gophers/gopherbot/config"
)

// rawFeed serves a feed document as a site writes it, byte for byte, for
// the feed shapes fakeweb does not produce. The document can be changed
// between rounds with set.
type rawFeed struct {
	mu    sync.Mutex
	ctype string
	body  string
}

func (f *rawFeed) set(body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body = body
}

func (f *rawFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", f.ctype)
	w.Write([]byte(f.body))
}

// useRawFeed makes the env's only feed a rawFeed served at path on a new
// server, posting to #gotimefm, and returns it with the server's URL.
func (e *env) useRawFeed(path, ctype, body string) (*rawFeed, string) {
	e.t.Helper()
	f := &rawFeed{ctype: ctype, body: body}
	mux := http.NewServeMux()
	mux.Handle("GET "+path, f)
	// A feed that moved answers its old address with a redirect.
	mux.Handle("GET /old"+path, http.RedirectHandler(path, http.StatusMovedPermanently))
	srv := httptest.NewServer(mux)
	e.t.Cleanup(srv.Close)
	e.cfg.FeedPollInterval = time.Hour
	e.cfg.Feeds = []config.Feed{{Channel: "gotimefm", URL: srv.URL + "/old" + path}}
	return f, srv.URL
}

// feedRounds runs the feed task n times, failing on an error.
func feedRounds(t *testing.T, r *Runner, n int) {
	t.Helper()
	runRounds(t, r, "feed", n)
}

// Relative links are resolved against the address the feed was fetched
// from (after its redirect), as RFC 4287 says of Atom and readers do of
// RSS: a bare "/episodes/301" is no link in Slack.
func TestFeedRelativeLinks(t *testing.T) {
	now := time.Now().UTC()
	for _, tt := range []struct {
		name, path, ctype, empty, full string
	}{
		{
			name: "RSS", path: "/podcast/feed.xml", ctype: "application/rss+xml",
			empty: `<?xml version="1.0"?><rss version="2.0"><channel><title>Go Time</title></channel></rss>`,
			full: `<?xml version="1.0"?><rss version="2.0"><channel><title>Go Time</title>
<item><title>Episode 301</title><link>/episodes/301</link><guid isPermaLink="false">ep-301</guid><pubDate>` + now.Format(time.RFC1123Z) + `</pubDate></item>
<item><title>Episode 300</title><link>300.html</link><guid isPermaLink="false">ep-300</guid><pubDate>` + now.Add(-time.Hour).Format(time.RFC1123Z) + `</pubDate></item>
</channel></rss>`,
		},
		{
			name: "Atom", path: "/podcast/feed.xml", ctype: "application/atom+xml",
			empty: `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Go Time</title><id>urn:x</id><updated>2025-01-01T00:00:00Z</updated></feed>`,
			full: `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Go Time</title><id>urn:x</id><updated>2025-01-01T00:00:00Z</updated>
<entry><id>ep-301</id><title>Episode 301</title><link rel="alternate" href="/episodes/301"/><updated>` + now.Format(time.RFC3339) + `</updated></entry>
<entry><id>ep-300</id><title>Episode 300</title><link href="300.html"/><updated>` + now.Add(-time.Hour).Format(time.RFC3339) + `</updated></entry>
</feed>`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			f, base := e.useRawFeed(tt.path, tt.ctype, tt.empty)
			r := e.runner("a", Options{})
			feedRounds(t, r, 1) // first run: nothing yet
			f.set(tt.full)
			feedRounds(t, r, 2)
			want := []string{
				"New from Go Time: Episode 300\n" + base + "/podcast/300.html",
				"New from Go Time: Episode 301\n" + base + "/episodes/301",
			}
			if diff := cmp.Diff(want, e.posts("gotimefm")); diff != "" {
				t.Errorf("posts (-want +got):\n%s", diff)
			}
		})
	}
}

// Titles that sites write as HTML (an Atom title of type "html", as
// Jekyll's feeds have; RSS titles in CDATA with entities) are shown as the
// text they mean, not as their entities.
func TestFeedHTMLTitles(t *testing.T) {
	now := time.Now().UTC()
	e := newEnv(t)
	empty := `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title type="html">Tips &amp;amp; Tricks</title><id>urn:x</id><updated>2025-01-01T00:00:00Z</updated></feed>`
	f, _ := e.useRawFeed("/feed.xml", "application/atom+xml", empty)
	r := e.runner("a", Options{})
	feedRounds(t, r, 1)
	f.set(`<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title type="html">Tips &amp;amp; Tricks</title><id>urn:x</id><updated>2025-01-01T00:00:00Z</updated>
<entry><id>p1</id><title type="html">Go &amp;amp; you: what&amp;#8217;s new</title><link href="https://blog.example.com/p1"/><updated>` + now.Format(time.RFC3339) + `</updated></entry>
</feed>`)
	feedRounds(t, r, 1)
	want := []string{"New from Tips &amp; Tricks: Go &amp; you: what\u2019s new\nhttps://blog.example.com/p1"}
	if diff := cmp.Diff(want, e.posts("gotimefm")); diff != "" {
		t.Errorf("posts (-want +got):\n%s", diff)
	}
}

// The markup of an HTML title (an Atom title of type "html", an RSS title
// in CDATA) is not shown as text: "<code>go vet</code>" reads "go vet". A
// "<" that is text, escaped in the HTML, stays.
func TestFeedHTMLTitleMarkup(t *testing.T) {
	now := time.Now().UTC()
	e := newEnv(t)
	empty := `<?xml version="1.0"?><rss version="2.0"><channel><title><![CDATA[<b>Go</b> Time]]></title></channel></rss>`
	f, _ := e.useRawFeed("/feed.xml", "application/rss+xml", empty)
	r := e.runner("a", Options{})
	feedRounds(t, r, 1)
	f.set(`<?xml version="1.0"?><rss version="2.0"><channel><title><![CDATA[<b>Go</b> Time]]></title>
<item><title><![CDATA[Why <code>go vet</code> says x &lt; y <em>and</em> more]]></title><link>https://example.com/ep</link><guid>ep</guid><pubDate>` + now.Format(time.RFC1123Z) + `</pubDate></item>
</channel></rss>`)
	feedRounds(t, r, 1)
	want := []string{"New from Go Time: Why go vet says x &lt; y and more\nhttps://example.com/ep"}
	if diff := cmp.Diff(want, e.posts("gotimefm")); diff != "" {
		t.Errorf("posts (-want +got):\n%s", diff)
	}
}

// A feed's link is the site's text, not ours: it cannot make the bot
// mention the channel or break the message's markup.
func TestFeedLinkEscaped(t *testing.T) {
	now := time.Now().UTC()
	e := newEnv(t)
	empty := `<?xml version="1.0"?><rss version="2.0"><channel><title>Go Time</title></channel></rss>`
	f, _ := e.useRawFeed("/feed.xml", "application/rss+xml", empty)
	r := e.runner("a", Options{})
	feedRounds(t, r, 1)
	f.set(`<?xml version="1.0"?><rss version="2.0"><channel><title>Go Time</title>
<item><title>Episode</title><link>https://example.com/ep?a=1&amp;b=&lt;!channel&gt;</link><guid>ep</guid><pubDate>` + now.Format(time.RFC1123Z) + `</pubDate></item>
</channel></rss>`)
	feedRounds(t, r, 1)
	got := e.posts("gotimefm")
	if len(got) != 1 {
		t.Fatalf("posts = %q; want one", got)
	}
	if strings.ContainsAny(strings.TrimPrefix(got[0], "New from Go Time: Episode\n"), "<>") {
		t.Errorf("post = %q; the link's < and > must be escaped", got[0])
	}
	if want := "https://example.com/ep?a=1&amp;b=&lt;!channel&gt;"; !strings.HasSuffix(got[0], want) {
		t.Errorf("post = %q; want it to end with %q", got[0], want)
	}
}

// An authenticated Gerrit or a private feed has a password in its address
// (https://user:password@host/a); what the tasks log of a failure names
// the address without it.
func TestFetchFailureHidesPassword(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	withPassword := strings.Replace(srv.URL, "http://", "http://bot:s3cret-pass@", 1)
	e.cfg.GerritURL = withPassword + "/a"
	e.cfg.GerritPollInterval = time.Hour
	e.cfg.FeedPollInterval = time.Hour
	// A private feed may carry its key in the query instead.
	e.cfg.Feeds = []config.Feed{{Channel: "gotimefm", URL: withPassword + "/feed.xml?format=rss&token=q-secret-tok"}}
	r := e.runner("a", Options{})
	rn := e.start(r)
	waitFor(t, 10*time.Second, "both tasks to fail", func() bool {
		return len(e.logLines("a", "task failed")) >= 2
	})
	rn.stop(t, false)
	for _, name := range []string{"gerrit", "feed"} {
		err := r.RunTask(context.Background(), name)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("RunTask(%s) = %v; want the 401", name, err)
		}
		if err != nil && (strings.Contains(err.Error(), "s3cret-pass") || strings.Contains(err.Error(), "q-secret-tok")) {
			t.Errorf("RunTask(%s) = %v; it shows the password or the key", name, err)
		}
	}
	for _, secret := range []string{"s3cret-pass", "q-secret-tok"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the logs show %q:\n%s", secret, e.logs.String())
		}
	}
}

// A feed that cannot be reached at all fails in net/http, whose error
// names the address with its query: the key there is hidden too.
func TestUnreachableFeedHidesKey(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	e.cfg.FeedPollInterval = time.Hour
	e.cfg.Feeds = []config.Feed{{Channel: "gotimefm", URL: "http://" + addr + "/feed.xml?api_key=dial-secret-key"}}
	r := e.runner("a", Options{})
	err = r.RunTask(context.Background(), "feed")
	if err == nil {
		t.Fatal("RunTask(feed) = nil; want the dial error")
	}
	if strings.Contains(err.Error(), "dial-secret-key") || !strings.Contains(err.Error(), addr) {
		t.Errorf("RunTask(feed) = %v; want the address named without its key", err)
	}
	if strings.Contains(e.logs.String(), "dial-secret-key") {
		t.Errorf("the logs show the key:\n%s", e.logs.String())
	}
}

// A feed whose encoding only its HTTP header names (charset=ISO-8859-1,
// no encoding in the XML declaration) is read in that encoding, as RFC
// 7303 says, instead of failing as invalid UTF-8 on every round.
func TestFeedCharsetFromHeader(t *testing.T) {
	now := time.Now().UTC()
	e := newEnv(t)
	empty := "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Caf\xe9 Go</title></channel></rss>"
	f, _ := e.useRawFeed("/feed.xml", "application/rss+xml; charset=ISO-8859-1", empty)
	r := e.runner("a", Options{})
	feedRounds(t, r, 1)
	f.set("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Caf\xe9 Go</title>\n" +
		"<item><title>R\xe9sum\xe9 of the year</title><link>https://example.com/r</link><guid>r</guid><pubDate>" + now.Format(time.RFC1123Z) + "</pubDate></item>\n" +
		"</channel></rss>")
	feedRounds(t, r, 1)
	want := []string{"New from Caf\u00e9 Go: R\u00e9sum\u00e9 of the year\nhttps://example.com/r"}
	if diff := cmp.Diff(want, e.posts("gotimefm")); diff != "" {
		t.Errorf("posts (-want +got):\n%s", diff)
	}
}
