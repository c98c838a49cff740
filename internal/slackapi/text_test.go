package slackapi

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// A text over Slack's limit is cut by the client, with a marker readers
// see, instead of by Slack, which would cut it silently (a warning only the
// log sees) wherever the limit falls. Slack documents the limit for both
// ways of posting.
func TestLongTextCut(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client(t, WithPostInterval(0))
	ctx := ctxT(t, 10*time.Second)
	general, alice := e.ws.Channels["general"], e.ws.People["alice"]
	long := strings.Repeat("a line of text that goes on\n", 2000) // 56,000 characters
	if _, err := c.PostMessage(ctx, general, long, PostOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.PostEphemeral(ctx, general, alice, long, ""); err != nil {
		t.Fatal(err)
	}
	calls := e.fake.Calls()
	if len(calls) != 2 {
		t.Fatalf("calls:\n%s", e.fake.RenderCalls(calls))
	}
	for _, call := range calls {
		text := call.Params["text"]
		if n := textLen(text); n > MaxTextLen {
			t.Errorf("%s: sent %d characters, over the limit of %d", call.Method, n, MaxTextLen)
		}
		if !strings.HasSuffix(text, cutMarker) || !strings.HasPrefix(long, strings.TrimSuffix(text, cutMarker)) {
			t.Errorf("%s: sent %q...%q; want the start of the text and the marker", call.Method, text[:40], text[max(len(text)-80, 0):])
		}
		if call.Warnings != nil {
			t.Errorf("%s: Slack warned %q: it had to cut the text itself", call.Method, call.Warnings)
		}
	}
	for _, method := range []string{"chat.postMessage", "chat.postEphemeral"} {
		if !e.log.Contains(`"level":"warn","component":"slackapi","method":"` + method + `","channel":"` + general + `"`) {
			t.Errorf("the cut of %s is not logged as a warning naming the method and the channel:\n%s", method, e.log.String())
		}
	}
	if e.log.Contains("a line of text") {
		t.Errorf("the text is in the log")
	}
	// A text within the limit goes as it is.
	e.fake.Reset()
	exact := strings.Repeat("é", MaxTextLen)
	if _, err := c.PostMessage(ctx, general, exact, PostOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := e.fake.CallsTo("chat.postMessage")[0].Params["text"]; got != exact {
		t.Errorf("a text of exactly %d characters was changed", MaxTextLen)
	}
}

func TestFitText(t *testing.T) {
	t.Parallel()
	const limit = MaxTextLen
	budget := limit - textLen(cutMarker)
	tests := []struct {
		name string
		text string
		want string // what is kept before the marker; "" when the text is not cut
	}{
		{"short", "hello", ""},
		{"exactly the limit", strings.Repeat("x", limit), ""},
		{"the limit in two-byte characters", strings.Repeat("é", limit), ""},
		{"one over", strings.Repeat("x", limit+1), strings.Repeat("x", budget-4)},
		// Outside the BMP a character may count twice (UTF-16), so the
		// text is kept within the limit either way.
		{"emoji", strings.Repeat("🐹", limit/2+1), strings.Repeat("🐹", (budget-4)/2)},
		{"cut at the last line end near the limit",
			strings.Repeat("x", limit-1500) + "\n" + strings.Repeat("y", 5000),
			strings.Repeat("x", limit-1500)},
		{"no line end near the limit",
			strings.Repeat("x", limit-3000) + "\n" + strings.Repeat("y", 5000),
			strings.Repeat("x", limit-3000) + "\n" + strings.Repeat("y", budget-4-(limit-3000)-1)},
		{"a mention is not cut in two",
			strings.Repeat("x", budget-4-5) + "<@U0ALICE> and more" + strings.Repeat("z", 100),
			strings.Repeat("x", budget-4-5)},
		{"a lone < far back is text, not a mention",
			"if a < b {" + strings.Repeat("x", limit),
			("if a < b {" + strings.Repeat("x", limit))[:budget-4]},
		{"a code fence is not cut in two",
			strings.Repeat("x", budget-4-2) + "```go\nx := 1\n```" + strings.Repeat("z", 100),
			strings.Repeat("x", budget-4-2)},
		{"an open code block is closed",
			"see:\n```\n" + strings.Repeat("x", limit),
			"see:\n```\n" + strings.Repeat("x", budget-4-9) + "\n```"},
		{"a closed code block stays closed",
			"see:\n```x```\n" + strings.Repeat("y ", limit),
			strings.TrimSpace(("see:\n```x```\n" + strings.Repeat("y ", limit))[:budget-4])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cut := fitText(tt.text)
			if tt.want == "" {
				if cut || got != tt.text {
					t.Errorf("fitText cut a text of %d characters", textLen(tt.text))
				}
				return
			}
			if !cut || !utf8.ValidString(got) || textLen(got) > limit {
				t.Fatalf("cut %v, valid UTF-8 %v, %d characters; want cut, valid, at most %d", cut, utf8.ValidString(got), textLen(got), limit)
			}
			kept, ok := strings.CutSuffix(got, cutMarker)
			if !ok || kept != tt.want {
				t.Errorf("kept %d bytes ending %q, want %d ending %q", len(kept), kept[max(len(kept)-30, 0):], len(tt.want), tt.want[max(len(tt.want)-30, 0):])
			}
		})
	}
}

// TestFitTextAdversarial: texts that are all markup or all joined
// characters. Wherever the limit falls in them, the cut keeps all but at
// most the search window of the text, and does not split a character
// people see as one (an emoji sequence, a letter and its accent, a flag)
// or an entity of escaped text (&amp;).
func TestFitTextAdversarial(t *testing.T) {
	t.Parallel()
	// The least kept: the limit, less the marker, a closing fence and
	// the window searched back for a better place to cut.
	least := MaxTextLen - textLen(cutMarker) - textLen("\n```") - cutSearch
	tests := []struct {
		name string
		unit string // repeated past the limit, after 0 to 7 x's
		// split reports whether kept, followed by rest, is cut inside
		// something that should stay whole.
		split func(kept, rest string) bool
	}{
		{"only backticks", "`", nil},
		{"text, then a run of backticks", "a line\n" + strings.Repeat("`", MaxTextLen), nil},
		{"only <", "<", nil},
		{"a link longer than the limit", "<https://go.dev/" + strings.Repeat("a", MaxTextLen) + ">", nil},
		{"combining accents", "e\u0301", func(kept, rest string) bool {
			return strings.HasPrefix(rest, "\u0301")
		}},
		{"emoji ZWJ sequences", "👨\u200d👩\u200d👧", func(kept, rest string) bool {
			return strings.HasSuffix(kept, "\u200d") || strings.HasPrefix(rest, "\u200d")
		}},
		{"skin tones", "👍🏽", func(kept, rest string) bool { return strings.HasPrefix(rest, "🏽") }},
		{"keycaps", "1\ufe0f\u20e3", func(kept, rest string) bool {
			return strings.HasPrefix(rest, "\ufe0f") || strings.HasPrefix(rest, "\u20e3")
		}},
		{"flags", "🇬🇴", func(kept, rest string) bool {
			// Regional indicators pair up from the start of their run.
			return utf8.RuneCountInString(strings.TrimLeft(kept, "x"))%2 == 1
		}},
		{"escaped text", "a &lt; b &amp;&amp; c &gt; d ", func(kept, rest string) bool {
			i := strings.LastIndexByte(kept, '&')
			return i >= 0 && !strings.Contains(kept[i:], ";")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for pad := range 8 {
				text := strings.Repeat("x", pad) + strings.Repeat(tt.unit, MaxTextLen/textLen(tt.unit)+1)
				got, cut := fitText(text)
				if !cut || !utf8.ValidString(got) || textLen(got) > MaxTextLen {
					t.Fatalf("pad %d: cut %v, valid UTF-8 %v, %d characters", pad, cut, utf8.ValidString(got), textLen(got))
				}
				kept, ok := strings.CutSuffix(got, cutMarker)
				kept = strings.TrimSuffix(kept, "\n```") // a block left open is closed
				if !ok || !strings.HasPrefix(text, kept) {
					t.Fatalf("pad %d: sent %q...%q; want the start of the text and the marker", pad, got[:min(len(got), 20)], got[max(len(got)-80, 0):])
				}
				if n := textLen(kept); n < least {
					t.Errorf("pad %d: kept %d characters of %d, want at least %d", pad, n, textLen(text), least)
				}
				if tt.split != nil && tt.split(kept, text[len(kept):]) {
					t.Errorf("pad %d: cut inside a character or an entity: ...%q | %q...", pad, kept[max(len(kept)-20, 0):], text[len(kept):len(kept)+12])
				}
			}
		})
	}
}

// FuzzFitText: whatever the text, what is sent is within the limit, valid
// UTF-8 when the text was, and either the text itself or a cut one with the
// marker.
func FuzzFitText(f *testing.F) {
	f.Add("a line\n", 6000)
	f.Add("<@U0ALICE> ```go\nx := 1\n", 1700)
	f.Add("🐹é`<", 9000)
	f.Add("`", 45000)
	f.Add("👨\u200d👩\u200d👧 &amp; 🇬🇴", 3000)
	f.Fuzz(func(t *testing.T, unit string, n int) {
		if len(unit) == 0 || n <= 0 || len(unit)*n > 1<<20 {
			t.Skip()
		}
		text := strings.Repeat(unit, n)
		got, cut := fitText(text)
		switch {
		case !cut && got != text:
			t.Fatal("changed a text it did not cut")
		case !cut && textLen(text) > MaxTextLen:
			t.Fatalf("left a text of %d characters", textLen(text))
		case cut && (textLen(got) > MaxTextLen || !strings.HasSuffix(got, cutMarker)):
			t.Fatalf("cut to %d characters, marker %v", textLen(got), strings.HasSuffix(got, cutMarker))
		case utf8.ValidString(text) && !utf8.ValidString(got):
			t.Fatal("cut inside a character")
		}
	})
}
