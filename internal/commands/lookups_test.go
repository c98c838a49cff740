package commands

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gophers/gopherbot/glossary"
	"github.com/gophers/gopherbot/handler"
)

func TestDefine(t *testing.T) {
	e := newEnv(t)
	goroutine := "*goroutine*: " + testEntries[0].Definition + "\nMore: " + testEntries[0].Link
	zero := "*zero value*: " + testEntries[1].Definition + "\nMore: " + testEntries[1].Link
	for _, tt := range []struct {
		text string
		want string   // the whole reply, or
		has  []string // parts it must have
		not  []string // and parts it must not
	}{
		{text: "define goroutine", want: goroutine},
		{text: "DEFINE Goroutine", want: goroutine},
		{text: "define goroutines", want: goroutine},
		{text: "define go routine", want: goroutine},
		{text: "define zero value", want: zero},
		{text: "define chan", want: "*channel*: A typed conduit: ch &lt;- v sends, v := &lt;-ch receives, &amp;&amp; more.\nMore: https://go.dev/ref/spec#Channel_types"},
		{text: "define  zero   values?", want: zero},
		{text: "define gorutine", has: []string{"Did you mean", "`goroutine`"}},
		{text: "define kubernetes operator", has: []string{"kubernetes operator", "https://go.dev/ref/spec", "https://go.dev/doc/faq", "propose"}},
		{text: "define", has: []string{"define goroutine"}},
		{text: "define <!channel>", has: []string{"define goroutine"}, not: []string{"<!channel>"}},
		{text: "define a&lt;b&amp;c", has: []string{"a&lt;b&amp;c"}, not: []string{"a<b"}},
	} {
		t.Run(tt.text, func(t *testing.T) {
			got := e.mustServe(t, mention(tt.text+" <@UBOB>"))
			if len(got) != 1 || got[0].Op != "reply" || !cmp.Equal(got[0].Mention, []string{"UBOB"}) {
				t.Fatalf("got %+v, want one reply addressing UBOB", got)
			}
			text := got[0].Text
			if tt.want != "" && text != tt.want {
				t.Errorf("reply = %q, want %q", text, tt.want)
			}
			for _, s := range tt.has {
				if !strings.Contains(text, s) {
					t.Errorf("reply %q does not contain %q", text, s)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(text, s) {
					t.Errorf("reply %q contains %q", text, s)
				}
			}
		})
	}
}

func TestXKCD(t *testing.T) {
	e := newEnv(t)
	for text, n := range map[string]string{
		"xkcd:927":                  "927",
		"XKCD: 303":                 "303",
		"xkcd:#292":                 "292",
		"xkcd:standards":            "927",
		"xkcd:compiling":            "303",
		"xkcd:goto":                 "292",
		"xkcd:exploits":             "327",
		"xkcd:bobby tables":         "327",
		"xkcd:Bobby-Tables":         "327",
		"xkcd:dependency":           "2347",
		"xkcd:regex":                "208",
		"xkcd:automation":           "1319",
		"xkcd:optimization":         "1691",
		"xkcd:927 <@UBOB>":          "927",
		"xkcd:is it worth the time": "1205",
		// Leading zeros are still the number.
		"xkcd:0927":                   "927",
		"xkcd:#0303":                  "303",
		"xkcd:0000000000000000000001": "1",
		"xkcd:+149":                   "149",
		"xkcd:Wisdom_of_the_Ancients": "979",
		"xkcd:DenverCoder9":           "979",
		"xkcd:99999":                  "99999",
		// Punctuation before the people it is addressed to.
		"xkcd:927, <@UBOB>":       "927",
		"xkcd:standards; <@UBOB>": "927",
	} {
		got := e.mustServe(t, mention(text))
		want := call{Op: "reply", Text: "https://xkcd.com/" + n + "/", Unfurl: true}
		if strings.Contains(text, "UBOB") {
			want.Mention = []string{"UBOB"}
		}
		if diff := cmp.Diff([]call{want}, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", text, diff)
		}
	}
	for _, text := range []string{"xkcd:0", "xkcd:-5", "xkcd:000", "xkcd:#-1", "xkcd:-99999999999999999999"} {
		got := e.mustServe(t, mention(text))
		if len(got) != 1 || !strings.Contains(got[0].Text, "numbered from 1") {
			t.Errorf("%q answered %+v, want one reply saying comics start at 1", text, got)
		}
	}
	// A number, only too big: no comic has it, whether or not it fits
	// an int. Not echoed, however long it is.
	for _, text := range []string{"xkcd:100000", "xkcd:99999999999999999999", "xkcd:#99999999999999999999999"} {
		got := e.mustServe(t, mention(text))
		if len(got) != 1 || !strings.Contains(got[0].Text, "no xkcd comic") || strings.Contains(got[0].Text, "xkcd.com/") ||
			strings.Contains(got[0].Text, "I need") || strings.Contains(got[0].Text, "100000") || strings.Contains(got[0].Text, "9999") {
			t.Errorf("%q answered %+v, want one reply saying there is no such comic", text, got)
		}
	}
	for _, text := range []string{"xkcd:", "xkcd:abc", "xkcd:1.5", "xkcd:12abc", "xkcd:<!here>", "xkcd:no such name"} {
		got := e.mustServe(t, mention(text))
		if len(got) != 1 || !strings.Contains(got[0].Text, "comic number") || strings.Contains(got[0].Text, "xkcd.com/") || strings.Contains(got[0].Text, "<!") {
			t.Errorf("%q answered %+v, want one reply asking for a number or name", text, got)
		}
		if !strings.Contains(got[0].Text, "`standards`") {
			t.Errorf("%q: the answer does not list the names", text)
		}
	}
}

func TestDocLinks(t *testing.T) {
	e := newEnv(t)
	for text, want := range map[string]string{
		"d/net/http":                   "https://pkg.go.dev/net/http",
		"D/fmt":                        "https://pkg.go.dev/fmt",
		"d/net/http#Client":            "https://pkg.go.dev/net/http#Client",
		"d/net/http#Client.Do":         "https://pkg.go.dev/net/http#Client.Do",
		"d/golang.org/x/sync/errgroup": "https://pkg.go.dev/golang.org/x/sync/errgroup",
		"d/gopkg.in/yaml.v3":           "https://pkg.go.dev/gopkg.in/yaml.v3",
		"d/net/http/":                  "https://pkg.go.dev/net/http",
		// Slack turns what looks like a domain into a link; the label counts.
		"d/<http://github.com/spf13/cobra|github.com/spf13/cobra>": "https://pkg.go.dev/github.com/spf13/cobra",
		"ghd/spf13/cobra":                            "https://pkg.go.dev/github.com/spf13/cobra",
		"ghd/spf13/cobra#Command":                    "https://pkg.go.dev/github.com/spf13/cobra#Command",
		"ghd/redis/go-redis/v9":                      "https://pkg.go.dev/github.com/redis/go-redis/v9",
		"ghd/github.com/rs/zerolog":                  "https://pkg.go.dev/github.com/rs/zerolog",
		"ghd/<https://github.com/rs/zerolog>":        "https://pkg.go.dev/github.com/rs/zerolog",
		"ghd/mattn/go-sqlite3":                       "https://pkg.go.dev/github.com/mattn/go-sqlite3",
		"ghd/google/go-cmp/cmp/cmpopts#IgnoreFields": "https://pkg.go.dev/github.com/google/go-cmp/cmp/cmpopts#IgnoreFields",
		// The end of a sentence is not part of the path, nor a comma
		// before the people it is addressed to.
		"d/x/y.":                           "https://pkg.go.dev/x/y",
		"d/net/http,":                      "https://pkg.go.dev/net/http",
		"ghd/spf13/cobra;":                 "https://pkg.go.dev/github.com/spf13/cobra",
		"d/<https://pkg.go.dev/net/http>,": "https://pkg.go.dev/net/http",
		// A symbol written as in code goes to its anchor: pkg.go.dev has
		// no page at net/http.Client.
		"d/net/http.Client":       "https://pkg.go.dev/net/http#Client",
		"d/fmt.Println":           "https://pkg.go.dev/fmt#Println",
		"d/net/http.Client.Do":    "https://pkg.go.dev/net/http#Client.Do",
		"ghd/spf13/cobra.Command": "https://pkg.go.dev/github.com/spf13/cobra#Command",
		// Addresses copied from a browser, as Slack sends them.
		"d/<https://pkg.go.dev/net/http|pkg.go.dev/net/http>":                   "https://pkg.go.dev/net/http",
		"d/<https://pkg.go.dev/net/http#Client>":                                "https://pkg.go.dev/net/http#Client",
		"d/<https://github.com/spf13/cobra>":                                    "https://pkg.go.dev/github.com/spf13/cobra",
		"ghd/<https://github.com/spf13/cobra.git>":                              "https://pkg.go.dev/github.com/spf13/cobra",
		"ghd/<https://github.com/spf13/cobra/tree/main/doc>":                    "https://pkg.go.dev/github.com/spf13/cobra/doc",
		"ghd/<https://github.com/rs/zerolog/blob/master/log/log.go>":            "https://pkg.go.dev/github.com/rs/zerolog/log",
		"ghd/<https://github.com/rs/zerolog/tree/master|github.com/rs/zerolog>": "https://pkg.go.dev/github.com/rs/zerolog",
		// Any file's page stands for its directory's package, not only a
		// .go file's: pkg.go.dev has no page for README.md.
		"ghd/<https://github.com/spf13/cobra/blob/main/README.md>":    "https://pkg.go.dev/github.com/spf13/cobra",
		"ghd/<https://github.com/rs/zerolog/blob/master/log/go.mod>":  "https://pkg.go.dev/github.com/rs/zerolog/log",
		"ghd/<https://github.com/spf13/cobra/blob/main/doc/Makefile>": "https://pkg.go.dev/github.com/spf13/cobra/doc",
		// pkg.go.dev's own addresses name a version and a tab at times.
		"d/<https://pkg.go.dev/github.com/spf13/cobra@v1.8.0>":         "https://pkg.go.dev/github.com/spf13/cobra@v1.8.0",
		"d/<https://pkg.go.dev/github.com/spf13/cobra@v1.8.0#Command>": "https://pkg.go.dev/github.com/spf13/cobra@v1.8.0#Command",
		"d/<https://pkg.go.dev/github.com/spf13/cobra@v1.8.0/doc>":     "https://pkg.go.dev/github.com/spf13/cobra@v1.8.0/doc",
		"d/<https://pkg.go.dev/net/http?tab=doc>":                      "https://pkg.go.dev/net/http",
		"d/<https://pkg.go.dev/net/http@go1.22.0?tab=doc#Client>":      "https://pkg.go.dev/net/http@go1.22.0#Client",
		"d/pkg.go.dev/golang.org/x/sync@v0.7.0/errgroup":               "https://pkg.go.dev/golang.org/x/sync@v0.7.0/errgroup",
	} {
		got := e.mustServe(t, mention(text+" <@UBOB>"))
		if diff := cmp.Diff([]call{reply(want, "UBOB")}, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", text, diff)
		}
	}

	for _, text := range []string{
		"d/", "d/net http", "d/../etc/passwd", "d/net//http", "d/foo$bar", "d/net/http#",
		"d/net/http#a b", "d/<!channel>", "d/.hidden", "d/x/.y", "d/net/http?x=1", "d/" + strings.Repeat("a/", 200) + "a",
		// A version is for pkg.go.dev addresses, and well formed.
		"d/net/http@latest", "d/<https://pkg.go.dev/net@/http>", "d/<https://pkg.go.dev/@v1.0.0>",
		"d/<https://pkg.go.dev/a@v1/b@v2>", "d/<https://pkg.go.dev/a@v1 x>", "d/<https://pkg.go.dev/net/http?tab=doc x>",
	} {
		got := e.mustServe(t, mention(text))
		if len(got) != 1 || !strings.Contains(got[0].Text, "import path") || strings.Contains(got[0].Text, "pkg.go.dev") || strings.Contains(got[0].Text, "<!") {
			t.Errorf("%q answered %+v, want one reply explaining the form", text, got)
		}
	}
	for _, text := range []string{"ghd/", "ghd/cobra", "ghd/-bad/repo", "ghd/own_er/repo", "ghd/owner/re po", "ghd/owner/..", "ghd/gitlab.com/x/y"} {
		got := e.mustServe(t, mention(text))
		if len(got) != 1 || !strings.Contains(got[0].Text, "owner/repo") || strings.Contains(got[0].Text, "pkg.go.dev") {
			t.Errorf("%q answered %+v, want one reply explaining the form", text, got)
		}
	}
}

func TestOrList(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a or b"},
		{[]string{"a", "b", "c"}, "a, b or c"},
	} {
		if got := orList(tt.in); got != tt.want {
			t.Errorf("orList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestXKCDEveryName(t *testing.T) {
	e := newEnv(t)
	for _, c := range xkcdComics {
		for _, name := range c.names {
			got := e.mustServe(t, mention("xkcd:"+name))
			want := call{Op: "reply", Text: fmt.Sprintf("https://xkcd.com/%d/", c.n), Unfurl: true}
			if diff := cmp.Diff([]call{want}, got); diff != "" {
				t.Errorf("xkcd:%s (-want +got):\n%s", name, diff)
			}
		}
	}
}

// TestDefineDefaultGlossary: with no Glossary, define uses the built-in one.
func TestDefineDefaultGlossary(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Glossary = nil })
	entry, ok := glossary.Default().Lookup("goroutine")
	if !ok {
		t.Fatal("the built-in glossary has no goroutine")
	}
	got := e.mustServe(t, mention("define goroutines"))
	want := "*" + entry.Term + "*: " + handler.Escape(entry.Definition) + "\nMore: " + entry.Link
	if diff := cmp.Diff([]call{reply(want)}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestDefineGC: "gc" is first the compiler toolchain's name, and the answer
// also sends those who meant the garbage collector on to that entry.
func TestDefineGC(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Glossary = nil })
	for _, text := range []string{"define gc", "define GC", "define `gc`?"} {
		got := e.mustServe(t, mention(text))
		if len(got) != 1 || got[0].Op != "reply" {
			t.Fatalf("%s: got %+v, want one reply", text, got)
		}
		for _, want := range []string{"*gc*: ", "cmd/compile", "gccgo", "garbage collector", "More: https://go.dev/doc/faq#"} {
			if !strings.Contains(got[0].Text, want) {
				t.Errorf("%s: reply does not contain %q:\n%s", text, want, got[0].Text)
			}
		}
	}
}

// TestDefinePunctuationTerm: a term that is punctuation itself ("...", an
// alias of "variadic function" in the built-in glossary) is not taken for
// the end of a sentence and lost.
func TestDefinePunctuationTerm(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Glossary = glossary.Default() })
	want, ok := glossary.Default().Lookup("...")
	if !ok {
		t.Fatal("the built-in glossary has no \"...\"; pick another punctuation term for this test")
	}
	for _, text := range []string{"define ...", "define ...?", "<@UBOB> define ..."} {
		got := e.mustServe(t, mention(text))
		if len(got) != 1 || !strings.HasPrefix(got[0].Text, "*"+want.Term+"*: ") {
			t.Errorf("%q answered %+v, want the definition of %q", text, got, want.Term)
		}
	}
	// Nothing after define is still a question for a term.
	if got := e.mustServe(t, mention("define ?")); len(got) != 1 || !strings.Contains(got[0].Text, "Which term?") {
		t.Errorf("\"define ?\" answered %+v, want the question for a term", got)
	}
}
