// Package glossary is the data and lookup behind the `define` command: Go
// terms with short definitions and links. It is pure data: no Slack, no Redis.
//
// A Glossary is immutable once built, so one value can serve every goroutine
// of a consumer without locking.
package glossary

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Entry is one term.
type Entry struct {
	Term       string   // canonical spelling, e.g. "goroutine"
	Aliases    []string // other names, e.g. "go routine"
	Definition string   // one to three sentences, our own words
	Link       string   // spec, docs or blog URL
}

// Bounds New enforces. A definition is a chat answer: long enough to say
// something, short enough to read without scrolling.
const (
	MaxTermLen       = 60  // runes in a term or alias
	MinDefinitionLen = 20  // runes
	MaxDefinitionLen = 400 // runes
)

// maxQueryLen bounds what Lookup and Suggest look at. Anything longer is a
// sentence, not a term, and bounding it keeps Suggest's edit distances cheap
// whatever a chat user pastes.
const maxQueryLen = 200

// ErrInvalid is wrapped by every error New returns for bad data.
var ErrInvalid = errors.New("glossary: invalid entry")

// allowedLinkHosts are the hosts a link may point to: the Go project's own
// sites, so that the bot only ever sends people to authoritative pages.
// Links to github.com must also be under github.com/golang/.
var allowedLinkHosts = []string{"go.dev", "pkg.go.dev", "golang.org", "github.com"}

// Glossary looks terms up.
type Glossary struct {
	entries []Entry        // sorted by folded term
	index   map[string]int // folded term or alias → index in entries
	compact map[string]int // the same keys with spaces removed
	keys    []key          // every term and alias, for Suggest
}

// key is one name an entry answers to, prepared for matching.
type key struct {
	folded  string // fold(name)
	compact []rune // folded without spaces, for edit distances
	entry   int
}

// New builds a glossary, refusing duplicate terms or aliases and bad links.
// It reports every problem at once, each wrapping ErrInvalid, so that a
// broken data file is fixed in one pass. The entries are copied: changing
// them afterwards does not change the glossary.
func New(entries []Entry) (*Glossary, error) {
	var errs []error
	bad := func(i int, term, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: entry %d (%q): %s", ErrInvalid, i, term, fmt.Sprintf(format, args...)))
	}

	g := &Glossary{
		index:   make(map[string]int),
		compact: make(map[string]int),
	}
	owner := make(map[string]int)        // folded key → entry number, for messages
	compactOwner := make(map[string]int) // compact key → entry number
	for i, e := range entries {
		for _, name := range append([]string{e.Term}, e.Aliases...) {
			if msg := checkName(name); msg != "" {
				bad(i, e.Term, "term or alias %q %s", name, msg)
				continue
			}
			k := fold(name)
			if j, ok := owner[k]; ok {
				if j == i {
					bad(i, e.Term, "%q is listed twice", name)
				} else {
					bad(i, e.Term, "%q is already a name of entry %d (%q)", name, j, entries[j].Term)
				}
				continue
			}
			owner[k] = i
			c := strings.ReplaceAll(k, " ", "")
			if j, ok := compactOwner[c]; ok && j != i {
				bad(i, e.Term, "%q differs only in spacing from a name of entry %d (%q)", name, j, entries[j].Term)
				continue
			}
			compactOwner[c] = i
		}
		if msg := checkDefinition(e.Definition); msg != "" {
			bad(i, e.Term, "definition %s", msg)
		}
		if msg := checkLink(e.Link); msg != "" {
			bad(i, e.Term, "link %q %s", e.Link, msg)
		}
	}
	// A name that is the plural of another entry's name would make that
	// plural unreachable by the forgiving lookup ("slices" must reach
	// "slice"), so the data must say it differently, e.g. "slices package".
	for k, i := range owner {
		for _, s := range singulars(k) {
			if j, ok := owner[s]; ok && j != i {
				bad(i, entries[i].Term, "%q hides the plural of %q, a name of entry %d (%q)", k, s, j, entries[j].Term)
			}
		}
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return nil, errors.Join(errs...)
	}

	g.entries = make([]Entry, len(entries))
	for i, e := range entries {
		g.entries[i] = clone(e)
	}
	slices.SortStableFunc(g.entries, func(a, b Entry) int {
		if c := strings.Compare(fold(a.Term), fold(b.Term)); c != 0 {
			return c
		}
		return strings.Compare(a.Term, b.Term)
	})
	for i, e := range g.entries {
		for _, name := range append([]string{e.Term}, e.Aliases...) {
			k := fold(name)
			c := strings.ReplaceAll(k, " ", "")
			g.index[k] = i
			g.compact[c] = i
			g.keys = append(g.keys, key{folded: k, compact: []rune(c), entry: i})
		}
	}
	return g, nil
}

var defaultGlossary = sync.OnceValue(func() *Glossary {
	g, err := New(builtin)
	if err != nil {
		// The tests validate the built-in data, so this only fires for a
		// change that was never tested.
		panic(fmt.Sprintf("glossary: built-in data is invalid: %v", err))
	}
	return g
})

// Default is the built-in glossary. It is built once and shared.
func Default() *Glossary { return defaultGlossary() }

// Lookup finds a term or alias, forgiving case, surrounding punctuation and plurals.
// It also ignores a leading "a", "an" or "the", Slack formatting around the
// term (backticks, *bold*, _italics_, quotes), and differences in spacing
// and hyphens ("go-routine", "goroutine" and "go routine" are one name).
func (g *Glossary) Lookup(term string) (Entry, bool) {
	if len(term) > maxQueryLen {
		return Entry{}, false
	}
	for _, q := range candidates(term) {
		if i, ok := g.index[q]; ok {
			return clone(g.entries[i]), true
		}
		if i, ok := g.compact[strings.ReplaceAll(q, " ", "")]; ok {
			return clone(g.entries[i]), true
		}
	}
	return Entry{}, false
}

// Suggest returns up to n known terms close to term, best first ("did you mean").
// Closeness is the Damerau-Levenshtein distance relative to length, for
// typos such as "gorutine", or the query being a prefix or part of a name,
// for incomplete words such as "goro". Terms that are not close enough are
// left out, so a nonsense query gets no suggestions at all.
func (g *Glossary) Suggest(term string, n int) []string {
	if n <= 0 || len(term) > maxQueryLen {
		return nil
	}
	var queries []query
	for _, q := range candidates(term) {
		if q != "" {
			queries = append(queries, query{folded: q, compact: []rune(strings.ReplaceAll(q, " ", ""))})
		}
	}
	if len(queries) == 0 {
		return nil
	}

	var d distancer
	best := make([]float64, len(g.entries)) // entry → best score
	for _, k := range g.keys {
		for _, q := range queries {
			if s := d.similarity(q, k); s > best[k.entry] {
				best[k.entry] = s
			}
		}
	}
	type hit struct {
		entry int
		score float64
	}
	var hits []hit
	for i, s := range best {
		if s > 0 {
			hits = append(hits, hit{i, s})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return a.entry - b.entry // entries are sorted by term
	})
	if len(hits) == 0 {
		return nil
	}
	if len(hits) > n {
		hits = hits[:n]
	}
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = g.entries[h.entry].Term
	}
	return out
}

// Entries returns every entry, sorted by term.
// The result is a copy; changing it does not change the glossary.
func (g *Glossary) Entries() []Entry {
	out := make([]Entry, len(g.entries))
	for i, e := range g.entries {
		out[i] = clone(e)
	}
	return out
}

// Len reports how many entries the glossary holds.
func (g *Glossary) Len() int { return len(g.entries) }

func clone(e Entry) Entry {
	e.Aliases = slices.Clone(e.Aliases)
	return e
}

// query is one candidate form of what was asked, prepared for matching.
type query struct {
	folded  string
	compact []rune
}

// similarity scores how well the query q matches the key k, from 0 (not at
// all) to 1 (the same name).
func (d *distancer) similarity(q query, k key) float64 {
	if q.folded == k.folded {
		return 1
	}
	qc, kc := q.compact, k.compact
	if slices.Equal(qc, kc) {
		return 0.99
	}
	// Every rule below demands a real resemblance, so any score above zero
	// is worth offering; the scores only order the suggestions.
	var score float64
	l := max(len(qc), len(kc))
	if min(len(qc), len(kc)) > 2 && abs(len(qc)-len(kc)) <= maxEdits(l) {
		// The distance is at least the difference in length, so this
		// skips the work for names that cannot be close.
		if dist := d.distance(qc, kc); dist <= maxEdits(l) {
			score = 1 - float64(dist)/float64(l)
		}
	}
	// A prefix is what someone types before giving up ("goro"): strong,
	// and stronger the more of the name it covers.
	if len(q.compact) >= 3 && strings.HasPrefix(k.folded, q.folded) {
		score = max(score, 0.7+0.25*float64(len(q.folded))/float64(len(k.folded)))
	}
	// Part of a name ("switch" in "type switch"), or a name inside a longer
	// query ("goroutine leaks" holds "goroutine"), both only on word
	// boundaries so that short fragments of unrelated words do not count.
	if len(q.compact) >= 4 && containsWords(k.folded, q.folded) {
		score = max(score, 0.65+0.25*float64(len(q.folded))/float64(len(k.folded)))
	}
	if len(k.compact) >= 4 && containsWords(q.folded, k.folded) {
		score = max(score, 0.6+0.3*float64(len(k.folded))/float64(len(q.folded)))
	}
	return score
}

// maxEdits is how many typos a name of l runes may have and still be
// suggested: one up to five letters, two up to nine, then three. Names or
// queries of one or two letters get none (see similarity): everything is
// one edit away from "go".
func maxEdits(l int) int {
	switch {
	case l <= 5:
		return 1
	case l <= 9:
		return 2
	default:
		return 3
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// containsWords reports whether s contains sub starting and ending on word
// boundaries.
func containsWords(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); {
		j := strings.Index(s[i:], sub)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(sub)
		if (start == 0 || s[start-1] == ' ') && (end == len(s) || s[end] == ' ') {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[start:])
		i = start + size
	}
	return false
}

// distancer computes edit distances, reusing its rows between calls so
// that Suggest allocates them once rather than once per name.
type distancer struct {
	rows [3][]int
}

// distance is the optimal string alignment distance between a and b: the
// Levenshtein distance where swapping two neighbouring letters ("slcie")
// also counts as one edit.
func (d *distancer) distance(a, b []rune) int {
	for i := range d.rows {
		if cap(d.rows[i]) < len(b)+1 {
			d.rows[i] = make([]int, len(b)+1)
		}
		d.rows[i] = d.rows[i][:len(b)+1]
	}
	// Three rows suffice: the transposition looks two rows back.
	prev2, prev, cur := d.rows[0], d.rows[1], d.rows[2]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// fold is the normal form names are compared in: lower case, commas and
// hyphens between words turned into spaces, runs of white space collapsed.
// "Go-Routine" and "go  routine" fold alike; "-race" and "<-" keep their
// hyphen because it does not join two words.
func fold(s string) string {
	r := []rune(strings.ToLower(s))
	for i, c := range r {
		switch {
		case c == ',':
			r[i] = ' '
		case c == '-' && i > 0 && i+1 < len(r) && isWordRune(r[i-1]) && isWordRune(r[i+1]):
			r[i] = ' '
		}
	}
	return strings.Join(strings.Fields(string(r)), " ")
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// wrapping is what chat puts around a term: code marks, Slack's bold,
// italic and strike marks, and quotes.
const wrapping = "`*_~\"'“”‘’«»"

// punctuation is what a sentence puts around a term.
const punctuation = ".,;:!?()[]<>-"

// candidates lists the forms of a query to try, most literal first, so that
// a name that is itself punctuation (":=", "_", "...") is found before the
// trimming would strip it away.
func candidates(s string) []string {
	var out []string
	add := func(c string) {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	f := fold(s)
	add(f)
	f = unwrap(f)
	add(f)
	f = trim(f, wrapping)
	add(f)
	f = trim(f, punctuation+wrapping)
	add(f)
	for _, article := range []string{"a ", "an ", "the "} {
		if rest, ok := strings.CutPrefix(f, article); ok && rest != "" {
			f = rest
			add(f)
			break
		}
	}
	for _, c := range slices.Clone(out) {
		for _, sg := range singulars(c) {
			add(sg)
		}
	}
	if len(out) == 1 && out[0] == "" {
		return nil
	}
	return out
}

// unwrap strips matching marks from around s, layer by layer, so that
// "`_`" becomes "_" where trimming every mark would leave nothing.
func unwrap(s string) string {
	pairs := map[rune]rune{'“': '”', '‘': '’', '«': '»'}
	for {
		r := []rune(s)
		if len(r) < 3 {
			return s
		}
		first, last := r[0], r[len(r)-1]
		closing, paired := pairs[first]
		if !(paired && last == closing) && !(first == last && strings.ContainsRune(wrapping, first)) {
			return s
		}
		s = strings.TrimSpace(string(r[1 : len(r)-1]))
	}
}

// trim strips the characters in cutset from both ends of s and spaces
// around them, unless that would leave nothing: "_" stays the blank
// identifier rather than becoming an empty query.
func trim(s, cutset string) string {
	t := strings.TrimSpace(strings.Trim(s, cutset+" "))
	if t == "" {
		return s
	}
	return t
}

// singulars returns the forms the last word of s may have had before
// English made it plural or possessive: "goroutines" → "goroutine",
// "mutexes" → "mutex", "dependencies" → "dependency", "gopher's" → "gopher".
// Several rules can apply ("closures" → "closur", "closure"); the caller
// tries each and wrong ones simply find nothing.
func singulars(s string) []string {
	var out []string
	for _, suffix := range []string{"'s", "’s", "s'"} {
		if t, ok := strings.CutSuffix(s, suffix); ok && len(t) >= 2 {
			if suffix == "s'" {
				t += "s"
			}
			s = t
			out = append(out, t)
		}
	}
	if strings.HasSuffix(s, "ss") || len(s) < 4 {
		return out
	}
	if t, ok := strings.CutSuffix(s, "ies"); ok {
		out = append(out, t+"y")
	}
	if t, ok := strings.CutSuffix(s, "es"); ok {
		out = append(out, t)
	}
	if t, ok := strings.CutSuffix(s, "s"); ok {
		out = append(out, t)
	}
	return out
}

// checkName returns why a term or alias is unusable, or "".
func checkName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "is empty"
	case name != strings.TrimSpace(name):
		return "has white space around it"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "contains a control character"
	case utf8.RuneCountInString(name) > MaxTermLen:
		return fmt.Sprintf("is longer than %d characters", MaxTermLen)
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	}
	return ""
}

// checkDefinition returns why a definition is unusable, or "".
func checkDefinition(def string) string {
	n := utf8.RuneCountInString(def)
	switch {
	case strings.TrimSpace(def) == "":
		return "is empty"
	case def != strings.TrimSpace(def):
		return "has white space around it"
	case !utf8.ValidString(def):
		return "is not valid UTF-8"
	case n < MinDefinitionLen:
		return fmt.Sprintf("is %d characters, shorter than %d", n, MinDefinitionLen)
	case n > MaxDefinitionLen:
		return fmt.Sprintf("is %d characters, longer than %d", n, MaxDefinitionLen)
	}
	return ""
}

// checkLink returns why a link is unusable, or "".
func checkLink(link string) string {
	if link == "" {
		return "is empty"
	}
	if strings.ContainsFunc(link, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "contains white space"
	}
	u, err := url.Parse(link)
	if err != nil {
		return "does not parse: " + err.Error()
	}
	switch {
	case u.Scheme != "https":
		return "is not https"
	case u.Opaque != "" || u.Host == "":
		return "has no host"
	case u.User != nil:
		return "carries user information"
	case u.Port() != "":
		return "names a port"
	case !slices.Contains(allowedLinkHosts, u.Host):
		return fmt.Sprintf("is not on an allowed host (%s)", strings.Join(allowedLinkHosts, ", "))
	case u.Host == "github.com" && !strings.HasPrefix(u.Path, "/golang/"):
		return "is on github.com but not under github.com/golang/"
	}
	return ""
}
