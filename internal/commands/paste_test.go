package commands

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/handler"
	"github.com/gophers/gopherbot/internal/playground"
	"github.com/gophers/gopherbot/workqueue"
)

// goCode returns a Go program of n non-blank lines.
func goCode(n int) string {
	var b strings.Builder
	b.WriteString("package main\n\nimport \"fmt\"\n\nfunc main() {\n")
	for i := 4; i < n; i++ {
		fmt.Fprintf(&b, "\tfmt.Println(%d)\n", i)
	}
	b.WriteString("}")
	return b.String()
}

// slackEscape writes text as Slack sends it.
func slackEscape(s string) string { return handler.Escape(s) }

// sharedReply is what a successful share of a paste answers: the link in
// the thread, then the note to the poster.
func sharedReply(link string) []call {
	return []call{
		{Op: "reply", Thread: true, Text: "I put that code on the Go Playground, where it is easier to read and run: " + link},
		{Op: "ephemeral", To: "UASKER", Text: pasteNote},
	}
}

// sharedUpload is what a successful share of an uploaded file answers: the
// note does not speak of pasting.
func sharedUpload(link string) []call {
	c := sharedReply(link)
	c[1].Text = uploadNote
	return c
}

const structCode = `type Config struct {
	Name     string
	Port     int
	Debug    bool
	Timeout  time.Duration
	Owner    string
	Replicas int
	Region   string
	Tags     []string
}`

const jsonBlob = `{
  "name": "gopher",
  "port": 8080,
  "debug": true,
  "tags": [
    "a",
    "b"
  ],
  "owner": "me",
  "region": "eu"
}`

const stackTrace = `panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.lookup(...)
	/tmp/sandbox/prog.go:8
main.main()
	/tmp/sandbox/prog.go:12 +0x1d
exit status 2
Program exited.
panic again: see above
goroutine 7 [chan receive]:`

const testOutput = `--- FAIL: TestParse (0.00s)
    parse_test.go:21: Parse("a") = 1, want 2
    parse_test.go:21: Parse("b") = 1, want 3
    parse_test.go:21: Parse("c") = 1, want 4
    parse_test.go:21: Parse("d") = 1, want 5
    parse_test.go:21: Parse("e") = 1, want 6
    parse_test.go:21: Parse("f") = 1, want 7
FAIL
exit status 1
FAIL	example.com/parse	0.004s`

func TestPastedCode(t *testing.T) {
	long := goCode(12)
	for _, tt := range []struct {
		name, text string
		code       string
		ok         bool
	}{
		{"long, no blocks", long, long, true},
		{"short, no blocks", goCode(9), goCode(9), false},
		{"ten lines exactly", goCode(10), goCode(10), true},
		{"blank lines do not count", strings.ReplaceAll(goCode(9), "\n", "\n\n\n"), strings.ReplaceAll(goCode(9), "\n", "\n\n\n"), false},
		{"long prose is not code", strings.Repeat("I tried everything and it still fails\n", 12), "", false},
		{"block", "my code:\n```" + long + "```\nwhy?", long + "\n", true},
		{"block with a go tag", "```go\n" + long + "\n```", long + "\n", true},
		{"two blocks count together", "```" + goCode(6) + "```\nand\n```" + goCode(6) + "```", goCode(6) + "\n\n" + goCode(6) + "\n", true},
		{"only block lines count", strings.Repeat("some words {\n", 12) + "```x := 1\ny := 2```", "x := 1\ny := 2\n", false},
		{"unclosed block runs to the end", "look ```" + long, long + "\n", true},
		{"struct fields are indented", structCode, structCode, true},
		{"JSON is not Go", jsonBlob, jsonBlob, false},
		{"stack trace in a block", "```" + stackTrace + "```", stackTrace + "\n", false},
		{"test output", testOutput, testOutput[:strings.IndexByte(testOutput, '\n')], false},
		// Unfenced, the words before and after the code are conversation:
		// not shared (they would not compile, and a <@U2> would name
		// someone on a public page), and not counted.
		{"prose around an unfenced paste", "<@U2> why does this fail?\n" + long + "\nAny idea? thanks!", long, true},
		{"a leading block comment is code", "/*\nCopyright 2024 Gopher.\n*/\n" + long, "/*\nCopyright 2024 Gopher.\n*/\n" + long, true},
		{"prose does not make it long", "Hi all, my loop prints nothing:\n" + goCode(9) + "\nwhat am I missing?", goCode(9), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, ok := pastedCode(tt.text)
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.code, code); diff != "" {
				t.Errorf("code (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlaygroundPaste(t *testing.T) {
	long := goCode(14)
	for _, tt := range []struct {
		name  string
		m     *handler.Message
		share string // the code shared; empty: nothing shared, nothing said
		note  bool   // the ephemeral note follows the link
	}{
		{"long paste in a channel", message(slackEscape(long)), long, true},
		{"long paste to the bot", mention(slackEscape(long)), long, true},
		{"in a DM, no etiquette note", message(slackEscape(long), asDM), long, false},
		{"code block", message("help please\n```" + slackEscape(long) + "```"), long + "\n", true},
		{"in a thread", message(slackEscape(long), func(m *handler.Message) { m.ThreadTS = "1700000000.000001" }), long, true},
		{"question around the code", message("<@UBOB> why does this print nothing?\n" + slackEscape(long) + "\nthanks!"), long, true},
		{"short paste", message(slackEscape(goCode(6))), "", false},
		{"short block in a long message", message(strings.Repeat("context line {\n", 15) + "```x := 1```"), "", false},
		{"opt out", message("nolink\n" + slackEscape(long)), "", false},
		{"opt out, any case", message("NoLink please ```" + slackEscape(long) + "```"), "", false},
		{"opt out in code quotes", message("`nolink`, thanks ```" + slackEscape(long) + "```"), "", false},
		{"opt out at the end", message(slackEscape(long) + "\n(nolink)"), "", false},
		{"opt out in italics", message("_nolink_\n" + slackEscape(long)), "", false},
		{"opt out in bold", message("*NOLINK* ```" + slackEscape(long) + "```"), "", false},
		// The word, not a part of an identifier: code that names
		// noLinkCheck or nolinkify did not ask to be left alone.
		{"identifier containing the word", message(slackEscape(goCodeWith("noLinkCheck := true"))), goCodeWith("noLinkCheck := true"), true},
		{"word as a prefix", message(slackEscape(goCodeWith("s = nolinkify(s)"))), goCodeWith("s = nolinkify(s)"), true},
		{"word as a suffix", message(slackEscape(goCodeWith("x := useNolink"))), goCodeWith("x := useNolink"), true},
		{"deny-listed by name", message(slackEscape(long), inChannel("COFFTOPIC")), "", false},
		{"deny-listed by ID", message(slackEscape(long), inChannel("CRANDOM")), "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			got := e.mustServe(t, tt.m)
			shares := e.pg.Shares()
			if tt.share == "" {
				if len(got) != 0 || len(shares) != 0 {
					t.Errorf("calls %+v and %d shares, want none", got, len(shares))
				}
				return
			}
			if len(shares) != 1 {
				t.Fatalf("%d shares, want 1", len(shares))
			}
			if diff := cmp.Diff(tt.share, string(shares[0].Code)); diff != "" {
				t.Errorf("shared code (-want +got):\n%s", diff)
			}
			want := sharedReply(e.pg.URL + "/p/" + shares[0].ID)
			if !tt.note {
				want = want[:1]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			// The link opens what was pasted.
			if code, ok := e.pg.Snippet(shares[0].ID); !ok || string(code) != tt.share {
				t.Errorf("the playground does not have the snippet")
			}
		})
	}
}

func TestPlaygroundFiles(t *testing.T) {
	const url1, url2, urlTxt = "https://files.slack.test/F1/main.go", "https://files.slack.test/F2/util.go", "https://files.slack.test/F3/notes.txt"
	goFile := func(id, url string) handler.File {
		return handler.File{ID: id, Name: id + ".go", Filetype: "go", URLPrivate: url, Lines: 3}
	}
	withFiles := func(fs ...handler.File) func(*handler.Message) {
		return func(m *handler.Message) { m.Files = fs }
	}
	e := newEnv(t)
	e.files.files[url1] = []byte("package main\n\nfunc main() {}\n")
	e.files.files[url2] = []byte("package main\n\nfunc util() {}\n")
	e.files.files[urlTxt] = []byte("some notes")

	// One short Go file is enough: an upload is never pasted inline.
	got := e.mustServe(t, message("here is my file", withFiles(goFile("F1", url1))))
	shares := e.pg.Shares()
	if len(shares) != 1 || string(shares[0].Code) != string(e.files.files[url1]) {
		t.Fatalf("shares %+v, want the file", shares)
	}
	if diff := cmp.Diff(sharedUpload(e.pg.URL+"/p/"+shares[0].ID), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// Two files: one reply listing both links.
	got = e.mustServe(t, message("", withFiles(goFile("F1", url1), goFile("F2", url2))))
	shares = e.pg.Shares()[1:]
	if len(shares) != 2 {
		t.Fatalf("%d shares, want 2", len(shares))
	}
	want := "I put that code on the Go Playground, where it is easier to read and run:\n• " +
		e.pg.URL + "/p/" + shares[0].ID + "\n• " + e.pg.URL + "/p/" + shares[1].ID
	if len(got) != 2 || got[0].Text != want {
		t.Errorf("got %+v, want a reply listing both links, then the note", got)
	}

	// A text file, or a Go file with nolink: left alone.
	before := len(e.pg.Shares())
	if got := e.mustServe(t, message("notes", withFiles(handler.File{ID: "F3", Name: "notes.txt", Filetype: "text", URLPrivate: urlTxt}))); len(got) != 0 {
		t.Errorf("text file: %+v, want nothing", got)
	}
	if got := e.mustServe(t, message("nolink", withFiles(goFile("F1", url1)))); len(got) != 0 {
		t.Errorf("nolink file: %+v, want nothing", got)
	}
	if n := len(e.pg.Shares()); n != before {
		t.Errorf("%d new shares, want none", n-before)
	}

	// A file that can never be downloaded is skipped; the others are shared.
	e.files.permanent = map[string]bool{"https://files.slack.test/F8/huge.go": true}
	before = len(e.pg.Shares())
	got = e.mustServe(t, message("", withFiles(goFile("F8", "https://files.slack.test/F8/huge.go"), goFile("F1", url1))))
	if shares := e.pg.Shares()[before:]; len(shares) != 1 || len(got) != 2 || !strings.HasSuffix(got[0].Text, "/p/"+shares[0].ID) {
		t.Errorf("with one file too large: calls %+v, shares %+v; want the other file linked", got, shares)
	}

	// A download that fails for a while is retried: an error, nothing said.
	got, err := e.serve(t, message("", withFiles(goFile("F9", "https://files.slack.test/F9/gone.go"))))
	if err == nil || len(got) != 0 {
		t.Errorf("failed download: calls %+v, err %v; want an error and nothing said", got, err)
	}
}

func TestPlaygroundNoFilesDep(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Files = nil })
	f := handler.File{ID: "F1", Name: "main.go", Filetype: "go", URLPrivate: "https://files.slack.test/F1"}
	if got := e.mustServe(t, message("file", func(m *handler.Message) { m.Files = []handler.File{f} })); len(got) != 0 {
		t.Errorf("without a Files dependency an upload got %+v", got)
	}
	// Pastes still work.
	if got := e.mustServe(t, message(slackEscape(goCode(12)))); len(got) != 2 {
		t.Errorf("paste got %+v, want link and note", got)
	}
}

func TestPlaygroundDown(t *testing.T) {
	e := newEnv(t)
	m := message(slackEscape(goCode(12)))

	e.pg.Fail(http.StatusInternalServerError)
	got, err := e.serve(t, m)
	if err == nil || errors.Is(err, playground.ErrRejected) {
		t.Errorf("err = %v, want a temporary error so that the event is retried", err)
	}
	if len(got) != 0 {
		t.Errorf("calls %+v, want nothing said while the playground is down", got)
	}

	// The retry, once the playground is back, answers in full.
	e.pg.Fail(0)
	got = e.mustServe(t, m)
	shares := e.pg.Shares()
	if diff := cmp.Diff(sharedReply(e.pg.URL+"/p/"+shares[len(shares)-1].ID), got); diff != "" {
		t.Errorf("retry (-want +got):\n%s", diff)
	}

	// A refusal cannot be fixed by retrying: no error, nothing said.
	e.pg.Fail(http.StatusRequestEntityTooLarge)
	got, err = e.serve(t, m)
	if err != nil || len(got) != 0 {
		t.Errorf("refused share: calls %+v, err %v; want neither", got, err)
	}
}

func TestPlaygroundSlackDown(t *testing.T) {
	e := newEnv(t)
	m := message(slackEscape(goCode(12)))
	r := &recorder{m: m, fail: errors.New("slack: 503")}
	if err := e.mx.ServeMessage(t.Context(), m, r); err == nil {
		t.Error("a failed reply gave no error; the event would not be retried")
	}
}

func TestPlaygroundDisabled(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Playground = nil })
	if got := e.mustServe(t, message(slackEscape(goCode(12)))); len(got) != 0 {
		t.Errorf("with no Playground a paste got %+v", got)
	}
}

// TestProseWithInlineCodeIsNotShared: a long question in prose that
// quotes one bit of code inline (`x, err := f()`) is conversation, not a
// paste.
func TestProseWithInlineCodeIsNotShared(t *testing.T) {
	prose := "Hi all, I have a question about shadowing.\n" +
		"When I write `x, err := f()` inside an if block\n" +
		"the outer err is not set.\n" +
		"I read the spec about scopes\n" +
		"and the FAQ too,\n" +
		"but I still do not get\n" +
		"why the compiler does not warn me.\n" +
		"Is there a vet check for this?\n" +
		"Or a linter people here use?\n" +
		"Thanks in advance!"
	e := newEnv(t)
	got := e.mustServe(t, message(slackEscape(prose)))
	if n := len(e.pg.Shares()); n != 0 || len(got) != 0 {
		t.Errorf("a question in prose was shared to the Playground (%d shares), calls:\n%+v", n, got)
	}
}

// TestOutputBlockIsNotShared: compiler output in a ``` block, the most
// common paste in a Go help channel, is not a program; nor is prose after a
// lone ``` that opens no block.
func TestOutputBlockIsNotShared(t *testing.T) {
	var out strings.Builder
	out.WriteString("go build fails, what am I missing?\n```\n")
	for i := 1; i <= 10; i++ {
		out.WriteString("./main.go:" + strings.Repeat("1", i) + ":2: undefined: handler\n")
	}
	out.WriteString("```")
	prose := "Tip for newcomers: wrap your code in ``` so Slack keeps the indentation.\n" +
		"It makes questions much easier to read.\n" +
		"Also say what you expected to happen,\n" +
		"what happened instead,\n" +
		"which Go version you use,\n" +
		"and which OS.\n" +
		"Paste the full error, not a screenshot.\n" +
		"Keep the example small.\n" +
		"Say what you tried already.\n" +
		"And stay around for follow-up questions.\n" +
		"Thanks, and have fun!"
	for name, text := range map[string]string{"go build output": out.String(), "prose mentioning ```": prose} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			got := e.mustServe(t, message(slackEscape(text)))
			if n := len(e.pg.Shares()); n != 0 || len(got) != 0 {
				t.Errorf("%d shares, calls:\n%+v", n, got)
			}
		})
	}
}

// TestNonGoPasteIsNotShared: the Go Playground runs Go only. Code in other
// languages, a go.mod, and log lines (one JSON object a line, as slog and
// zerolog write them) are not turned into Playground links, however long
// and code-like they are; Go in the same shapes still is.
func TestNonGoPasteIsNotShared(t *testing.T) {
	notGo := map[string]string{
		"python":     "def main():\n    items = [1, 2, 3]\n    for i in items:\n        if i > 1:\n            print(i)\n        else:\n            print('small')\n    return None\n\nclass Foo:\n    def __init__(self):\n        self.x = 1\n        self.y = 2\n",
		"javascript": "function main() {\n  const items = [1, 2, 3];\n  for (const i of items) {\n    if (i > 1) {\n      console.log(i);\n    } else {\n      console.log('small');\n    }\n  }\n  return null;\n}\nmain();\n",
		"c":          "#include <stdio.h>\n\nint main(void) {\n    int a[3] = {1, 2, 3};\n    for (int i = 0; i < 3; i++) {\n        printf(\"%d\\n\", a[i]);\n    }\n    if (a[0]) {\n        return 1;\n    }\n    return 0;\n}\n",
		"rust":       "fn main() {\n    let v = vec![1, 2, 3];\n    for i in v.iter() {\n        println!(\"{}\", i);\n    }\n    let s = String::from(\"hi\");\n    match s.as_str() {\n        \"hi\" => println!(\"hi\"),\n        _ => {}\n    }\n}\n",
		"go.mod":     "module example.com/x\n\ngo 1.22\n\nrequire (\n\tgithub.com/a/b v1.0.0\n\tgithub.com/c/d v1.2.0\n\tgithub.com/e/f v0.3.0\n\tgithub.com/g/h v1.0.0\n\tgithub.com/i/j v1.0.0\n\tgithub.com/k/l v1.0.0\n)\n",
		"java":       "public class Main {\n    public static void main(String[] args) {\n        List<String> xs = new ArrayList<>();\n        xs.add(\"a\");\n        for (String x : xs) {\n            System.out.println(x);\n        }\n        if (xs.isEmpty()) {\n            return;\n        }\n    }\n}\n",
		// A patch of Go code is not a program the Playground can run.
		"unified diff":   "diff --git a/main.go b/main.go\nindex 83db48f..bf269f4 100644\n--- a/main.go\n+++ b/main.go\n@@ -1,7 +1,9 @@\n package main\n \n import \"fmt\"\n \n func main() {\n-\tx := 1\n+\tx := 2\n+\ty := 3\n \tfmt.Println(x)\n+\tfmt.Println(y)\n }\n",
		"JSON log lines": strings.Repeat("{\"time\":\"2024-05-01T10:00:00Z\",\"level\":\"INFO\",\"msg\":\"request\",\"status\":200}\n", 12),
	}
	for name, text := range notGo {
		for _, shape := range []struct{ name, text string }{{"pasted", text}, {"in a block", "why does this fail?\n```" + text + "```"}} {
			t.Run(name+", "+shape.name, func(t *testing.T) {
				e := newEnv(t)
				got := e.mustServe(t, message(slackEscape(shape.text)))
				if n := len(e.pg.Shares()); n != 0 || len(got) != 0 {
					t.Errorf("%d shares, calls:\n%+v", n, got)
				}
			})
		}
	}

	isGo := map[string]string{
		"a program":         goCode(12),
		"a struct":          structCode,
		"a function":        "func handler(w http.ResponseWriter, r *http.Request) {\n\tname := r.URL.Query().Get(\"name\")\n\tif name == \"\" {\n\t\thttp.Error(w, \"no name\", http.StatusBadRequest)\n\t\treturn\n\t}\n\tfor i := 0; i < 3; i++ {\n\t\tfmt.Fprintf(w, \"hello %s\\n\", name)\n\t}\n\tlog.Printf(\"greeted %s\", name)\n}",
		"a map literal":     "var routes = map[string]http.HandlerFunc{\n\t\"/\":  index,\n\t\"/a\": a,\n\t\"/b\": b,\n\t\"/c\": c,\n\t\"/d\": d,\n\t\"/e\": e,\n\t\"/f\": f,\n\t\"/g\": g,\n\t\"/h\": h,\n}",
		"semicolons":        "package main;\n\nimport \"fmt\";\n\nfunc main() {\n    var x int = 1;\n    y := 2;\n    fmt.Println(x);\n    fmt.Println(y);\n    if x > 0 {\n        fmt.Println(\"pos\");\n    }\n}",
		"statements":        "ch := make(chan int)\ndone := make(chan struct{})\ngo func() {\n\tfor v := range ch {\n\t\tfmt.Println(v)\n\t}\n\tclose(done)\n}()\nfor i := 0; i < 10; i++ {\n\tch <- i\n}\nclose(ch)\n<-done",
		"with a SQL string": "func list(db *sql.DB) ([]string, error) {\n\trows, err := db.Query(`\n\t\tSELECT name FROM users;\n\t`)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\tdefer rows.Close()\n\tvar names []string\n\tfor rows.Next() {\n\t\tvar n string\n\t\tnames = append(names, n)\n\t}\n\treturn names, rows.Err()\n}",
	}
	for name, code := range isGo {
		t.Run(name, func(t *testing.T) {
			if _, ok := pastedCode(code); !ok {
				t.Errorf("Go code not taken for a paste:\n%s", code)
			}
		})
	}
}

// A playground that turns shares away with 429 and a Retry-After gets that
// long before the queue retries the event; without one, the queue's usual
// backoff applies.
func TestPlaygroundRateLimited(t *testing.T) {
	e := newEnv(t)
	m := message(slackEscape(goCode(12)))
	e.pg.RateLimit(7 * time.Second)
	got, err := e.serve(t, m)
	if err == nil || errors.Is(err, playground.ErrRejected) || len(got) != 0 {
		t.Fatalf("rate-limited share: calls %+v, err %v; want a temporary error and nothing said", got, err)
	}
	if d := workqueue.RetryAfterOf(err); d != 7*time.Second {
		t.Errorf("the retry waits %v; want the playground's Retry-After, 7s", d)
	}
	e.pg.RateLimit(0)
	if _, err := e.serve(t, m); err == nil || workqueue.RetryAfterOf(err) != 0 {
		t.Errorf("429 without Retry-After: err %v, wait %v; want a temporary error and the usual backoff", err, workqueue.RetryAfterOf(err))
	}
}

// goCodeWith returns a Go program of 13 non-blank lines with line in
// main.
func goCodeWith(line string) string {
	return strings.Replace(goCode(12), "func main() {\n", "func main() {\n\t"+line+"\n", 1)
}

// Fake credentials of the shapes real ones have, written in pieces so that
// no secret scanner takes this file for a leak.
var (
	fakeGitHubToken = "gh" + "p_" + strings.Repeat("a1B2", 9)
	fakeAWSKey      = "AK" + "IA" + "Q3EGRE7YQ4KZ5XMJ"
	fakeSlackToken  = "xo" + "xb-" + "1234567890-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
	fakeGoogleKey   = "AI" + "za" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
	fakeStripeKey   = "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
	fakePassword    = "S3cr3t" + "Passw0rd"
	fakePrivateKey  = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA " + "PRIVATE KEY-----"
)

// TestPlaygroundSecrets: a snippet on the Playground is public and cannot
// be deleted, so code that seems to hold a credential is never shared. The
// poster is told, where only they see it; the log says why without the
// secret; code that only names credentials (placeholders, environment
// variables, a local database) is shared as usual.
func TestPlaygroundSecrets(t *testing.T) {
	secret := map[string]string{
		"GitHub token":      `client := github.NewClient(nil).WithAuthToken("` + fakeGitHubToken + `")`,
		"AWS access key":    `creds := credentials.NewStaticCredentialsProvider("` + fakeAWSKey + `", "x", "")`,
		"Slack token":       `api := slack.New("` + fakeSlackToken + `")`,
		"Google API key":    `key := "` + fakeGoogleKey + `"`,
		"Stripe key":        `stripe.Key = "` + fakeStripeKey + `"`,
		"password in a URL": `db, err := sql.Open("pgx", "postgres://app:` + fakePassword + `@db.prod.acme-corp.io:5432/app")`,
		"MySQL DSN":         `db, err := sql.Open("mysql", "root:` + fakePassword + `@tcp(mysql.acme-corp.io:3306)/app")`,
		"private key":       "const key = `" + fakePrivateKey + "`",
		"API key literal":   `apiKey := "4f9a8c7e2b1d40a98c7e2b1d4f9a8c7e"`,
		"Slack webhook":     `url := "https://hooks.slack.com/services/T0AB12CD3/B0AB12CD3/` + "Xk9" + `pQ2rS7tU4vW1yZ6aB3cD8eF"`,
	}
	for name, line := range secret {
		for _, where := range []struct {
			name string
			m    *handler.Message
		}{
			{"pasted", message(slackEscape(goCodeWith(line)))},
			{"in a block", message("why does this fail?\n```" + slackEscape(goCodeWith(line)) + "```")},
			{"in a DM", message(slackEscape(goCodeWith(line)), asDM)},
		} {
			t.Run(name+", "+where.name, func(t *testing.T) {
				var logs strings.Builder
				e := newEnv(t, func(d *Deps) { d.Log = zerolog.New(&logs) })
				got := e.mustServe(t, where.m)
				if n := len(e.pg.Shares()); n != 0 {
					t.Errorf("code holding a %s was shared on the Playground (%d shares)", name, n)
				}
				if len(got) != 1 || got[0].Op != "ephemeral" || got[0].To != "UASKER" ||
					!strings.Contains(got[0].Text, "secret") || !strings.Contains(got[0].Text, "revoke") {
					t.Errorf("calls %+v; want one ephemeral note to the poster about the secret", got)
				}
				if !strings.Contains(logs.String(), "secret") {
					t.Errorf("the log does not say why the code was not shared:\n%s", logs.String())
				}
				for _, s := range []string{fakeGitHubToken, fakeAWSKey, fakeSlackToken, fakeGoogleKey, fakeStripeKey, fakePassword, "MIIEow", "4f9a8c7e"} {
					if strings.Contains(logs.String(), s) {
						t.Errorf("the log holds the secret %q:\n%s", s, logs.String())
					}
				}
			})
		}
	}

	harmless := map[string]string{
		"environment variable": `token := os.Getenv("GITHUB_TOKEN")`,
		"local database URL":   `db, err := sql.Open("pgx", "postgres://user:password@localhost:5432/app")`,
		"compose service":      `rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", Password: os.Getenv("REDIS_PASSWORD")})`,
		"local MySQL DSN":      `db, err := sql.Open("mysql", "root:secret@tcp(127.0.0.1:3306)/test")`,
		"MySQL over a socket":  `db, err := sql.Open("mysql", "app:s3cret42@unix(/var/run/mysqld/mysqld.sock)/app")`,
		"DSN from parts":       `dsn := fmt.Sprintf("postgres://%s:%s@%s/%s", user, pass, host, name)`,
		"placeholder":          `apiKey := "your-api-key-here"`,
		"example domain":       `u := "https://user:hunter2@api.example.com/v1"`,
		"struct tag":           "type Config struct{ Password string `json:\"password\"` }",
		"hash in a test":       `want := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"`,
	}
	for name, line := range harmless {
		t.Run("harmless, "+name, func(t *testing.T) {
			e := newEnv(t)
			got := e.mustServe(t, message(slackEscape(goCodeWith(line))))
			shares := e.pg.Shares()
			if len(shares) != 1 {
				t.Fatalf("%d shares, want 1", len(shares))
			}
			if diff := cmp.Diff(sharedReply(e.pg.URL+"/p/"+shares[0].ID), got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlaygroundSecretInFile: of two uploaded files, the one holding a
// secret is left out; the other is linked, and the poster learns why only
// one link came.
func TestPlaygroundSecretInFile(t *testing.T) {
	const clean, leaky = "https://files.slack.test/F1/main.go", "https://files.slack.test/F2/config.go"
	e := newEnv(t)
	e.files.files[clean] = []byte("package main\n\nfunc main() {}\n")
	e.files.files[leaky] = []byte("package main\n\nconst token = \"" + fakeGitHubToken + "\"\n")
	got := e.mustServe(t, message("my project", func(m *handler.Message) {
		m.Files = []handler.File{
			{ID: "F1", Name: "main.go", Filetype: "go", URLPrivate: clean},
			{ID: "F2", Name: "config.go", Filetype: "go", URLPrivate: leaky},
		}
	}))
	shares := e.pg.Shares()
	if len(shares) != 1 || string(shares[0].Code) != string(e.files.files[clean]) {
		t.Fatalf("shares %+v; want only the file without a secret", shares)
	}
	if len(got) != 2 || !cmp.Equal(got[0], sharedUpload(e.pg.URL + "/p/" + shares[0].ID)[0]) ||
		got[1].Op != "ephemeral" || !strings.Contains(got[1].Text, "secret") {
		t.Errorf("calls %+v; want the one link, then a note about the secret", got)
	}
}

// TestPlaygroundShadow: in shadow mode nothing is shared, and the log says
// what production would do: share clean code, and withhold code that seems
// to hold a secret (telling its poster why), never "would share" for it.
func TestPlaygroundShadow(t *testing.T) {
	const clean, leaky = "https://files.slack.test/F1/main.go", "https://files.slack.test/F2/config.go"
	files := func(urls ...string) func(*handler.Message) {
		return func(m *handler.Message) {
			for i, u := range urls {
				m.Files = append(m.Files, handler.File{ID: fmt.Sprintf("F%d", i+1), Name: u[strings.LastIndexByte(u, '/')+1:], Filetype: "go", URLPrivate: u})
			}
		}
	}
	for _, tt := range []struct {
		name  string
		m     *handler.Message
		share int  // snippets the log says would be shared; 0: no such line
		note  bool // the poster would be told about a secret
	}{
		{"clean paste", message(slackEscape(goCode(12))), 1, false},
		{"paste with a secret", message(slackEscape(goCodeWith(`client := github.NewClient(nil).WithAuthToken("` + fakeGitHubToken + `")`))), 0, true},
		{"secret in a block", message("why?\n```" + slackEscape(goCodeWith(`api := slack.New("`+fakeSlackToken+`")`)) + "```"), 0, true},
		{"a clean file and a leaky one", message("my project", files(clean, leaky)), 1, true},
		{"clean paste and a leaky file", message(slackEscape(goCode(12)), files(leaky)), 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			e := newEnv(t, func(d *Deps) { d.Log = zerolog.New(&logs) })
			e.files.files[clean] = []byte("package main\n\nfunc main() {}\n")
			e.files.files[leaky] = []byte("package main\n\nconst token = \"" + fakeGitHubToken + "\"\n")
			r := &recorder{m: tt.m, rehearsed: true}
			if err := e.mx.ServeMessage(t.Context(), tt.m, r); err != nil {
				t.Fatal(err)
			}
			if n := len(e.pg.Shares()); n != 0 {
				t.Errorf("shadow mode shared %d snippets on the Playground; want none", n)
			}
			var would []string
			for line := range strings.Lines(logs.String()) {
				if strings.Contains(line, "would share") {
					would = append(would, line)
				}
			}
			switch {
			case tt.share == 0 && len(would) != 0:
				t.Errorf("the log says it would share code production withholds:\n%s", strings.Join(would, ""))
			case tt.share > 0 && (len(would) != 1 || !strings.Contains(would[0], fmt.Sprintf(`"snippets":%d`, tt.share))):
				t.Errorf("want one log line that %d snippets would be shared; got:\n%s", tt.share, logs.String())
			}
			var want []call
			if tt.note {
				// The shadow responder logs this instead of sending it.
				want = []call{{Op: "ephemeral", To: "UASKER", Text: secretNote}}
			}
			if diff := cmp.Diff(want, r.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if strings.Contains(logs.String(), fakeGitHubToken) || strings.Contains(logs.String(), fakeSlackToken) {
				t.Errorf("the log holds the secret:\n%s", logs.String())
			}
		})
	}
}
