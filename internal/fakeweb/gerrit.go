// Package fakeweb holds in-process stand-ins for the web services the
// background tasks poll: a Gerrit code review server, RSS and Atom feeds, and
// the Go Time live status. Each is an http.Handler that keeps state and can be
// changed while it serves, so tests (through httptest) and the offline
// all-in-one (on any listener) drive the same code that talks to the real
// services.
//
// It must not import package testing: the all-in-one binary runs these fakes.
package fakeweb

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GerritTimeLayout is how Gerrit's REST API writes timestamps (always UTC).
const GerritTimeLayout = "2006-01-02 15:04:05.000000000"

// XSSIPrefix starts every JSON answer of Gerrit's REST API, so that a
// browser never runs the answer as a script.
const XSSIPrefix = ")]}'\n"

// Change is one code review in the fake Gerrit.
type Change struct {
	Number    int
	Project   string // "go", "tools", ...
	Branch    string // default "master"
	Subject   string
	Message   string // full commit message; default Subject plus a Change-Id footer
	Status    string // "NEW", "MERGED" or "ABANDONED"
	Submitted time.Time
	Updated   time.Time
	// Undated leaves a merged change without a submit time, as Gerrit
	// answers for some old changes.
	Undated bool
}

// Gerrit is a fake Gerrit REST API serving GET /changes/. It understands
// the query terms the bot uses (status:, after:/since:, before:/until:,
// project:) and the n (limit) and S (skip) parameters, answers newest
// update first like Gerrit, and marks the last change of a partial page with
// _more_changes.
type Gerrit struct {
	mu       sync.Mutex
	changes  []Change
	next     int
	now      func() time.Time
	requests int
	fail     int // answer this many requests with 500
}

// NewGerrit returns an empty fake Gerrit whose clock is time.Now.
func NewGerrit() *Gerrit { return &Gerrit{next: 100000, now: time.Now} }

// SetClock replaces the clock used to stamp merged changes.
func (g *Gerrit) SetClock(now func() time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.now = now
}

// Merge adds a merged change and returns it as stored. A zero Number gets
// the next free one, a zero Submitted the clock's now, a zero Updated the
// Submitted time, an empty Project "go".
func (g *Gerrit) Merge(c Change) Change {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.Number == 0 {
		g.next++
		c.Number = g.next
	} else if c.Number > g.next {
		g.next = c.Number
	}
	if c.Project == "" {
		c.Project = "go"
	}
	if c.Branch == "" {
		c.Branch = "master"
	}
	if c.Status == "" {
		c.Status = "MERGED"
	}
	if c.Submitted.IsZero() && c.Status == "MERGED" && !c.Undated {
		c.Submitted = g.now()
	}
	if c.Updated.IsZero() {
		c.Updated = c.Submitted
	}
	if c.Updated.IsZero() {
		c.Updated = g.now()
	}
	if c.Message == "" {
		c.Message = fmt.Sprintf("%s\n\nChange-Id: I%040d\n", c.Subject, c.Number)
	}
	c.Submitted, c.Updated = c.Submitted.UTC(), c.Updated.UTC()
	g.changes = append(g.changes, c)
	return c
}

// Touch sets the update time of change n, as a comment after submission
// does on the real Gerrit; it moves the change up the default order.
func (g *Gerrit) Touch(n int, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range g.changes {
		if g.changes[i].Number == n {
			g.changes[i].Updated = at.UTC()
		}
	}
}

// FailNext makes the next n requests answer 500.
func (g *Gerrit) FailNext(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fail = n
}

// Requests is the number of requests served so far.
func (g *Gerrit) Requests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

// ServeHTTP implements http.Handler.
func (g *Gerrit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests++
	fail := g.fail > 0
	if fail {
		g.fail--
	}
	g.mu.Unlock()
	if fail {
		http.Error(w, "Internal server error", http.StatusInternalServerError)
		return
	}
	if r.Method != http.MethodGet || strings.TrimPrefix(r.URL.Path, "/a") != "/changes/" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	match, err := parseGerritQuery(q.Get("q"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	limit, skip := 500, 0
	if v := q.Get("n"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			http.Error(w, "bad n", http.StatusBadRequest)
			return
		}
	}
	if v := q.Get("S"); v != "" {
		if skip, err = strconv.Atoi(v); err != nil || skip < 0 {
			http.Error(w, "bad S", http.StatusBadRequest)
			return
		}
	}
	withRevision := slices.Contains(q["o"], "CURRENT_REVISION") || slices.Contains(q["o"], "ALL_REVISIONS")
	withCommit := slices.Contains(q["o"], "CURRENT_COMMIT") || slices.Contains(q["o"], "ALL_COMMITS")

	g.mu.Lock()
	var hits []Change
	for _, c := range g.changes {
		if match(c) {
			hits = append(hits, c)
		}
	}
	g.mu.Unlock()
	slices.SortFunc(hits, func(a, b Change) int {
		if c := b.Updated.Compare(a.Updated); c != 0 {
			return c
		}
		return cmp.Compare(b.Number, a.Number)
	})
	if skip > len(hits) {
		skip = len(hits)
	}
	hits = hits[skip:]
	more := len(hits) > limit
	if more {
		hits = hits[:limit]
	}

	out := make([]map[string]any, 0, len(hits))
	for i, c := range hits {
		rev := fmt.Sprintf("%040x", c.Number)
		m := map[string]any{
			"id":        fmt.Sprintf("%s~%s~I%040d", c.Project, c.Branch, c.Number),
			"project":   c.Project,
			"branch":    c.Branch,
			"change_id": fmt.Sprintf("I%040d", c.Number),
			"subject":   c.Subject,
			"status":    c.Status,
			"created":   c.Updated.Format(GerritTimeLayout),
			"updated":   c.Updated.Format(GerritTimeLayout),
			"_number":   c.Number,
		}
		if !c.Submitted.IsZero() {
			m["submitted"] = c.Submitted.Format(GerritTimeLayout)
		}
		if withRevision {
			m["current_revision"] = rev
			revision := map[string]any{"_number": 1, "ref": fmt.Sprintf("refs/changes/%02d/%d/1", c.Number%100, c.Number)}
			if withCommit {
				revision["commit"] = map[string]any{
					"subject": c.Subject,
					"message": c.Message,
					"author":  map[string]any{"name": "Gopher", "email": "gopher@example.com", "date": c.Updated.Format(GerritTimeLayout)},
				}
			}
			m["revisions"] = map[string]any{rev: revision}
		}
		if more && i == len(hits)-1 {
			m["_more_changes"] = true
		}
		out = append(out, m)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write([]byte(XSSIPrefix))
	json.NewEncoder(w).Encode(out)
}

// parseGerritQuery turns the search terms the bot uses into a filter. An
// unknown term is an error, so a typo in the bot's query fails the tests
// instead of quietly matching everything.
func parseGerritQuery(q string) (func(Change) bool, error) {
	var preds []func(Change) bool
	for _, term := range splitQuery(q) {
		op, arg, ok := strings.Cut(term, ":")
		if !ok {
			return nil, fmt.Errorf("fakeweb: unsupported query term %q", term)
		}
		arg = strings.Trim(arg, `"{}`)
		switch op {
		case "status":
			want := strings.ToUpper(arg)
			preds = append(preds, func(c Change) bool { return c.Status == want })
		case "project":
			preds = append(preds, func(c Change) bool { return c.Project == arg })
		case "after", "since", "before", "until":
			t, err := parseGerritDate(arg)
			if err != nil {
				return nil, fmt.Errorf("fakeweb: bad date in %q", term)
			}
			if op == "after" || op == "since" {
				preds = append(preds, func(c Change) bool { return !c.Updated.Before(t) })
			} else {
				preds = append(preds, func(c Change) bool { return !c.Updated.After(t) })
			}
		default:
			return nil, fmt.Errorf("fakeweb: unsupported query operator %q", op)
		}
	}
	return func(c Change) bool {
		for _, p := range preds {
			if !p(c) {
				return false
			}
		}
		return true
	}, nil
}

// parseGerritDate accepts the forms Gerrit documents for after:/before:.
func parseGerritDate(s string) (time.Time, error) {
	for _, layout := range []string{
		GerritTimeLayout, "2006-01-02 15:04:05.000 -0700", "2006-01-02 15:04:05 -0700",
		"2006-01-02 15:04:05.000", "2006-01-02 15:04:05", "2006-01-02",
	} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("fakeweb: bad date %q", s)
}

// splitQuery splits on spaces outside double quotes.
func splitQuery(q string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range q {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
