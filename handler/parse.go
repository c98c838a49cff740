package handler

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Parse reads the text of a Slack message event as Slack sends it.
//
// Slack writes references as <...> and escapes the three characters
// &, < and > of what people typed as &amp;, &lt; and &gt;. Parse returns:
//
//   - text: the message with every mention of the bot (<@BOT> or
//     <@BOT|name>) removed, together with a ':' or ',' right after it
//     ("<@BOT>: help" is "help"), or a ',' right before it when it ends a
//     sentence ("help, <@BOT>" is "help"); links replaced by their label,
//     or their address when they have none; &amp;, &lt; and &gt;
//     unescaped; the invisible characters that copied text brings along
//     (zero-width space, word joiner, byte order mark) removed, so that the
//     text is what people see; leading and trailing white space trimmed.
//     Other references stay as Slack wrote them (<@U2>, <#C1|general>,
//     <!here>), so that echoing them keeps them live. A literal "<@BOT>"
//     that someone typed is removed too, so the text never contains the
//     bot's mention.
//   - mentions: every reference in the message other than the bot's own
//     mention, in order, once each (by kind and ID); labels and link
//     addresses unescaped. Slack's date formatting (<!date^...>) is not a
//     mention: its fallback text is put in the text.
//   - mentioned: whether the message mentions the bot.
//
// With an empty botUserID nothing is removed and mentioned is false.
func Parse(rawText, botUserID string) (text string, mentions []Mention, mentioned bool) {
	var b strings.Builder
	b.Grow(len(rawText))
	type key struct {
		kind MentionKind
		id   string
	}
	var seen map[key]bool
	add := func(mn Mention) {
		k := key{mn.Kind, mn.ID}
		if seen[k] {
			return
		}
		if seen == nil {
			seen = make(map[key]bool)
		}
		seen[k] = true
		mentions = append(mentions, mn)
	}

	s := rawText
	for s != "" {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+1:], '>')
		if j < 0 {
			break
		}
		// Slack escapes a typed '<', so a second one before the '>' is
		// not expected; if there is one, the reference starts there.
		if k := strings.LastIndexByte(s[i+1:i+1+j], '<'); k >= 0 {
			i, j = i+1+k, j-k-1
		}
		b.WriteString(unescape(s[:i]))
		tok := s[i+1 : i+1+j]
		s = s[i+1+j+1:]

		switch {
		case strings.HasPrefix(tok, "@") && len(tok) > 1:
			id, label, _ := strings.Cut(tok[1:], "|")
			if botUserID != "" && id == botUserID {
				// Written in its plain form and removed below with any
				// typed copies, so there is one way of removing it.
				mentioned = true
				b.WriteString("<@" + botUserID + ">")
				continue
			}
			add(Mention{Kind: MentionUser, ID: id, Label: unescape(label)})
			b.WriteString("<" + tok + ">")
		case strings.HasPrefix(tok, "#") && len(tok) > 1:
			id, label, _ := strings.Cut(tok[1:], "|")
			add(Mention{Kind: MentionChannel, ID: id, Label: unescape(label)})
			b.WriteString("<" + tok + ">")
		case strings.HasPrefix(tok, "!"):
			name, label, hasLabel := strings.Cut(tok[1:], "|")
			switch {
			case strings.HasPrefix(name, "subteam^") && len(name) > len("subteam^"):
				add(Mention{Kind: MentionUserGroup, ID: name[len("subteam^"):], Label: unescape(label)})
				b.WriteString("<" + tok + ">")
			case name == "here" || name == "channel" || name == "everyone":
				add(Mention{Kind: MentionSpecial, ID: name, Label: unescape(label)})
				b.WriteString("<" + tok + ">")
			case hasLabel:
				// <!date^...|fallback> and the like: what a client shows
				// when it cannot format it.
				b.WriteString(unescape(label))
			default:
				b.WriteString("<" + tok + ">")
			}
		case strings.Contains(tok, ":"):
			url, label, _ := strings.Cut(tok, "|")
			url = unescape(url)
			label = unescape(label)
			add(Mention{Kind: MentionLink, ID: url, Label: label})
			switch {
			case label != "":
				b.WriteString(label)
			case strings.HasPrefix(url, "mailto:"):
				b.WriteString(url[len("mailto:"):])
			default:
				b.WriteString(url)
			}
		default:
			// Not a reference Slack writes; keep it as it came.
			b.WriteString(unescape("<" + tok + ">"))
		}
	}
	b.WriteString(unescape(s))

	text = dropInvisible(b.String())
	if botUserID != "" {
		text = removeMentions(text, botUserID)
	}
	return strings.TrimSpace(text), mentions, mentioned
}

// invisible are characters that show as nothing and mean nothing in a
// message. The zero-width joiner and non-joiner are not among them: emoji
// sequences and some scripts need them.
const invisible = "\u200b\u2060\ufeff"

var invisibleRemover = strings.NewReplacer("\u200b", "", "\u2060", "", "\ufeff", "")

func dropInvisible(s string) string {
	if !strings.ContainsAny(s, invisible) {
		return s
	}
	return invisibleRemover.Replace(s)
}

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

func unescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return unescaper.Replace(s)
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape escapes &, < and > as Slack asks of message text, so that text from
// elsewhere (a term, a package path) is shown as it is and not read as a
// <...> reference.
func Escape(s string) string { return escaper.Replace(s) }

// removeMentions removes every <@bot> and <@bot|label> from s. Removing one
// can make another out of its neighbours only in contrived text, so it goes
// over s again until nothing changes.
func removeMentions(s, bot string) string {
	for {
		out, changed := removeMentionsOnce(s, bot)
		if !changed {
			return out
		}
		s = out
	}
}

func removeMentionsOnce(s, bot string) (string, bool) {
	open := "<@" + bot
	var out []byte
	pos, from := 0, 0
	for {
		i := strings.Index(s[from:], open)
		if i < 0 {
			break
		}
		start := from + i
		end := start + len(open)
		switch {
		case end < len(s) && s[end] == '>':
			end++
		case end < len(s) && s[end] == '|':
			j := strings.IndexByte(s[end:], '>')
			if j < 0 {
				from = start + 1
				continue
			}
			end += j + 1
		default:
			from = start + 1
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(s))
		}
		out = append(out, s[pos:start]...)
		out = trimRightBlank(out)
		rest := skipAddressPunct(s[end:])
		if len(out) > 0 && out[len(out)-1] == ',' && (rest == "" || strings.ContainsRune(".!?", rune(rest[0]))) {
			// The comma was there for the mention: "help, @bot" is
			// "help", and "thanks, @bot!" is "thanks!".
			out = trimRightBlank(out[:len(out)-1])
		}
		pos = len(s) - len(rest)
		from = pos
		if needSpace(out, rest) {
			out = append(out, ' ')
		}
	}
	if out == nil {
		return s, false
	}
	return string(append(out, s[pos:]...)), true
}

// skipAddressPunct skips the blanks and the one ':' or ',' that follow a
// mention used to address someone ("@bot: help", "@bot, help"). An emoji
// (":wave:") right after the mention is kept.
func skipAddressPunct(s string) string {
	s = strings.TrimLeft(s, " \t")
	if s != "" && (s[0] == ',' || s[0] == ':' && !startsWithEmoji(s)) {
		s = strings.TrimLeft(s[1:], " \t")
	}
	return s
}

// startsWithEmoji reports whether s starts with an emoji code like :wave:.
func startsWithEmoji(s string) bool {
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			return i > 1
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '-', c == '+', c == '\'':
		default:
			return false
		}
	}
	return false
}

func trimRightBlank(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// needSpace reports whether the words either side of a removed mention need a
// space between them: "thanks @bot for that" is "thanks for that", while
// "thanks @bot!" is "thanks!".
func needSpace(left []byte, right string) bool {
	if len(left) == 0 || right == "" {
		return false
	}
	l, _ := utf8.DecodeLastRune(left)
	r, _ := utf8.DecodeRuneInString(right)
	if unicode.IsSpace(l) || unicode.IsSpace(r) {
		return false
	}
	return !strings.ContainsRune(".,!?;:)", r)
}

// handledSubtypes are the message subtypes that are someone saying something.
var handledSubtypes = map[string]bool{
	"":                 true,
	"thread_broadcast": true, // a thread reply also sent to the channel
	"file_share":       true, // a message with an uploaded file
	"me_message":       true, // /me does something
}

// Skip reports whether a message event is not to be handled, and why (for
// the log). subtype, user and botID are the event's subtype, user and bot_id;
// selfUserID is the bot's own user ID (from auth.test).
//
// Skipped, in this order:
//   - the bot's own messages (user is selfUserID), whatever the subtype, so
//     also a thread_broadcast of its own reply;
//   - every bot's message (a bot_id), so bots never talk to each other in
//     circles;
//   - every subtype other than none, thread_broadcast, file_share and
//     me_message: edits (message_changed), deletions (message_deleted),
//     message_replied, bot_message, joins and leaves (channel_join,
//     channel_leave, group_join, group_leave), topic, purpose and name
//     changes, pins, and any subtype Slack adds later. These are not someone
//     asking something, or they repeat a message already answered. (Slack's
//     hidden events all have such a subtype.)
//   - a message without a user.
func Skip(subtype, user, botID, selfUserID string) (reason string, skip bool) {
	switch {
	case selfUserID != "" && user == selfUserID:
		return "the bot's own message", true
	case botID != "":
		return "a bot's message", true
	case !handledSubtypes[subtype]:
		return "message subtype " + subtype, true
	case user == "":
		return "message without a user", true
	}
	return "", false
}
