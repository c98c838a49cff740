package glossary

import (
	"regexp"
	"strings"
	"testing"
)

// The define command sends a definition as Slack message text: it escapes
// &, < and > itself and bolds the term as *term*, and a "did you mean" shows
// terms in `code`. These tests keep the data from rendering as something
// else in Slack.

// emphasis matches text that Slack's mrkdwn would turn bold (*x*), italic
// (_x_) or struck through (~x~): a mark after the start or a non-word
// character, text that neither starts nor ends with a space, and the same
// mark before the end or a non-word character.
var emphasis = func() []*regexp.Regexp {
	var res []*regexp.Regexp
	for _, m := range []string{`\*`, `_`, `~`} {
		res = append(res, regexp.MustCompile(
			`(?:^|[^\p{L}\p{N}`+m+`])`+m+`[^\s`+m+`](?:[^\n`+m+`]*[^\s`+m+`])?`+m+`(?:$|[^\p{L}\p{N}`+m+`])`))
	}
	return res
}()

// entity matches an HTML entity, which would show up literally ("&amp;lt;")
// because the command escapes the & itself.
var entity = regexp.MustCompile(`&(?:[A-Za-z]+|#[0-9]+|#x[0-9A-Fa-f]+);`)

// urlWithComma matches an address followed by a comma and more text with no
// space between: Slack may take the whole run as the link.
var urlWithComma = regexp.MustCompile(`[a-z]+://\S*,\S`)

// slackProblems returns why text s, sent as a Slack message, would not show
// as written, or nothing.
func slackProblems(s string) []string {
	var out []string
	for _, re := range emphasis {
		if m := re.FindString(s); m != "" {
			out = append(out, "Slack would format "+m)
		}
	}
	if strings.Count(s, "`")%2 != 0 {
		out = append(out, "an odd number of backticks leaves a code span open")
	}
	if m := entity.FindString(s); m != "" {
		out = append(out, "HTML entity "+m+" would show literally once escaped")
	}
	if m := urlWithComma.FindString(s); m != "" {
		out = append(out, "address "+m+" runs into a comma")
	}
	return out
}

func TestSlackProblems(t *testing.T) {
	bad := []string{
		"a *bold* word",
		"*bold* at the start",
		"ends in *bold*",
		"(*bold*)",
		"an _italic_ word",
		"a ~struck~ word",
		"one ` backtick",
		"the &lt;- operator",
		"&amp; more",
		"the default, https://proxy.golang.org,direct, is used",
	}
	for _, s := range bad {
		if len(slackProblems(s)) == 0 {
			t.Errorf("slackProblems(%q) found nothing", s)
		}
	}
	good := []string{
		"A pointer *T holds an address: &x takes it and *p reads through it.",
		"(*MyWriter)(nil) makes sure that *MyWriter implements io.Writer.",
		"5 * time.Second and time.Duration(n) * time.Second.",
		"WithTimeout(5*time.Second)",
		"x_windows.go or x_arm64.go, and CGO_ENABLED=0.",
		"its _test.go files",
		"import _ \"path\" and var _ I = T{}",
		"~int | ~float64, where ~int means any int",
		"a tag such as `json:\"name\"` in code",
		"the <- operator && the & operator",
		"see https://go.dev/ref/spec, then the FAQ",
	}
	for _, s := range good {
		if p := slackProblems(s); len(p) != 0 {
			t.Errorf("slackProblems(%q) = %q, want nothing", s, p)
		}
	}
}

func TestDefaultSlackFormatting(t *testing.T) {
	for _, e := range builtin {
		for _, p := range slackProblems(e.Definition) {
			t.Errorf("%s: definition: %s", e.Term, p)
		}
		// The term is shown bold and, as a suggestion, in code: a * or
		// a backtick in it would end either early.
		if strings.ContainsAny(e.Term, "*`") {
			t.Errorf("%s: the term holds * or `", e.Term)
		}
		for _, name := range append([]string{e.Term}, e.Aliases...) {
			if m := entity.FindString(name); m != "" {
				t.Errorf("%s: name %q holds the HTML entity %s; names are matched against unescaped text", e.Term, name, m)
			}
		}
	}
}
