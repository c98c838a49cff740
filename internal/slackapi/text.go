package slackapi

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
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
// start, cut at the end of a character as people see it (at a line end
// when there is one near the limit, never inside a <link>, <@mention> or
// &amp; entity, with a code block it leaves open closed), followed by
// cutMarker, all within MaxTextLen. cut reports whether it cut.
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
	floor := max(end-cutSearch, 0)
	kept := text[:wholeCharEnd(text, end, floor)]
	// Slack shows a link or mention cut in two as its raw markup, and an
	// entity of escaped text (&amp; &lt; &gt;) cut in two as its start.
	if i := strings.LastIndexByte(kept, '<'); i >= floor && !strings.Contains(kept[i:], ">") {
		kept = kept[:i]
	}
	if i := strings.LastIndexByte(kept, '&'); i >= 0 && i >= len(kept)-len("&amp") && !strings.Contains(kept[i:], ";") {
		kept = kept[:i]
	}
	if i := strings.LastIndexByte(kept, '\n'); i >= floor && i > 0 {
		kept = kept[:i]
	}
	// A run of backticks cut in two would open or close code where the
	// text does not: cut before the run, unless it is longer than the
	// search (then it is not markup, and cutting before it would lose
	// the text).
	if text[len(kept)] == '`' {
		if start := len(strings.TrimRight(kept, "`")); start >= floor {
			kept = kept[:start]
		}
	}
	kept = strings.TrimRight(kept, " \t\r\n")
	if strings.Count(kept, fence)%2 == 1 {
		// Else the marker would show as code, and the block never end.
		kept += "\n" + fence
	}
	return kept + cutMarker, true
}

// wholeCharEnd moves the cut at end of text back (not past floor) to
// the end of a character as people see it: not before an accent, a
// variation selector, a skin tone or an emoji tag that belongs to the
// character before, not after a zero-width joiner (one emoji of a family
// or a profession), and not between the two regional indicators of a
// flag. Each would show as another character, or as a stray box.
func wholeCharEnd(text string, end, floor int) int {
	for end > floor {
		next, _ := utf8.DecodeRuneInString(text[end:])
		prev, size := utf8.DecodeLastRuneInString(text[:end])
		if !joinsPrevious(next) && prev != '\u200d' && !(isRegionalIndicator(next) && oddFlagHalves(text[:end])) {
			return end
		}
		end -= size
	}
	return end
}

// joinsPrevious reports whether r is drawn as part of the character
// before it.
func joinsPrevious(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc, unicode.Variation_Selector) ||
		r == '\u200d' || // zero-width joiner
		r >= 0x1F3FB && r <= 0x1F3FF || // skin tones
		r >= 0xE0020 && r <= 0xE007F // emoji tags (subdivision flags)
}

func isRegionalIndicator(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// oddFlagHalves reports whether s ends in an odd run of regional
// indicators: the last one waits for its pair.
func oddFlagHalves(s string) bool {
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isRegionalIndicator(r) {
			break
		}
		n++
		s = s[:len(s)-size]
	}
	return n%2 == 1
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
