package commands

import (
	"context"
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
		return r.Reply(ctx, "Which term? For example `define goroutine` or `define zero value`.", handler.MentionAsked())
	}
	if e, ok := b.Glossary.Lookup(term); ok {
		return r.Reply(ctx, fmt.Sprintf("*%s*: %s\nMore: %s", handler.Escape(e.Term), e.Definition, e.Link), handler.MentionAsked())
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

// xkcdNames are the comics people ask for by name.
var xkcdNames = map[string]int{
	"sandwich":               149,
	"regex":                  208,
	"regular expressions":    208,
	"random":                 221,
	"goto":                   292,
	"compiling":              303,
	"exploits":               327,
	"bobby tables":           327,
	"bobby":                  327,
	"python":                 353,
	"real programmers":       378,
	"duty calls":             386,
	"wrong on the internet":  386,
	"security":               538,
	"good code":              844,
	"standards":              927,
	"password":               936,
	"password strength":      936,
	"wisdom of the ancients": 979,
	"denvercoder9":           979,
	"workflow":               1172,
	"is it worth the time":   1205,
	"worth the time":         1205,
	"git commit":             1296,
	"automation":             1319,
	"code quality":           1513,
	"git":                    1597,
	"optimization":           1691,
	"optimisation":           1691,
	"machine learning":       1838,
	"python environment":     1987,
	"dependency":             2347,
}

// maxXKCD is a sanity bound: far above the number of comics, but it keeps
// nonsense such as 99999999999 out of links.
const maxXKCD = 99999

func (b *bot) xkcd(ctx context.Context, m *handler.Message, r handler.Responder) error {
	arg := strings.ToLower(argument(m.Arg))
	// Names forgive hyphens and underscores: bobby-tables, bobby_tables.
	name := strings.Join(strings.FieldsFunc(arg, func(c rune) bool { return c == ' ' || c == '-' || c == '_' }), " ")
	n, ok := xkcdNames[name]
	if !ok {
		if v, err := strconv.Atoi(strings.TrimPrefix(arg, "#")); err == nil && v >= 1 && v <= maxXKCD {
			n, ok = v, true
		}
	}
	if !ok {
		b.Log.Info().Str("arg", m.Arg).Msg("commands: xkcd: not a number or known name")
		names := make([]string, 0, len(xkcdNames))
		for name := range xkcdNames {
			names = append(names, "`"+name+"`")
		}
		slices.Sort(names)
		return r.Reply(ctx, "I need a comic number, like `xkcd:927`, or one of the names I know: "+strings.Join(names, ", ")+".", handler.MentionAsked())
	}
	return r.Reply(ctx, fmt.Sprintf("https://xkcd.com/%d/", n), handler.MentionAsked(), handler.Unfurl())
}

func (b *bot) doc(ctx context.Context, m *handler.Message, r handler.Responder) error {
	arg := argument(m.Arg)
	path, anchor, ok := importPath(arg)
	if !ok {
		b.Log.Info().Str("arg", m.Arg).Msg("commands: d/: not an import path")
		return r.Reply(ctx, "That does not look like an import path. Try `d/net/http` or `d/golang.org/x/sync/errgroup`, "+
			"and add `#Name` to jump to a symbol, as in `d/net/http#Client`.", handler.MentionAsked())
	}
	return r.Reply(ctx, docLink(path, anchor), handler.MentionAsked())
}

func (b *bot) githubDoc(ctx context.Context, m *handler.Message, r handler.Responder) error {
	arg := argument(m.Arg)
	arg = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(arg, "https://"), "http://"), "github.com/")
	path, anchor, ok := importPath(arg)
	if ok {
		ok = githubRepo(path)
	}
	if !ok {
		b.Log.Info().Str("arg", m.Arg).Msg("commands: ghd/: not a GitHub repository")
		return r.Reply(ctx, "I need a GitHub repository as `owner/repo`, like `ghd/spf13/cobra`, "+
			"optionally with a package path inside it (`ghd/owner/repo/sub/pkg`) or a `#Name`.", handler.MentionAsked())
	}
	return r.Reply(ctx, docLink("github.com/"+path, anchor), handler.MentionAsked())
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
// after the path is refused rather than linked.
func importPath(s string) (path, anchor string, ok bool) {
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

func validAnchor(a string) bool {
	if a == "" || len(a) > 100 {
		return false
	}
	for _, c := range a {
		if !isAlnum(c) && !strings.ContainsRune("-._", c) {
			return false
		}
	}
	return true
}

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
