package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gophers/gopherbot/handler"
)

func (b *bot) registerLookups(mx *handler.Mux) {
	mx.Prefix("define ", "<term> A short definition of a Go term.", handler.HandlerFunc(b.define))
	mx.Prefix("xkcd:", "<number or name> A link to an xkcd comic, such as `xkcd:927` or `xkcd:standards`.", handler.HandlerFunc(b.xkcd))
	mx.Prefix("d/", "<import path> A link to the package's documentation, such as `d/net/http` or `d/net/http#Client`.", handler.HandlerFunc(b.doc))
	mx.Prefix("ghd/", "<owner/repo> A link to the documentation of a GitHub repository's package.", handler.HandlerFunc(b.githubDoc))
}

// define answers from the glossary.
func (b *bot) define(ctx context.Context, m *handler.Message, r handler.Responder) error {
	term := argument(m.Arg)
	if term == "" {
		term = b.punctuationTerm(m.Text)
	}
	if term == "" {
		return r.Reply(ctx, "Which term? For example `define goroutine` or `define zero value`.", handler.MentionAsked())
	}
	if e, ok := b.Glossary.Lookup(term); ok {
		// Definitions are plain text with code in it (<-, &&): escaped so
		// that Slack shows them as written.
		return r.Reply(ctx, fmt.Sprintf("*%s*: %s\nMore: %s", handler.Escape(e.Term), handler.Escape(e.Definition), e.Link), handler.MentionAsked())
	}
	b.Log.Info().Str("term", term).Msg("commands: define: unknown term")
	shown := quote(term)
	if near := b.Glossary.Suggest(term, 3); len(near) > 0 {
		quoted := make([]string, len(near))
		for i, s := range near {
			quoted[i] = "`" + handler.Escape(s) + "`"
		}
		return r.Reply(ctx, fmt.Sprintf("I don't know %s. Did you mean %s?", shown, orList(quoted)), handler.MentionAsked())
	}
	return r.Reply(ctx, fmt.Sprintf("I don't have %s in my glossary. "+
		"The spec (https://go.dev/ref/spec) and the FAQ (https://go.dev/doc/faq) may cover it, or ask here and someone will explain. "+
		"If you think it belongs in the glossary, please propose it to the bot's maintainers.", shown), handler.MentionAsked())
}

// punctuationTerm is for a define whose Arg came out empty: the Mux drops a
// sentence's last '?', '!' and '.', which leaves nothing of a term that is
// punctuation itself ("..."). It returns such a term when the glossary has
// it, else "".
func (b *bot) punctuationTerm(text string) string {
	rest, ok := cutPrefixFold(argument(text), "define")
	if !ok {
		return ""
	}
	rest = strings.TrimSpace(rest)
	for _, t := range []string{rest, strings.TrimSpace(strings.TrimRight(rest, "?!"))} {
		if _, found := b.Glossary.Lookup(t); t != "" && found {
			return t
		}
	}
	return ""
}

// cutPrefixFold is strings.CutPrefix, ignoring case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// quote shows what the asker typed, escaped so that it is shown as typed,
// and shortened.
func quote(s string) string {
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "…"
	}
	return "“" + handler.Escape(s) + "”"
}

// orList writes "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// xkcdComics are the comics people ask for by name; the first name is the
// one the help for a bad argument shows.
var xkcdComics = []struct {
	n     int
	names []string
}{
	{149, []string{"sandwich"}},
	{208, []string{"regex", "regular expressions"}},
	{221, []string{"random"}},
	{292, []string{"goto"}},
	{303, []string{"compiling"}},
	{327, []string{"exploits", "bobby tables", "bobby"}},
	{353, []string{"python"}},
	{378, []string{"real programmers"}},
	{386, []string{"duty calls", "wrong on the internet"}},
	{538, []string{"security"}},
	{844, []string{"good code"}},
	{927, []string{"standards"}},
	{936, []string{"password", "password strength"}},
	{979, []string{"wisdom of the ancients", "denvercoder9"}},
	{1172, []string{"workflow"}},
	{1205, []string{"is it worth the time", "worth the time"}},
	{1296, []string{"git commit"}},
	{1319, []string{"automation"}},
	{1513, []string{"code quality"}},
	{1597, []string{"git"}},
	{1691, []string{"optimization", "optimisation"}},
	{1838, []string{"machine learning"}},
	{1987, []string{"python environment"}},
	{2347, []string{"dependency"}},
}

// xkcdNames maps every name of xkcdComics to its number.
var xkcdNames = func() map[string]int {
	m := make(map[string]int)
	for _, c := range xkcdComics {
		for _, name := range c.names {
			if _, dup := m[name]; dup {
				panic("commands: xkcd name " + name + " twice")
			}
			m[name] = c.n
		}
	}
	return m
}()

// maxXKCD is a sanity bound: far above the number of comics, but it keeps
// nonsense such as 99999999999 out of links.
const maxXKCD = 99999

func (b *bot) xkcd(ctx context.Context, m *handler.Message, r handler.Responder) error {
	arg := strings.ToLower(lookupArg(m.Arg))
	// Names forgive hyphens and underscores: bobby-tables, bobby_tables.
	name := strings.Join(strings.FieldsFunc(arg, func(c rune) bool { return c == ' ' || c == '-' || c == '_' }), " ")
	n, ok := xkcdNames[name]
	if !ok {
		// A number too long for an int is still a number, one that is far
		// out of range; Atoi then gives the largest int of its sign.
		v, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(arg, "#")))
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange):
			// Not a number: the help below.
		case v < 1:
			return r.Reply(ctx, "xkcd comics are numbered from 1, like `xkcd:1` (it is about barrels).", handler.MentionAsked())
		case v > maxXKCD:
			b.Log.Info().Str("arg", m.Arg).Msg("commands: xkcd: no comic has that number")
			return r.Reply(ctx, "There is no xkcd comic with a number that high: there are a few thousand so far. "+
				"Try `xkcd:927`, or a name such as `xkcd:standards`.", handler.MentionAsked())
		default:
			n, ok = v, true
		}
	}
	if !ok {
		b.Log.Info().Str("arg", m.Arg).Msg("commands: xkcd: not a number or known name")
		names := make([]string, 0, len(xkcdComics))
		for _, c := range xkcdComics {
			names = append(names, "`"+c.names[0]+"`")
		}
		slices.Sort(names)
		return r.Reply(ctx, "I need a comic number, like `xkcd:927`, or one of the names I know: "+strings.Join(names, ", ")+".", handler.MentionAsked())
	}
	return r.Reply(ctx, fmt.Sprintf("https://xkcd.com/%d/", n), handler.MentionAsked(), handler.Unfurl())
}

func (b *bot) doc(ctx context.Context, m *handler.Message, r handler.Responder) error {
	arg := trimScheme(lookupArg(m.Arg))
	var path, anchor string
	ok := false
	if rest, site := strings.CutPrefix(arg, "pkg.go.dev/"); site {
		// A pkg.go.dev address is its import path already, at times with
		// a version or a tab.
		path, anchor, ok = pkgsitePath(rest)
	} else {
		path, anchor, ok = importPath(arg)
	}
	if !ok {
		b.Log.Info().Str("arg", m.Arg).Msg("commands: d/: not an import path")
		return r.Reply(ctx, "That does not look like an import path. Try `d/net/http` or `d/golang.org/x/sync/errgroup`, "+
			"and add `#Name` to jump to a symbol, as in `d/net/http#Client`.", handler.MentionAsked())
	}
	return r.Reply(ctx, docLink(path, anchor), handler.MentionAsked())
}

func (b *bot) githubDoc(ctx context.Context, m *handler.Message, r handler.Responder) error {
	arg := strings.TrimPrefix(trimScheme(lookupArg(m.Arg)), "github.com/")
	path, anchor, ok := importPath(arg)
	if ok {
		path = githubPackage(path)
		ok = githubRepo(path)
	}
	if !ok {
		b.Log.Info().Str("arg", m.Arg).Msg("commands: ghd/: not a GitHub repository")
		return r.Reply(ctx, "I need a GitHub repository as `owner/repo`, like `ghd/spf13/cobra`, "+
			"optionally with a package path inside it (`ghd/owner/repo/sub/pkg`) or a `#Name`.", handler.MentionAsked())
	}
	return r.Reply(ctx, docLink("github.com/"+path, anchor), handler.MentionAsked())
}

// pkgsitePath is importPath for the path of a pkg.go.dev address, as
// copied from the browser: a tab (?tab=versions) is dropped, and a version
// after the module path (golang.org/x/sync@v0.7.0/errgroup) is kept in
// the path, since the asker looked at that version.
func pkgsitePath(s string) (path, anchor string, ok bool) {
	s, anchor, hasAnchor := strings.Cut(s, "#")
	s, query, _ := strings.Cut(s, "?")
	if strings.ContainsAny(query, " \t\n") {
		// Words after the address: not an address.
		return "", "", false
	}
	module, rest, versioned := strings.Cut(s, "@")
	if !versioned {
		module = s
	}
	version, sub, _ := strings.Cut(rest, "/")
	if versioned && (module == "" || strings.HasSuffix(module, "/") || !validVersion(version) || strings.Contains(sub, "@")) {
		return "", "", false
	}
	plain := module
	if sub != "" {
		plain += "/" + sub
	}
	if hasAnchor {
		plain += "#" + anchor
	}
	path, anchor, ok = importPath(plain)
	if !ok || !versioned {
		return path, anchor, ok
	}
	if !strings.HasPrefix(path, module) {
		// The module's last element was taken for a symbol (a.B@v1):
		// no address pkg.go.dev makes.
		return "", "", false
	}
	return module + "@" + version + path[len(module):], anchor, true
}

// validVersion reports whether v reads as a module version or a Go
// release as pkg.go.dev writes them: v1.8.0, v0.0.0-20240102-abcdef,
// v2.0.0+incompatible, go1.22.0.
func validVersion(v string) bool { return shortWord(v, "-.+_") }

// shortWord reports whether s is 1 to 100 letters, digits and the runes
// of also.
func shortWord(s, also string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, c := range s {
		if !isAlnum(c) && !strings.ContainsRune(also, c) {
			return false
		}
	}
	return true
}

// lookupArg is argument for xkcd:, d/ and ghd/, without the comma or
// semicolon that may end it before the people it is addressed to
// ("xkcd:927, @ann").
func lookupArg(s string) string {
	return strings.TrimRight(argument(s), ",; ")
}

// trimScheme removes the https:// or http:// of an address.
func trimScheme(s string) string {
	for _, scheme := range []string{"https://", "http://"} {
		if rest, ok := cutPrefixFold(s, scheme); ok {
			return rest
		}
	}
	return s
}

// githubPackage turns the path of a GitHub page (owner/repo.git,
// owner/repo/tree/main/sub, owner/repo/blob/main/sub/file.go or any other
// file), as copied from a browser, into the path of the package it shows
// (owner/repo, owner/repo/sub). The branch is dropped: pkg.go.dev shows
// the latest version.
func githubPackage(path string) string {
	parts := strings.Split(path, "/")
	if len(parts) >= 2 {
		parts[1] = strings.TrimSuffix(parts[1], ".git")
	}
	if len(parts) >= 4 && (parts[2] == "tree" || parts[2] == "blob") {
		blob := parts[2] == "blob"
		parts = append(parts[:2:2], parts[4:]...)
		if blob && len(parts) > 2 {
			// A blob is a file (main.go, README.md, go.mod): its
			// package is the directory it is in.
			parts = parts[:len(parts)-1]
		}
	}
	return strings.Join(parts, "/")
}

func docLink(path, anchor string) string {
	link := "https://pkg.go.dev/" + path
	if anchor != "" {
		link += "#" + anchor
	}
	return link
}

// maxPathLen bounds an import path; real ones are far shorter.
const maxPathLen = 250

// importPath splits "net/http#Client" into path and anchor, and reports
// whether both are well formed: path elements made of letters, digits and
// "-._~+", none empty, none "." or "..", none starting or ending with a dot;
// an anchor of letters, digits and "-._". No spaces anywhere, so a sentence
// after the path is refused rather than linked. A symbol written as in
// code, "net/http.Client", is the anchor too (a dot and a capital in the
// last element; "yaml.v3" is a package).
func importPath(s string) (path, anchor string, ok bool) {
	path, anchor, ok = splitImportPath(s)
	if !ok || anchor != "" {
		return path, anchor, ok
	}
	last := path[strings.LastIndexByte(path, '/')+1:]
	if i := strings.IndexByte(last, '.'); i > 0 && last[i+1] >= 'A' && last[i+1] <= 'Z' && validAnchor(last[i+1:]) {
		start := len(path) - len(last)
		return path[:start+i], last[i+1:], true
	}
	return path, anchor, true
}

// splitImportPath is importPath without the symbol written as in code.
func splitImportPath(s string) (path, anchor string, ok bool) {
	path, anchor, hasAnchor := strings.Cut(s, "#")
	path = strings.TrimSuffix(path, "/")
	if path == "" || len(path) > maxPathLen || hasAnchor && !validAnchor(anchor) {
		return "", "", false
	}
	for elem := range strings.SplitSeq(path, "/") {
		if elem == "" || elem[0] == '.' || elem[len(elem)-1] == '.' {
			return "", "", false
		}
		for _, c := range elem {
			if !isAlnum(c) && !strings.ContainsRune("-._~+", c) {
				return "", "", false
			}
		}
	}
	return path, anchor, true
}

func validAnchor(a string) bool { return shortWord(a, "-._") }

// githubRepo reports whether path starts with a plausible owner/repo:
// GitHub owners are letters, digits and inner hyphens.
func githubRepo(path string) bool {
	parts := strings.Split(path, "/")
	if len(parts) < 2 {
		return false
	}
	owner := parts[0]
	if len(owner) > 39 || strings.HasPrefix(owner, "-") || strings.HasSuffix(owner, "-") {
		return false
	}
	for _, c := range owner {
		if !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
