package fakeweb_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mmcdole/gofeed"

	"github.com/gophers/gopherbot/internal/fakeweb"
)

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

type change struct {
	Number    int    `json:"_number"`
	Project   string `json:"project"`
	Status    string `json:"status"`
	Submitted string `json:"submitted"`
	Revision  string `json:"current_revision"`
	Revisions map[string]struct {
		Commit struct{ Message string } `json:"commit"`
	} `json:"revisions"`
	More bool `json:"_more_changes"`
}

func TestGerrit(t *testing.T) {
	g := fakeweb.NewGerrit()
	srv := httptest.NewServer(g)
	defer srv.Close()
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		g.Merge(fakeweb.Change{Number: 10 + i, Subject: "s", Submitted: t0.Add(time.Duration(i) * time.Minute)})
	}
	g.Merge(fakeweb.Change{Number: 20, Project: "tools", Subject: "open", Status: "NEW", Updated: t0})
	g.Touch(10, t0.Add(time.Hour)) // a comment after merging: first in the order

	query := func(v url.Values) []change {
		t.Helper()
		code, body := get(t, srv.URL+"/changes/?"+v.Encode())
		if code != 200 {
			t.Fatalf("GET %v: %d %s", v, code, body)
		}
		if !strings.HasPrefix(body, fakeweb.XSSIPrefix) {
			t.Fatalf("answer does not start with the XSSI prefix: %q", body[:min(len(body), 10)])
		}
		var cs []change
		if err := json.Unmarshal([]byte(strings.TrimPrefix(body, fakeweb.XSSIPrefix)), &cs); err != nil {
			t.Fatal(err)
		}
		return cs
	}
	numbers := func(cs []change) []int {
		var out []int
		for _, c := range cs {
			out = append(out, c.Number)
		}
		return out
	}

	page1 := query(url.Values{"q": {"status:merged"}, "n": {"3"}, "o": {"CURRENT_REVISION", "CURRENT_COMMIT"}})
	if diff := cmp.Diff([]int{10, 14, 13}, numbers(page1)); diff != "" {
		t.Errorf("page 1 (-want +got):\n%s", diff)
	}
	if !page1[2].More || page1[0].More {
		t.Error("_more_changes not on the last change of a partial page only")
	}
	if c := page1[1]; c.Revisions[c.Revision].Commit.Message == "" || c.Submitted != "2025-01-01 12:04:00.000000000" {
		t.Errorf("change 14 = %+v; want its commit and submit time", c)
	}
	page2 := query(url.Values{"q": {"status:merged"}, "n": {"3"}, "S": {"3"}})
	if diff := cmp.Diff([]int{12, 11}, numbers(page2)); diff != "" {
		t.Errorf("page 2 (-want +got):\n%s", diff)
	}
	if page2[1].More {
		t.Error("_more_changes on the last page")
	}
	after := query(url.Values{"q": {`status:merged after:"2025-01-01 12:02:30.000 +0000"`}})
	if diff := cmp.Diff([]int{10, 14, 13}, numbers(after)); diff != "" {
		t.Errorf("after: (-want +got):\n%s", diff)
	}
	if got := query(url.Values{"q": {"status:new project:tools"}}); len(got) != 1 || got[0].Number != 20 {
		t.Errorf("status:new project:tools = %v", numbers(got))
	}
	if code, _ := get(t, srv.URL+"/changes/?q=label:Code-Review%2B2"); code != http.StatusBadRequest {
		t.Errorf("unsupported query term answered %d; want 400", code)
	}
	g.FailNext(1)
	if code, _ := get(t, srv.URL+"/changes/?q=status:merged"); code != http.StatusInternalServerError {
		t.Errorf("after FailNext answered %d; want 500", code)
	}
}

func TestFeedsParse(t *testing.T) {
	for _, format := range []fakeweb.FeedFormat{fakeweb.RSS, fakeweb.Atom} {
		f := fakeweb.NewFeed(format, "Title & more", "https://example.com/")
		pub := time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)
		f.Add(
			fakeweb.Item{ID: "a", Title: "Older", Link: "https://example.com/a", Published: pub.Add(-time.Hour), Description: "<p>x &amp; y</p>"},
			fakeweb.Item{Title: "Newer", Link: "https://example.com/b", Published: pub},
		)
		srv := httptest.NewServer(f)
		_, body := get(t, srv.URL)
		srv.Close()
		feed, err := gofeed.NewParser().ParseString(body)
		if err != nil {
			t.Fatalf("format %d: %v\n%s", format, err, body)
		}
		if feed.Title != "Title & more" || len(feed.Items) != 2 {
			t.Fatalf("format %d: parsed %q with %d items", format, feed.Title, len(feed.Items))
		}
		newer, older := feed.Items[0], feed.Items[1]
		if newer.Title != "Newer" || newer.GUID != "" || newer.Link != "https://example.com/b" || !newer.PublishedParsed.Equal(pub) {
			t.Errorf("format %d: first item %+v; want the newer one, without an ID", format, newer)
		}
		if older.GUID != "a" || !strings.Contains(older.Description, "x &amp; y") {
			t.Errorf("format %d: second item GUID %q description %q", format, older.GUID, older.Description)
		}
	}
}

func TestLive(t *testing.T) {
	l := fakeweb.NewLive()
	srv := httptest.NewServer(l)
	defer srv.Close()
	status := func() fakeweb.LiveStatus {
		t.Helper()
		_, body := get(t, srv.URL)
		var st fakeweb.LiveStatus
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := status(); st.Live {
		t.Errorf("new fake is live: %+v", st)
	}
	at := time.Date(2025, 1, 1, 19, 0, 0, 0, time.UTC)
	l.SetLive("Go Time #1", "https://changelog.com/live", at)
	if diff := cmp.Diff(fakeweb.LiveStatus{Live: true, Title: "Go Time #1", URL: "https://changelog.com/live", StartedAt: at}, status()); diff != "" {
		t.Errorf("live status (-want +got):\n%s", diff)
	}
	l.SetOffAir()
	if st := status(); st.Live || st.Title != "" {
		t.Errorf("off air status = %+v", st)
	}
}
