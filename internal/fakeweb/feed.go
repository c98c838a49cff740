package fakeweb

import (
	"encoding/xml"
	"net/http"
	"slices"
	"sync"
	"time"
)

// FeedFormat is the syndication format a Feed serves.
type FeedFormat int

const (
	RSS  FeedFormat = iota // RSS 2.0, as podcasts and Mastodon publish
	Atom                   // Atom 1.0
)

// Item is one entry of a feed.
type Item struct {
	ID          string // RSS guid / Atom id; may be empty (then readers fall back to Link)
	Title       string
	Link        string
	Description string // HTML allowed
	Published   time.Time
}

// Feed is a fake RSS or Atom feed that can grow while it is served. It lists
// items newest first, as real feeds do.
type Feed struct {
	format FeedFormat
	title  string
	link   string

	mu       sync.Mutex
	items    []Item
	requests int
	fail     int
}

// NewFeed returns an empty feed with the given title and site link.
func NewFeed(format FeedFormat, title, link string) *Feed {
	return &Feed{format: format, title: title, link: link}
}

// Add appends items to the feed.
func (f *Feed) Add(items ...Item) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = append(f.items, items...)
}

// Remove drops the item with the given ID or link, as a feed that keeps
// only its latest entries does.
func (f *Feed) Remove(idOrLink string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = slices.DeleteFunc(f.items, func(it Item) bool { return it.ID == idOrLink || it.Link == idOrLink })
}

// FailNext makes the next n requests answer 503.
func (f *Feed) FailNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = n
}

// Requests is the number of requests served so far.
func (f *Feed) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// ServeHTTP implements http.Handler: any GET gets the whole feed.
func (f *Feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	fail := f.fail > 0
	if fail {
		f.fail--
	}
	items := slices.Clone(f.items)
	f.mu.Unlock()
	if fail {
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	slices.SortStableFunc(items, func(a, b Item) int { return b.Published.Compare(a.Published) })

	var doc any
	switch f.format {
	case Atom:
		w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
		doc = f.atom(items)
	default:
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		doc = f.rss(items)
	}
	w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	enc.Encode(doc)
}

type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title string    `xml:"title"`
	Link  string    `xml:"link"`
	Desc  string    `xml:"description"`
	Items []rssItem `xml:"item"`
}

type rssItem struct {
	Title   string   `xml:"title,omitempty"`
	Link    string   `xml:"link,omitempty"`
	GUID    *rssGUID `xml:"guid,omitempty"`
	PubDate string   `xml:"pubDate,omitempty"`
	Desc    string   `xml:"description,omitempty"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

func (f *Feed) rss(items []Item) rssDoc {
	d := rssDoc{Version: "2.0", Channel: rssChannel{Title: f.title, Link: f.link, Desc: f.title}}
	for _, it := range items {
		ri := rssItem{Title: it.Title, Link: it.Link, Desc: it.Description}
		if it.ID != "" {
			ri.GUID = &rssGUID{IsPermaLink: "false", Value: it.ID}
		}
		if !it.Published.IsZero() {
			ri.PubDate = it.Published.UTC().Format(time.RFC1123Z)
		}
		d.Channel.Items = append(d.Channel.Items, ri)
	}
	return d
}

type atomDoc struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Link    atomLink    `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
}

type atomEntry struct {
	Title     string    `xml:"title"`
	ID        string    `xml:"id,omitempty"`
	Link      *atomLink `xml:"link,omitempty"`
	Published string    `xml:"published,omitempty"`
	Updated   string    `xml:"updated,omitempty"`
	Summary   *atomText `xml:"summary,omitempty"`
}

type atomText struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

func (f *Feed) atom(items []Item) atomDoc {
	d := atomDoc{Title: f.title, ID: f.link, Link: atomLink{Href: f.link, Rel: "alternate"}}
	var newest time.Time
	for _, it := range items {
		e := atomEntry{Title: it.Title, ID: it.ID}
		if it.Link != "" {
			e.Link = &atomLink{Href: it.Link, Rel: "alternate"}
		}
		if !it.Published.IsZero() {
			e.Published = it.Published.UTC().Format(time.RFC3339)
			e.Updated = e.Published
			if it.Published.After(newest) {
				newest = it.Published
			}
		}
		if it.Description != "" {
			e.Summary = &atomText{Type: "html", Value: it.Description}
		}
		d.Entries = append(d.Entries, e)
	}
	if !newest.IsZero() {
		d.Updated = newest.UTC().Format(time.RFC3339)
	}
	return d
}
