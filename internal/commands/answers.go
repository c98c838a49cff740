package commands

import (
	"context"
	"regexp"
	"strings"

	"github.com/gophers/gopherbot/handler"
)

// answer is a named question with a fixed answer.
type answer struct {
	name    string
	aliases []string
	help    string
	// text is Slack mrkdwn. {#name} stands for a link to the channel
	// named name, resolved when the answer is sent.
	text string
}

// answers are the named questions, in the order help does not care about
// (it sorts them). Texts are ours; keep them short and link to the source.
var answers = []answer{
	{
		name:    "books",
		aliases: []string{"book", "go books", "book recommendations", "recommended books", "what book should i read"},
		help:    "Books people here recommend.",
		text: "Books Gophers keep recommending:\n" +
			"• *Learning Go* (Jon Bodner, 2nd edition): idiomatic, modern Go, generics included.\n" +
			"• *The Go Programming Language* (Alan Donovan and Brian Kernighan): thorough and precise; it predates modules and generics, but the core holds up.\n" +
			"• *Let's Go* and *Let's Go Further* (Alex Edwards): web apps and APIs, built step by step.\n" +
			"• *100 Go Mistakes and How to Avoid Them* (Teiva Harsanyi): great once you know the basics.\n" +
			"• *Concurrency in Go* (Katherine Cox-Buday): goroutines, channels and patterns in depth.\n" +
			"A longer list lives on the wiki: https://go.dev/wiki/Books",
	},
	{
		name:    "project layout",
		aliases: []string{"project structure", "standard layout", "standard project layout", "golang-standards", "folder structure", "directory structure", "package layout", "how to structure my project"},
		help:    "How to lay out a Go project (and the \"standard layout\" myth).",
		text: "There is no official \"standard\" Go project layout. The popular golang-standards/project-layout repository is not from the Go team, and its many folders are more than most projects need.\n" +
			"Start simple: a `go.mod` and your code in the root package. Add packages (and `cmd/`, `internal/`) when the code asks for them, not before.\n" +
			"The Go team's guide: https://go.dev/doc/modules/layout",
	},
	{
		name:    "http timeouts",
		aliases: []string{"http timeout", "timeouts", "http client timeout", "net/http timeouts", "http.client timeout", "default http client"},
		help:    "Why your HTTP client needs a timeout.",
		text: "Heads up: the zero-value `http.Client` (and so `http.DefaultClient` and `http.Get`) has *no timeout*. One stuck server can hang your program forever.\n" +
			"• Client: set `Client.Timeout`, or give each request a context with a deadline.\n" +
			"• Server: set `ReadHeaderTimeout`, `ReadTimeout`, `WriteTimeout` and `IdleTimeout` on your `http.Server`.\n" +
			"The whole story, with diagrams: https://blog.cloudflare.com/the-complete-guide-to-golang-net-http-timeouts/",
	},
	{
		name:    "code of conduct",
		aliases: []string{"coc", "conduct", "be nice", "rules"},
		help:    "The code of conduct we all follow here.",
		text: "This community follows the Go Community Code of Conduct: be welcoming, patient and kind, and assume good faith. Disagree about ideas, never attack people.\n" +
			"Read it here: https://go.dev/conduct\n" +
			"If something here makes you uncomfortable, please tell a workspace admin.",
	},
	{
		name:    "playground",
		aliases: []string{"play", "go playground", "go play"},
		help:    "The Go Playground.",
		text: "The Go Playground runs Go in your browser and gives you a link to share: https://go.dev/play\n" +
			"A Playground link makes a question much easier to answer: people can run your code and try a fix.",
	},
	{
		name:    "ask to ask",
		aliases: []string{"dont ask to ask", "don't ask to ask", "just ask", "can i ask a question", "anyone here", "can anyone help"},
		help:    "Skip \"can I ask?\" and ask.",
		text: "No need to ask whether you may ask, or whether someone is around: just post your question, with what you tried, what you expected and what happened instead. " +
			"Whoever knows will answer when they see it, and nobody has to commit to helping before knowing the question.\n" +
			"Why this works better: https://dontasktoask.com",
	},
	{
		name:    "modules",
		aliases: []string{"go modules", "gopath", "go mod", "gomod", "go.mod", "go mod init"},
		help:    "Modules, and why you no longer need GOPATH.",
		text: "Modules are how Go manages code and dependencies, and they have been the default since Go 1.16: your project can live in any folder, no GOPATH setup needed.\n" +
			"Start with `go mod init example.com/hello`, then `go get` what you need (or let `go mod tidy` find it).\n" +
			"Tutorial: https://go.dev/doc/tutorial/create-module · Reference: https://go.dev/ref/mod",
	},
	{
		name:    "tour",
		aliases: []string{"go tour", "tour of go", "a tour of go"},
		help:    "A Tour of Go, the interactive introduction.",
		text:    "A Tour of Go is the best first step: short lessons with code you run and edit right in the browser. https://go.dev/tour",
	},
	{
		name:    "effective go",
		aliases: []string{"effective", "effective_go", "idiomatic go"},
		help:    "Effective Go, on writing idiomatic Go.",
		text: "Effective Go explains how to write clear, idiomatic Go: naming, formatting, control structures, interfaces, concurrency and more. " +
			"It was written before modules and generics, yet most of it still applies: https://go.dev/doc/effective_go",
	},
	{
		name:    "faq",
		aliases: []string{"go faq", "frequently asked questions"},
		help:    "The official Go FAQ.",
		text:    "The Go FAQ answers many \"why does Go do it this way?\" questions, from the lack of exceptions to nil interface values: https://go.dev/doc/faq",
	},
	{
		name:    "spec",
		aliases: []string{"language spec", "specification", "go spec", "the spec", "language specification"},
		help:    "The Go language specification.",
		text:    "The Go specification is the final word on how the language behaves, and it is short and readable enough to actually read: https://go.dev/ref/spec",
	},
	{
		name:    "blog",
		aliases: []string{"go blog", "the go blog"},
		help:    "The Go blog.",
		text:    "The Go blog has articles from the Go team about new features, releases and how things work inside: https://go.dev/blog",
	},
	{
		name:    "release notes",
		aliases: []string{"go version", "latest go", "latest version", "releases", "release history", "changelog", "what's new"},
		help:    "Go releases and what changed in each.",
		text: "Every Go release, with links to its release notes, is listed at https://go.dev/doc/devel/release\n" +
			"Each major release is supported until two newer major releases are out, so stay current. Downloads: https://go.dev/dl/",
	},
	{
		name:    "install go",
		aliases: []string{"install", "installing go", "download go", "download", "how to install go"},
		help:    "How to install Go.",
		text: "Get the installer or archive for your system from https://go.dev/dl/ and follow the steps at https://go.dev/doc/install to check it works with `go version`.\n" +
			"Already on Go 1.21 or newer? The go command fetches the toolchain a project asks for by itself: https://go.dev/doc/toolchain",
	},
	{
		name:    "code review comments",
		aliases: []string{"style", "style guide", "crc", "review comments", "go style", "naming"},
		help:    "Go style and common code review feedback.",
		text: "The Code Review Comments page collects the feedback Go reviewers give most often; it makes a good style checklist: https://go.dev/wiki/CodeReviewComments\n" +
			"Run `gofmt` (or `goimports`) and `go vet` before anything else. For more depth, Google's Go style guide: https://google.github.io/styleguide/go/",
	},
	{
		name:    "testing",
		aliases: []string{"tests", "unit tests", "unit testing", "table driven tests", "how to test", "go test"},
		help:    "Writing and running tests in Go.",
		text: "Testing is built in: write `func TestXxx(t *testing.T)` in a `_test.go` file and run `go test ./...` (add `-race` to catch data races).\n" +
			"Table-driven tests keep many cases tidy: https://go.dev/wiki/TableDrivenTests\n" +
			"Tutorial: https://go.dev/doc/tutorial/add-a-test · Package docs: https://pkg.go.dev/testing",
	},
	{
		name:    "errors",
		aliases: []string{"error handling", "if err != nil", "handling errors", "error wrapping", "exceptions"},
		help:    "Handling errors the Go way.",
		text: "In Go, errors are values: return them, check them, and add context as they travel up, such as `fmt.Errorf(\"reading config: %w\", err)`. " +
			"Inspect wrapped errors with `errors.Is` and `errors.As`.\n" +
			"Worth reading: https://go.dev/blog/error-handling-and-go and https://go.dev/blog/go1.13-errors",
	},
	{
		name:    "concurrency",
		aliases: []string{"concurrency talks", "concurrency patterns", "concurrency is not parallelism", "goroutines and channels"},
		help:    "Talks and articles on Go concurrency.",
		text: "Good talks and articles on concurrency in Go:\n" +
			"• Concurrency is not Parallelism (Rob Pike): https://go.dev/blog/waza-talk\n" +
			"• Go Concurrency Patterns: https://go.dev/talks/2012/concurrency.slide\n" +
			"• Advanced Go Concurrency Patterns: https://go.dev/blog/io2013-talk-concurrency\n" +
			"• Pipelines and cancellation: https://go.dev/blog/pipelines",
	},
	{
		name:    "context",
		aliases: []string{"ctx", "context package", "context.context", "cancellation"},
		help:    "The context package: deadlines and cancellation.",
		text: "A `context.Context` is how a caller tells the work it starts when to stop: it holds an optional deadline, a `Done` channel closed on cancellation, and values that belong to one request. " +
			"Pass it as the first parameter (named `ctx`), don't store it in structs, and always call the cancel function you get back.\n" +
			"https://pkg.go.dev/context · https://go.dev/blog/context",
	},
	{
		name:    "generics",
		aliases: []string{"generics tutorial", "type parameters", "type params"},
		help:    "Generics (type parameters).",
		text: "Go has had generics (type parameters) since Go 1.18.\n" +
			"Start with the tutorial: https://go.dev/doc/tutorial/generics\n" +
			"And when to reach for them, or not: https://go.dev/blog/when-generics",
	},
	{
		name:    "editors",
		aliases: []string{"editor", "ide", "ides", "gopls", "vscode", "vs code", "vim", "neovim", "goland", "emacs"},
		help:    "Editors and IDEs for Go, and gopls.",
		text: "Most editors get their Go smarts from gopls, the Go team's language server: VS Code (with the Go extension), Vim and Neovim, Emacs, Helix, Zed and more; GoLand is a full IDE of its own.\n" +
			"Setup per editor: https://go.dev/doc/editors · gopls: https://go.dev/gopls/",
	},
	{
		name:    "proverbs",
		aliases: []string{"go proverbs", "proverb"},
		help:    "The Go proverbs.",
		text: "The Go proverbs are short sayings from a talk by Rob Pike that capture Go's spirit, like \"A little copying is better than a little dependency\" and \"Clear is better than clever\".\n" +
			"All of them: https://go-proverbs.github.io",
	},
	{
		name:    "gopher",
		aliases: []string{"gophers", "the gopher", "gopher artwork", "mascot", "gopher art"},
		help:    "The Go gopher and where to find gopher art.",
		text: "The Go gopher was designed by Renée French, and its artwork is licensed under Creative Commons Attribution 4.0. Its story: https://go.dev/blog/gopher\n" +
			"Plenty of free gopher drawings to use: https://github.com/egonelbre/gophers",
	},
	{
		name:    "jobs",
		aliases: []string{"job", "hiring", "job board", "jobs channel", "looking for a job", "golang jobs"},
		help:    "Where job posts go.",
		text: "Job offers and job searches belong in {#golang-jobs}, please: it keeps the help channels for questions. " +
			"When you post, say where (or remote), the kind of contract, and how to apply.",
	},
	{
		name:    "meetups",
		aliases: []string{"meetup", "conferences", "conference", "gophercon", "events", "user groups"},
		help:    "Go meetups and conferences.",
		text: "Go user groups meet all over the world; find one near you at https://www.meetup.com/pro/go\n" +
			"Conferences (GopherCon and friends) are listed on the wiki: https://go.dev/wiki/Conferences",
	},
	{
		name:    "security",
		aliases: []string{"security policy", "report a vulnerability", "security issue", "report security issue"},
		help:    "Go security, and how to report a vulnerability.",
		text: "Found a security problem in Go itself? Please report it privately as the security policy describes, not in a public issue or here: https://go.dev/security/policy\n" +
			"Everything else about Go security, including the vulnerability database: https://go.dev/security",
	},
	{
		name:    "govulncheck",
		aliases: []string{"vulncheck", "vulnerability check", "vulnerabilities", "vuln", "cve", "cves"},
		help:    "Checking your code for known vulnerabilities.",
		text: "`govulncheck` reports the known vulnerabilities your code actually reaches, from the Go vulnerability database, so it stays quiet about the ones you never call.\n" +
			"`go install golang.org/x/vuln/cmd/govulncheck@latest`, then `govulncheck ./...`\n" +
			"Tutorial: https://go.dev/doc/tutorial/govulncheck",
	},
	{
		name:    "logging",
		aliases: []string{"slog", "log/slog", "structured logging", "logger", "logs"},
		help:    "Structured logging with log/slog.",
		text: "Since Go 1.21 the standard library does structured logging: `log/slog`. For example `slog.Info(\"saved\", \"user\", id)`, written as text or JSON, levels included.\n" +
			"Intro: https://go.dev/blog/slog · Docs: https://pkg.go.dev/log/slog",
	},
	{
		name:    "json",
		aliases: []string{"encoding/json", "json tags", "struct tags", "unmarshal", "marshal"},
		help:    "JSON in Go.",
		text: "`encoding/json` maps JSON to structs through field tags such as `json:\"name,omitempty\"`. " +
			"Only exported (capitalised) fields are encoded or decoded: that is the most common surprise.\n" +
			"https://go.dev/blog/json · https://pkg.go.dev/encoding/json",
	},
	{
		name:    "databases",
		aliases: []string{"database", "database/sql", "sql", "orm", "db", "postgres", "mysql", "sqlite"},
		help:    "Talking to databases from Go.",
		text: "`database/sql` plus a driver covers most needs: pgx for PostgreSQL, go-sql-driver/mysql, modernc.org/sqlite and others. " +
			"Prefer plain SQL? Tools like sqlc generate type-safe code from your queries.\n" +
			"Tutorial: https://go.dev/doc/tutorial/database-access · Guide: https://go.dev/doc/database/",
	},
	{
		name:    "web frameworks",
		aliases: []string{"web framework", "framework", "frameworks", "which framework", "best framework", "router", "routers", "net/http"},
		help:    "Do you need a web framework? (Often not.)",
		text: "You may not need a framework: `net/http` runs in production all over the world, and since Go 1.22 its `ServeMux` matches methods and path wildcards, as in `mux.HandleFunc(\"GET /posts/{id}\", show)`.\n" +
			"Start with the standard library and add a package when you hit a real gap. https://go.dev/blog/routing-enhancements",
	},
	{
		name:    "go vs golang",
		aliases: []string{"golang", "go or golang", "is it go or golang"},
		help:    "Is it Go or golang?",
		text: "The language is called *Go*. \"golang\" comes from the old golang.org address and is handy as a search term or a hashtag, but the name is Go. " +
			"https://go.dev/doc/faq#go_or_golang",
	},
	{
		name:    "xy problem",
		aliases: []string{"xy", "xyproblem", "x/y problem"},
		help:    "Ask about your goal, not only your attempted fix.",
		text: "This may be an XY problem: a question about an attempted solution (Y) rather than the real goal (X). " +
			"Tell us what you are ultimately trying to do; there may be a simpler road. https://xyproblem.info",
	},
	{
		name:    "share code",
		aliases: []string{"paste", "pastebin", "gist", "how to share code", "snippets", "screenshot", "screenshots"},
		help:    "How to share code when asking.",
		text: "To share code, put it on the Go Playground at https://go.dev/play and paste the link its Share button gives you, or use a gist (https://gist.github.com) for several files. " +
			"A few lines are fine inline, in a ``` code block.\n" +
			"Please no screenshots of code: nobody can copy, run or search them.",
	},
	{
		name:    "how to ask",
		aliases: []string{"good question", "asking questions", "how to ask a question", "smart questions"},
		help:    "How to ask a question that gets answered.",
		text: "To get a good answer quickly:\n" +
			"• Say what you are trying to achieve, not only the step you are stuck on.\n" +
			"• Show a small piece of code that shows the problem, ideally a Playground link.\n" +
			"• Paste the exact error or output, and say what you expected instead.\n" +
			"• Ask once, in one channel, and stay around for follow-up questions.",
	},
	{
		name:    "profiling",
		aliases: []string{"pprof", "profiler", "performance", "benchmarks", "benchmarking"},
		help:    "Profiling and benchmarking Go programs.",
		text: "Go comes with profiling built in: `go test -bench . -cpuprofile cpu.out` for benchmarks, `net/http/pprof` for a running server, and `go tool pprof` to explore the result.\n" +
			"Overview: https://go.dev/doc/diagnostics · https://go.dev/blog/pprof",
	},
	{
		name:    "race detector",
		aliases: []string{"race", "data race", "data races", "-race"},
		help:    "Finding data races.",
		text: "Run your tests (or program) with `-race` and Go reports data races as they happen, with both goroutines' stacks. " +
			"It finds only the races your run exercises, so run it on your real tests often. https://go.dev/doc/articles/race_detector",
	},
	{
		name:    "wiki",
		aliases: []string{"go wiki", "golang wiki"},
		help:    "The Go wiki.",
		text:    "The Go wiki has community-kept pages on tools, learning resources, conferences and much more: https://go.dev/wiki",
	},
}

// newbieResources is the answer to "newbies"; it ends with a pointer to the
// newbies channel when asked elsewhere.
const newbieResources = "Welcome to Go! Good places to start:\n" +
	"• A Tour of Go, interactive lessons: https://go.dev/tour\n" +
	"• The official tutorials, from hello world to a web service: https://go.dev/doc/tutorial/\n" +
	"• Go by Example, annotated programs: https://gobyexample.com\n" +
	"• More courses, books and talks: https://go.dev/learn/"

var channelPlaceholder = regexp.MustCompile(`\{#([a-z0-9_-]+)\}`)

func (b *bot) registerAnswers(mx *handler.Mux) {
	for _, a := range answers {
		mx.Command(a.name, a.help, handler.HandlerFunc(func(ctx context.Context, m *handler.Message, r handler.Responder) error {
			return r.Reply(ctx, b.expand(ctx, a.text), handler.MentionAsked())
		}), a.aliases...)
	}
	mx.Command("newbie resources", "Where to start learning Go.", handler.HandlerFunc(b.newbies),
		"newbies", "newbie", "new to go", "beginner", "beginners", "beginner resources", "learn go", "learning go", "getting started", "resources")
	mx.Command("recommended channels", "Channels worth joining.", handler.HandlerFunc(b.recommended),
		"channels", "good channels", "which channels", "channel list")
}

// expand replaces each {#name} of text with a link to the channel.
func (b *bot) expand(ctx context.Context, text string) string {
	if !strings.Contains(text, "{#") {
		return text
	}
	return channelPlaceholder.ReplaceAllStringFunc(text, func(p string) string {
		return b.channelRef(ctx, p[2:len(p)-1])
	})
}

func (b *bot) newbies(ctx context.Context, m *handler.Message, r handler.Responder) error {
	text := newbieResources
	if id := b.channelID(ctx, b.NewbiesChannel); id != m.Channel || id == "" {
		ref := "#" + b.NewbiesChannel
		if id != "" {
			ref = "<#" + id + ">"
		}
		text += "\nAnd questions of every size are welcome in " + ref + "."
	}
	return r.Reply(ctx, text, handler.MentionAsked())
}

func (b *bot) recommended(ctx context.Context, m *handler.Message, r handler.Responder) error {
	if len(b.RecommendedChannels) == 0 {
		return r.Reply(ctx, "I have no channels to recommend right now; browse the channel list and join what looks fun.", handler.MentionAsked())
	}
	refs := make([]string, len(b.RecommendedChannels))
	for i, name := range b.RecommendedChannels {
		refs[i] = b.channelRef(ctx, name)
	}
	return r.Reply(ctx, "Channels worth joining: "+strings.Join(refs, ", ")+
		". Browse the rest with the channel list; there is one for almost every Go topic.", handler.MentionAsked())
}
