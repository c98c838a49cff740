package slackapi

import (
	"strings"
	"unicode/utf16"
)

// MaxTextLen is the most characters Slack takes in the text of a message
// (chat.postMessage, chat.postEphemeral). Slack posts a longer text cut at
// that length wherever it falls, saying so only in a message_truncated
// warning that readers never see; PostMessage and PostEphemeral cut it
// themselves first, with cutMarker at the end.
const MaxTextLen = 40000

// cutMarker ends a text cut to fit MaxTextLen, so that readers see that the
// rest is missing.
const cutMarker = "\n… (cut short here: the rest did not fit in one Slack message)"

// cutSearch is how far back (in bytes) from the limit fitText looks for a
// line end to cut at, and for the start of a link or mention it would
// otherwise cut in two.
const cutSearch = 2000

// textLen is the length of s as Slack may count it: in UTF-16 code units.
// That is never less than its count of characters (an emoji outside the
// BMP is one character, two units), so a text within MaxTextLen by this
// measure is within it however Slack counts.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}

// fitText returns text unchanged when it is within MaxTextLen; else its
// start, cut at a character boundary (at a line end when there is one near
// the limit, never inside a <link> or <@mention>, with a code block it
// leaves open closed), followed by cutMarker, all within MaxTextLen. cut
// reports whether it cut.
func fitText(text string) (out string, cut bool) {
	// A byte is at least a UTF-16 unit's worth of text.
	if len(text) <= MaxTextLen || textLen(text) <= MaxTextLen {
		return text, false
	}
	const fence = "```"
	budget := MaxTextLen - textLen(cutMarker) - textLen("\n"+fence)
	end, n := 0, 0
	for i, r := range text {
		w := max(utf16.RuneLen(r), 1)
		if n+w > budget {
			end = i
			break
		}
		n += w
	}
	kept := text[:end]
	floor := max(len(kept)-cutSearch, 0)
	// Slack shows a link or mention cut in two as its raw markup.
	if i := strings.LastIndexByte(kept, '<'); i >= floor && !strings.Contains(kept[i:], ">") {
		kept = kept[:i]
	}
	if i := strings.LastIndexByte(kept, '\n'); i >= floor && i > 0 {
		kept = kept[:i]
	}
	// A run of backticks cut in two would open or close code where the
	// text does not.
	for len(kept) > 0 && kept[len(kept)-1] == '`' && text[len(kept)] == '`' {
		kept = kept[:len(kept)-1]
	}
	kept = strings.TrimRight(kept, " \t\r\n")
	if strings.Count(kept, fence)%2 == 1 {
		// Else the marker would show as code, and the block never end.
		kept += "\n" + fence
	}
	return kept + cutMarker, true
}

// fit is fitText for a post of method to channel, with a warning in the
// log when it cuts (the text itself is not logged).
func (c *Client) fit(method, channel, text string) string {
	out, cut := fitText(text)
	if cut {
		c.log.Warn().Str("method", method).Str("channel", channel).
			Int("text_len", textLen(text)).Int("sent_len", textLen(out)).Int("limit", MaxTextLen).
			Msg("text too long for one Slack message; posting it cut short, with a note saying so")
	}
	return out
}
