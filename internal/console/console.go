// Package console is the local chat console of the all-in-one gopherbot.
//
// What is typed goes the production way: the console turns a line into the
// Slack event a real workspace would send, signs it with the signing secret
// and POSTs it to the gateway over HTTP. The bot's answers reach the
// simulated Slack workspace, which prints every Web API call it receives.
package console

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// Workspace is the simulated Slack workspace the console acts in.
type Workspace interface {
	// BotUserID is the bot's user ID, for @gopherbot mentions.
	BotUserID() string
	// User returns the ID of the person called name, creating them if new.
	User(name string) (id string, created bool)
	// UserID returns the ID of an existing person.
	UserID(name string) (string, bool)
	// Channel returns the ID of a channel by name, creating it if new.
	Channel(name string) (id string, created bool)
	// ChannelID returns the ID of an existing channel.
	ChannelID(name string) (string, bool)
	// DM returns the ID of the direct-message channel between user and the bot.
	DM(user string) string
	// JoinChannel adds user to the channel's members.
	JoinChannel(user, channel string)
	// Member reports whether user is in the channel.
	Member(user, channel string) bool
	// AddFile stores a file the bot can download; it returns its ID and private URL.
	AddFile(name string, content []byte) (id, url string)
}

// Console turns typed lines into signed Slack events.
type Console struct {
	Out           io.Writer // what the console says: echoes, notes, errors
	GatewayURL    string    // e.g. http://127.0.0.1:8080/slack/events
	SigningSecret string
	TeamID        string
	AppID         string
	Workspace     Workspace
	// Idle waits until the bot has handled everything it was sent.
	Idle func(ctx context.Context) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Session prefixes every event_id the console makes. Empty means one
	// from the start time, so that runs against a kept Redis are not taken
	// for Slack's retries; tests fix it so that the bot's random choices
	// (seeded by the event_id) repeat.
	Session string
	// Commands are more console commands, by name ("/merge"), added by
	// whoever runs the console (the all-in-one adds ones that drive its
	// simulated Gerrit, feed and live show).
	Commands map[string]Command

	client  http.Client
	user    string // current person's name
	channel string // current channel's name; "" in the DM
	seq     atomic.Int64
	lastUS  int64 // the last ts given, in microseconds
	started bool
	lastTS  map[string]string // conversation ID -> ts of the last message said there
	thread  string            // ts of the thread being talked in; "" outside threads

	outMu     sync.Mutex // held while anything writes to Out (Interject is called from other goroutines)
	prompting string     // the prompt the console waits at; "" when it does not
}

// Help is the console's own help.
const Help = `Type a message to say it as the current person in the current channel.
@gopherbot mentions the bot; @name mentions a person; #name links a channel.
Commands:
  /as NAME        become NAME (new names join the workspace)
  /in #channel    talk in a channel
  /dm             talk to the bot in a direct message
  /join           the current person joins the workspace (team_join)
  /join #channel  the current person joins a channel (member_joined_channel)
  /upload FILE    share a file as a snippet in the current conversation
  /thread         talk in a thread under the last message said here; again to leave it
  """             on a line of its own, starts and ends a message of several lines (a code paste)
  /help           this text
  /quit           stop the bot (so do Ctrl-D and Ctrl-C)
Every Web API call the bot makes is printed: method, where, text.`

func (c *Console) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Prompt is what an interactive console shows before a line.
func (c *Console) Prompt() string {
	c.defaults()
	where := "#" + c.channel
	if c.channel == "" {
		where = "DM with @gopherbot"
	}
	if c.thread != "" {
		where += " (thread)"
	}
	return fmt.Sprintf("%s in %s> ", c.user, where)
}

func (c *Console) defaults() {
	if c.started {
		return
	}
	c.started = true
	c.lastTS = map[string]string{}
	if c.Session == "" {
		c.Session = fmt.Sprintf("Ev%010d", c.now().Unix())
	}
	c.user = "alice"
	c.Workspace.User(c.user)
	c.channel = "general"
}

// Run reads lines from r until EOF or ctx ends. With echo, each line is
// printed before its effects (script mode). After every line it waits until
// the bot is idle, so the calls a line caused are printed before the next.
// A line that fails is reported and the next one runs; in script mode Run
// then returns an error naming the first failed line, once the script is
// done.
func (c *Console) Run(ctx context.Context, r io.Reader, echo bool, prompt bool) error {
	c.defaults()
	src := readLines(r, ctx.Done())
	var failed int
	var first error
	for {
		if prompt {
			c.showPrompt()
		}
		raw, ok := src.next(ctx)
		if prompt {
			c.leavePrompt(!ok)
		}
		if !ok {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			break
		}
		n := src.n // the line's number in the input, for the error
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "# ") || line == "#" {
			continue
		}
		if echo {
			c.printf("%s%s\n", c.Prompt(), line)
		}
		var err error
		if line == `"""` {
			var text string
			text, err = c.block(ctx, src, echo)
			switch {
			case err != nil:
			case strings.TrimSpace(text) == "":
				err = errors.New(`nothing between the """ lines: Slack sends no empty messages`)
			default:
				err = c.say(ctx, text, nil)
			}
		} else {
			err = c.Line(ctx, line)
		}
		if ctx.Err() != nil {
			// Stopped mid-line: what the line says of it is only that
			// it was cut off, in words that may read as a failure. At
			// the prompt, end the line the terminal's "^C" went on.
			if prompt {
				c.printf("\n")
			}
			return ctx.Err()
		}
		if err != nil {
			if errors.Is(err, errQuit) {
				return nil
			}
			c.printf("! %v\n", err)
			if failed++; first == nil {
				first = fmt.Errorf("line %d: %w", n, err)
			}
		}
		if c.Idle != nil {
			if err := c.Idle(ctx); err != nil {
				return fmt.Errorf("console: waiting for the bot: %w", err)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if src.err != nil {
		return fmt.Errorf("console: %w", src.err)
	}
	if !echo || first == nil {
		return nil
	}
	return fmt.Errorf("console: %d line(s) of the script failed; the first, %w", failed, first)
}

// lineSource reads lines in a goroutine of its own, so that waiting for the
// next one does not keep Run from seeing ctx end: a read from a terminal
// cannot be interrupted, and Ctrl-C must still stop the bot.
type lineSource struct {
	ch  chan string
	err error // the scanner's error; read it once ch is closed
	n   int   // the number of the line next returned last, from 1
}

// maxLine is the longest line the console reads.
const maxLine = 1 << 20

func readLines(r io.Reader, done <-chan struct{}) *lineSource {
	l := &lineSource{ch: make(chan string)}
	go func() {
		defer close(l.ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), maxLine)
		read := 0
		for sc.Scan() {
			read++
			text := sc.Text()
			if read == 1 {
				// An editor's byte order mark would make the first
				// line neither a command nor a comment.
				text = strings.TrimPrefix(text, "\ufeff")
			}
			select {
			case l.ch <- text:
			case <-done:
				return
			}
		}
		switch err := sc.Err(); {
		case errors.Is(err, bufio.ErrTooLong):
			l.err = fmt.Errorf("line %d is longer than %d bytes", read+1, maxLine)
		case err != nil:
			l.err = fmt.Errorf("line %d: %w", read+1, err)
		}
	}()
	return l
}

// next returns the next line; ok is false at the end of the input, after
// a read error (then err is set), or when ctx ends.
func (l *lineSource) next(ctx context.Context) (line string, ok bool) {
	select {
	case line, ok = <-l.ch:
		if ok {
			l.n++
		}
		return line, ok
	case <-ctx.Done():
		return "", false
	}
}

// Command is a console command added through Console.Commands.
type Command struct {
	Usage string // e.g. "/merge SUBJECT"
	Help  string
	Run   func(ctx context.Context, arg string) error
}

var errQuit = errors.New("quit")

// block reads the lines of a message up to a closing """, as they are.
func (c *Console) block(ctx context.Context, src *lineSource, echo bool) (string, error) {
	var lines []string
	for {
		line, ok := src.next(ctx)
		if !ok {
			break
		}
		if echo {
			c.printf("  %s\n", line)
		}
		if strings.TrimSpace(line) == `"""` {
			return strings.Join(lines, "\n"), nil
		}
		lines = append(lines, line)
	}
	return "", errors.New(`a message started with """ has no closing """`)
}

// Line handles one line: a console command or a message.
func (c *Console) Line(ctx context.Context, line string) error {
	c.defaults()
	if !strings.HasPrefix(line, "/") {
		return c.say(ctx, line, nil)
	}
	cmd, arg := line, ""
	if i := strings.IndexFunc(line, unicode.IsSpace); i >= 0 {
		cmd, arg = line[:i], strings.TrimSpace(line[i:])
	}
	switch cmd {
	case "/help":
		// One write, so that no call of the bot lands inside it.
		var b strings.Builder
		fmt.Fprintln(&b, Help)
		if len(c.Commands) > 0 {
			fmt.Fprintln(&b, "More commands:")
			for _, name := range slices.Sorted(maps.Keys(c.Commands)) {
				fmt.Fprintf(&b, "  %-15s %s\n", c.Commands[name].Usage, c.Commands[name].Help)
			}
		}
		c.printf("%s", b.String())
	case "/quit", "/exit":
		return errQuit
	case "/as":
		name := strings.TrimPrefix(arg, "@")
		if !validName(name) {
			return fmt.Errorf("/as wants a name of letters, digits, '-', '_' or '.', got %q", arg)
		}
		if c.isBot(name) {
			// The bot ignores its own messages: all said as it would go
			// unanswered, with no word of why.
			return fmt.Errorf("/as %s: that is the bot, which does not answer itself; be a person", arg)
		}
		c.user = strings.ToLower(name)
		if c.channel == "" {
			c.thread = "" // another person's DM is another conversation
		}
		if _, created := c.Workspace.User(c.user); created {
			c.printf("(@%s is new to the workspace; /join sends Slack's team_join)\n", c.user)
		}
	case "/in":
		name := strings.ToLower(strings.TrimPrefix(arg, "#")) // Slack's channel names are lower case
		if !validName(name) {
			return fmt.Errorf("/in wants a channel such as #general, got %q", arg)
		}
		if _, created := c.Workspace.Channel(name); created {
			c.printf("(created #%s)\n", name)
		}
		c.channel, c.thread = name, ""
	case "/dm":
		if arg != "" {
			return noArg(cmd, "the DM")
		}
		c.channel, c.thread = "", ""
	case "/thread":
		if arg != "" {
			return noArg(cmd, "the thread")
		}
		if c.thread != "" {
			c.thread = ""
			return nil
		}
		id, _ := c.where()
		ts := c.lastTS[id]
		if ts == "" {
			return errors.New("/thread: nothing has been said here yet to start a thread under")
		}
		c.thread = ts
	case "/join":
		if arg == "" {
			return c.teamJoin(ctx)
		}
		name := strings.ToLower(strings.TrimPrefix(arg, "#"))
		if !validName(name) {
			return fmt.Errorf("/join wants nothing or a channel such as #newbies, got %q", arg)
		}
		return c.channelJoin(ctx, name)
	case "/upload":
		return c.upload(ctx, arg)
	default:
		if extra, ok := c.Commands[cmd]; ok {
			return extra.Run(ctx, arg)
		}
		return fmt.Errorf("unknown command %s; /help lists them", cmd)
	}
	return nil
}

// noArg is the error of a command that takes no argument but got one, which
// its author likely meant to say there.
func noArg(cmd, where string) error {
	return fmt.Errorf("%s takes nothing after it; to say something in %s, say it on the next line", cmd, where)
}

// isBot reports whether the person called name is the bot.
func (c *Console) isBot(name string) bool {
	if strings.EqualFold(name, "gopherbot") {
		return true
	}
	id, ok := c.Workspace.UserID(strings.ToLower(name))
	return ok && id == c.Workspace.BotUserID()
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)

func validName(s string) bool { return nameRE.MatchString(s) }

// where returns the current conversation's ID and channel_type.
func (c *Console) where() (id, channelType string) {
	uid, _ := c.Workspace.User(c.user)
	if c.channel == "" {
		return c.Workspace.DM(uid), "im"
	}
	id, _ = c.Workspace.Channel(c.channel)
	return id, "channel"
}

var mentionRE = regexp.MustCompile(`(^|[\s(])([@#])([A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]|[A-Za-z0-9])`)

// encode turns @name and #channel into Slack's <@U..> and <#C..|name>
// markup, and escapes &, < and > as Slack does. It reports whether the bot
// was mentioned.
func (c *Console) encode(text string) (string, bool) {
	text = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text)
	mentioned := false
	text = mentionRE.ReplaceAllStringFunc(text, func(m string) string {
		sub := mentionRE.FindStringSubmatch(m)
		lead, sigil, name := sub[1], sub[2], sub[3]
		if sigil == "@" {
			if strings.EqualFold(name, "gopherbot") {
				mentioned = true
				return lead + "<@" + c.Workspace.BotUserID() + ">"
			}
			if id, ok := c.Workspace.UserID(strings.ToLower(name)); ok {
				return lead + "<@" + id + ">"
			}
			return m
		}
		if id, ok := c.Workspace.ChannelID(strings.ToLower(name)); ok {
			return lead + "<#" + id + "|" + strings.ToLower(name) + ">"
		}
		return m
	})
	return text, mentioned
}

// ts returns a new message's ts: the time in microseconds, as Slack's, and
// like Slack's unique and increasing (it is the message's ID).
func (c *Console) ts() string {
	us := max(c.now().UnixMicro(), c.lastUS+1)
	c.lastUS = us
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

// say sends a message, as Slack would: a message event, and in a channel
// also an app_mention event when the bot is mentioned.
func (c *Console) say(ctx context.Context, text string, files []map[string]any) error {
	uid, _ := c.Workspace.User(c.user)
	chID, chType := c.where()
	if chType == "channel" && !c.Workspace.Member(uid, chID) {
		// Slack lets only members post in a channel, and its client has
		// the person join first; the bot's ephemeral notes to someone
		// who is not in the channel would be refused.
		c.printf("(@%s joins #%s first: only members post in a channel)\n", c.user, c.channel)
		if err := c.joined(ctx, uid, chID); err != nil {
			return err
		}
		// One joins before typing: what the bot does about the join
		// comes first, as it would in Slack, and prints in that order.
		if c.Idle != nil {
			if err := c.Idle(ctx); err != nil {
				return fmt.Errorf("console: waiting for the bot: %w", err)
			}
		}
	}
	enc, mentioned := c.encode(text)
	ts := c.ts()
	ev := map[string]any{
		"type": "message", "channel": chID, "channel_type": chType,
		"user": uid, "text": enc, "ts": ts, "event_ts": ts,
	}
	if c.thread != "" {
		ev["thread_ts"] = c.thread
	} else {
		c.lastTS[chID] = ts
	}
	if files != nil {
		ev["subtype"] = "file_share"
		ev["files"] = files
	}
	if err := c.post(ctx, ev); err != nil {
		return err
	}
	if mentioned && chType != "im" {
		mention := map[string]any{
			"type": "app_mention", "channel": chID, "user": uid,
			"text": enc, "ts": ts, "event_ts": ts, "files": files,
		}
		if c.thread != "" {
			mention["thread_ts"] = c.thread
		}
		return c.post(ctx, mention)
	}
	return nil
}

func (c *Console) teamJoin(ctx context.Context) error {
	uid, _ := c.Workspace.User(c.user)
	return c.post(ctx, map[string]any{
		"type": "team_join",
		"user": map[string]any{
			"id": uid, "name": c.user, "real_name": c.user,
			"profile": map[string]any{"display_name": c.user},
		},
		"event_ts": c.ts(),
	})
}

func (c *Console) channelJoin(ctx context.Context, name string) error {
	uid, _ := c.Workspace.User(c.user)
	chID, created := c.Workspace.Channel(name)
	if created {
		c.printf("(created #%s)\n", name)
	}
	c.channel, c.thread = name, ""
	if c.Workspace.Member(uid, chID) {
		// Slack sends nothing for someone who is already there.
		c.printf("(@%s is already in #%s)\n", c.user, name)
		return nil
	}
	return c.joined(ctx, uid, chID)
}

// joined adds the person uid to the channel chID and sends the
// member_joined_channel event Slack sends then.
func (c *Console) joined(ctx context.Context, uid, chID string) error {
	c.Workspace.JoinChannel(uid, chID)
	return c.post(ctx, map[string]any{
		"type": "member_joined_channel", "user": uid, "channel": chID,
		"channel_type": "C", "event_ts": c.ts(),
	})
}

func (c *Console) upload(ctx context.Context, path string) error {
	if path == "" {
		return errors.New("/upload wants a file path")
	}
	content, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("/upload: %w", err)
	}
	name := filepath.Base(path)
	id, url := c.Workspace.AddFile(name, content)
	ft := strings.TrimPrefix(filepath.Ext(name), ".")
	if ft == "" {
		ft = "text"
	}
	lines := bytes.Count(content, []byte("\n"))
	preview := string(content)
	if len(preview) > 1024 {
		preview = preview[:1024]
	}
	return c.say(ctx, "", []map[string]any{{
		"id": id, "name": name, "title": name, "filetype": ft, "mode": "snippet",
		"url_private": url, "url_private_download": url, "lines": lines, "preview": preview,
	}})
}

// post wraps ev in an event_callback envelope, signs it and sends it to the gateway.
func (c *Console) post(ctx context.Context, ev map[string]any) error {
	n := c.seq.Add(1)
	now := c.now()
	body, err := json.Marshal(map[string]any{
		"token": "console", "team_id": c.TeamID, "api_app_id": c.AppID,
		"type": "event_callback", "event": ev,
		"event_id":   fmt.Sprintf("%sC%06d", c.Session, n),
		"event_time": now.Unix(),
	})
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.GatewayURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	stamp := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", Sign(c.SigningSecret, stamp, body))
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("console: gateway: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("gateway answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// Sign is Slack's request signature: v0= and the hex HMAC-SHA256 of
// "v0:timestamp:body" keyed with the signing secret.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + timestamp + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// printf prints what the console says, in one write under outMu, so that
// the bot's calls printed by Interject from another goroutine never land
// inside it.
func (c *Console) printf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	c.outMu.Lock()
	defer c.outMu.Unlock()
	io.WriteString(c.Out, s)
}

// Interject prints s, output that did not come from a line (the bot's
// calls between two lines) or that a command added through Commands
// prints, from any goroutine. While the console waits at its prompt, s
// goes on a line of its own and the prompt is shown again.
func (c *Console) Interject(s string) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.prompting != "" {
		s = "\n" + s + c.prompting
	}
	io.WriteString(c.Out, s)
}

// showPrompt prints the prompt and notes that the console waits at it.
func (c *Console) showPrompt() {
	p := c.Prompt()
	c.outMu.Lock()
	defer c.outMu.Unlock()
	fmt.Fprint(c.Out, p)
	c.prompting = p
}

// leavePrompt notes that a line came, or none will; with end, no line
// came to end the prompt's line, so the console ends it.
func (c *Console) leavePrompt(end bool) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if end && c.prompting != "" {
		fmt.Fprintln(c.Out)
	}
	c.prompting = ""
}
