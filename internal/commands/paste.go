package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/gophers/gopherbot/handler"
	"github.com/gophers/gopherbot/internal/playground"
	"github.com/gophers/gopherbot/workqueue"
)

// MinPasteLines is how many lines of code make a paste long enough to move
// to the Playground. Blank lines do not count.
const MinPasteLines = 10

// OptOut is the word that keeps a message's code where it is.
const OptOut = "nolink"

// optOut finds OptOut as a word of its own, in any case: "nolink",
// "`NoLink`", "(nolink)", but not within a longer word, such as the
// identifiers noLinkCheck or nolinkify, which are code, not a request.
// An underscore is not part of the word, since Slack writes italics as
// _nolink_.
var optOut = regexp.MustCompile(`(?i)(?:^|[^\p{L}\p{N}])` + regexp.QuoteMeta(OptOut) + `(?:[^\p{L}\p{N}]|$)`)

// maxFiles bounds the uploaded files shared from one message.
const maxFiles = 3

const pasteNote = "Tip: long code is easier to read, and to run, as a Go Playground link (https://go.dev/play) or a gist than pasted in the channel. " +
	"I made a link for you this time. If you'd rather I didn't, put `" + OptOut + "` in your message."

// uploadNote is the note for an uploaded file: nothing was pasted, and the
// link is a convenience, not a correction.
const uploadNote = "Tip: a Go Playground link lets people run your code and try changes right away, so I made one for your file. " +
	"If you'd rather I didn't, add `" + OptOut + "` to the message you share it with."

func (b *bot) registerPlayground(mx *handler.Mux) {
	mx.Match("playground",
		fmt.Sprintf("Code pastes of %d lines or more, and uploaded Go files, get a Go Playground link (say `%s` to keep yours as it is).", MinPasteLines, OptOut),
		b.wantsPlayground, handler.HandlerFunc(b.sharePaste))
}

// wantsPlayground is the matcher: cheap, no I/O. The deny-list needs the
// channel cache, so the handler checks it.
func (b *bot) wantsPlayground(m *handler.Message) bool {
	if optOut.MatchString(m.Text) {
		return false
	}
	if b.Files != nil && len(goFiles(m)) > 0 {
		return true
	}
	_, ok := pastedCode(m.Text)
	return ok
}

func (b *bot) sharePaste(ctx context.Context, m *handler.Message, r handler.Responder) error {
	log := b.Log.With().Str("channel", m.Channel).Str("user", m.User).Str("event_id", m.EventID).Logger()
	if denied, err := b.denied(ctx, m.Channel); err != nil {
		return err
	} else if denied {
		log.Info().Msg("commands: playground: channel is on the deny-list; paste left alone")
		return nil
	}

	var codes [][]byte
	code, pasted := pastedCode(m.Text)
	if pasted {
		codes = append(codes, []byte(code))
	}
	if b.Files != nil {
		// Also in shadow mode: a download shows nobody anything, and only
		// the file tells whether production would share it.
		for _, f := range goFiles(m) {
			data, err := b.Files.Download(ctx, f.URLPrivate)
			switch {
			case errors.Is(err, workqueue.ErrPermanent):
				// Too large, deleted, or refused: the other files and the
				// paste may still be shared.
				log.Warn().Err(err).Str("file", f.ID).Msg("commands: playground: file not downloaded")
				continue
			case err != nil:
				return fmt.Errorf("commands: playground: download file %s: %w", f.ID, err)
			}
			codes = append(codes, data)
		}
	}

	withheld := false
	shareable := codes[:0]
	for _, code := range codes {
		if kind := secretIn(string(code)); kind != "" {
			// Public and permanent on the Playground: left where it is.
			// The log names the kind of secret, never the secret.
			log.Warn().Str("kind", kind).Int("bytes", len(code)).Msg("commands: playground: the code seems to hold a secret; not shared")
			withheld = true
			continue
		}
		shareable = append(shareable, code)
	}

	if handler.Rehearsed(r) {
		// Shadow mode: a share would publish the code on the Playground,
		// though the bot says nothing. Only log what would happen; the
		// note about a secret goes to the responder, which logs it.
		if len(shareable) > 0 {
			log.Info().Int("snippets", len(shareable)).Msg("shadow: would share the code on the Go Playground and reply with the link")
		}
		if withheld {
			return r.Ephemeral(ctx, secretNote)
		}
		return nil
	}

	var links []string
	for _, code := range shareable {
		link, err := b.Playground.Share(ctx, code)
		switch {
		case err == nil:
			links = append(links, link)
		case errors.Is(err, playground.ErrRejected), errors.Is(err, playground.ErrTooLarge), errors.Is(err, playground.ErrEmpty):
			// Retrying cannot help; the rest of the message may still be shared.
			log.Warn().Err(err).Int("bytes", len(code)).Msg("commands: playground: snippet not shared")
		default:
			// Nothing is posted before every share succeeded, so a retry of
			// the event posts the full answer once.
			err = fmt.Errorf("commands: playground: %w", err)
			if rl, ok := errors.AsType[*playground.RateLimitedError](err); ok && rl.RetryAfter > 0 {
				// The queue's retry waits as long as the playground asked.
				return workqueue.RetryAfter(err, rl.RetryAfter)
			}
			return err
		}
	}
	if len(links) > 0 {
		text := "I put that code on the Go Playground, where it is easier to read and run: " + links[0]
		if len(links) > 1 {
			text = "I put that code on the Go Playground, where it is easier to read and run:\n• " + strings.Join(links, "\n• ")
		}
		if err := r.Reply(ctx, text, handler.InThread()); err != nil {
			return err
		}
	}
	switch {
	case withheld:
		// Also in a DM: the poster may be waiting for a link.
		return r.Ephemeral(ctx, secretNote)
	case len(links) == 0, m.DM():
		// Nothing shared; or a DM, and the etiquette is about channels.
		return nil
	case !pasted:
		return r.Ephemeral(ctx, uploadNote)
	}
	return r.Ephemeral(ctx, pasteNote)
}

// denied reports whether channel (an ID) is on the deny-list, whose
// entries are names or IDs. A name Slack does not have is logged and
// skipped; a look-up that fails is an error, so that the event is retried
// rather than a paste shared where it must not be.
func (b *bot) denied(ctx context.Context, channel string) (bool, error) {
	for _, name := range b.PlaygroundDenylist {
		name = strings.TrimPrefix(strings.TrimSpace(name), "#")
		if name == "" {
			continue
		}
		if name == channel {
			return true, nil
		}
		id, err := b.resolve(ctx, name)
		if err != nil {
			return false, err
		}
		if id == channel {
			return true, nil
		}
	}
	return false, nil
}

// goFiles returns the Go files shared with m that can be downloaded.
func goFiles(m *handler.Message) []handler.File {
	var out []handler.File
	for _, f := range m.Files {
		if f.URLPrivate == "" {
			continue
		}
		if strings.EqualFold(f.Filetype, "go") || strings.HasSuffix(strings.ToLower(f.Name), ".go") {
			out = append(out, f)
			if len(out) == maxFiles {
				break
			}
		}
	}
	return out
}

// pastedCode returns the code of text and whether it is long enough to
// share. When text has ``` code blocks, the code is the blocks (joined)
// and only their lines count; the words around them are conversation.
// Without blocks, the code is the text without the lines of conversation
// before and after it (trimConversation). Either way it must look like Go
// (looksLikeCode), so that prose, logs, compiler output, JSON, go.mod
// files, diffs and code in other languages are never sent to the
// Playground.
func pastedCode(text string) (string, bool) {
	if !strings.Contains(text, "```") {
		code := trimConversation(text)
		return code, countLines(code) >= MinPasteLines && looksLikeCode(code)
	}
	parts := strings.Split(text, "```")
	var blocks []string
	// parts alternate outside, inside, outside...; an unclosed block runs
	// to the end of the message.
	for i := 1; i < len(parts); i += 2 {
		block := strings.Trim(parts[i], "\n")
		// A language tag on the opening line, as in Markdown (```go).
		if first, rest, ok := strings.Cut(block, "\n"); ok {
			switch strings.ToLower(strings.TrimSpace(first)) {
			case "go", "golang":
				block = rest
			}
		}
		if strings.TrimSpace(block) != "" {
			blocks = append(blocks, block)
		}
	}
	code := strings.Join(blocks, "\n\n")
	return code + "\n", countLines(code) >= MinPasteLines && looksLikeCode(code)
}

// trimConversation drops the lines before the first line of code and after
// the last one ("@ann why does this fail?", "thanks!"): they would not
// compile on the Playground, would count towards MinPasteLines, and a
// mention in them would name someone on a public page. The lines between
// stay, since a line of Go need not look like one (x = 1).
func trimConversation(text string) string {
	lines := strings.SplitAfter(text, "\n")
	isCode := func(line string) bool {
		line = strings.TrimRight(inlineCode.ReplaceAllString(line, ""), " \t\r\n")
		return strings.TrimSpace(line) != "" && codeLine(line)
	}
	for len(lines) > 0 && !isCode(lines[0]) {
		lines = lines[1:]
	}
	for len(lines) > 0 && !isCode(lines[len(lines)-1]) {
		lines = lines[:len(lines)-1]
	}
	return strings.TrimRight(strings.Join(lines, ""), "\r\n")
}

// countLines counts the lines of s that are not blank.
func countLines(s string) int {
	n := 0
	for line := range strings.Lines(s) {
		if strings.TrimSpace(line) != "" {
			n++
		}
	}
	return n
}

// looksLikeCode reports whether s reads as Go: at least half of its
// non-blank lines, once `inline code` is taken out, look like lines of Go
// (codeLine). One snippet quoted in a question does not make the question
// code, and output (go build errors, test failures, stack traces) has too
// few such lines. JSON is not Go either, nor is code in another language
// (see goOnly and notGo).
func looksLikeCode(s string) bool {
	if t := strings.TrimSpace(s); (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)) {
		return false
	}
	if diffHunk.MatchString(s) {
		// A patch, however much Go it holds, is not a program to run.
		return false
	}
	code, all, goLines, foreign := 0, 0, 0, 0
	for line := range strings.Lines(s) {
		line = strings.TrimRight(inlineCode.ReplaceAllString(line, ""), " \t\r\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		all++
		if codeLine(line) {
			code++
		}
		switch {
		case goOnly.MatchString(line):
			goLines++
		case notGo.MatchString(line):
			foreign++
		}
	}
	// Python, JavaScript, C or Rust pass the line test as well as Go
	// does; the Playground runs Go only, so it takes a line that only Go
	// writes, and more of them than lines Go never writes.
	return all > 0 && 2*code >= all && goLines > foreign
}

// diffHunk is the header of a hunk of a unified diff (git diff, diff -u).
var diffHunk = regexp.MustCompile(`(?m)^@@ -\d+(,\d+)? \+\d+(,\d+)? @@`)

// inlineCode is `a bit of code` within a line of text.
var inlineCode = regexp.MustCompile("`[^`\n]*`")

var (
	// goStatement starts a line of Go: a declaration, a statement Go
	// writes one way only, or a comment.
	goStatement = regexp.MustCompile(`^\s*(func|package|import|type|var|const|return|defer|go)\b.*[^.?!]$|^\s*(case .*|default):$|^\s*//|^\s*/\*`)
	// goOnly is a line that other languages people paste do not write:
	// := , a package clause, an import of a quoted path, func, a type
	// declaration, a var or const group, a var with a type, defer and go
	// statements, channel operations and types, err != nil, a call of
	// fmt, map types and slice literals.
	goOnly = regexp.MustCompile(`:=|^\s*package\s+\w+\s*;?$|^\s*import\s*(\(\s*$|"|[\w.]+\s+")|^\s*func\s*[\w(]|` +
		`^\s*type\s+\w+(\[[^\]]*\])?\s+(struct|interface|func|map|chan|\[|\*|[\w.]+\s*$)|^\s*(var|const)\s*\(\s*$|` +
		`^\s*var\s+\w+(\s*,\s*\w+)*\s+[\w*\[.]|^\s*defer\s+\S|^\s*go\s+(func\b|[\w.]+\()|\w\s*<-\s*\S|^\s*<-\s*\w|` +
		`\berr != nil\b|\bfmt\.\w+\(|\bmap\[[^\]\s]+\]\S|\[\][\w*.]+\{|\bchan\s+[\w*\[]`)
	// notGo is a line Go never writes: one ending in ';' (gofmt drops
	// them), =>, another language's declarations (def, class, fn,
	// function, let, public...), a preprocessor line, a Python block
	// opener ending in ':', or a go.mod directive.
	notGo = regexp.MustCompile(`;$|=>|^\s*(def|class)\s+\w+.*[:{]$|^\s*fn\s+\w+\s*[(<]|^\s*(async\s+)?function\*?\s*\w*\s*\(|` +
		`^\s*let\s+(mut\s+)?\w+\s*[=:]|^\s*(public|private|protected)\s+\w|^\s*#\s*(include|define|import|pragma)\b|^#!|` +
		`^\s*(if|elif|else|for|while|try|except|finally|with)\b[^{]*:$|` +
		`^module\s+\S+$|^go\s+1\.\d+|^toolchain\s+go|^(require|replace|exclude|retract)\s*(\($|\S+\s+v\d)`)
	// fileLine is a position in a file, as output prints it (main.go:12:2,
	// /usr/lib/go/src/x.go:8 +0x1d).
	fileLine = regexp.MustCompile(`\.go:\d+`)
)

// codeLine reports whether a line (without its line end) looks like Go: it
// ends as Go lines end ({ } ( ) , ;), declares with :=, starts as a
// statement does, or is indented without being a position in a file.
func codeLine(line string) bool {
	if fileLine.MatchString(line) {
		return false
	}
	switch line[len(line)-1] {
	case '{', '}', '(', ')', ',', ';':
		return true
	}
	if strings.Contains(line, ":=") || goStatement.MatchString(line) {
		return true
	}
	return strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "    ")
}
