package commands

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gophers/gopherbot/handler"
)

func TestCoin(t *testing.T) {
	e := newEnv(t)
	seen := map[string]int{}
	for i := range 40 {
		ev := withEvent(fmt.Sprintf("Ev%04d", i))
		first := e.mustServe(t, mention("flip a coin", ev))
		if len(first) != 1 || first[0].Op != "reply" || !slices.Contains(coinSides, first[0].Text) {
			t.Fatalf("flip a coin answered %+v, want one of the coin sides", first)
		}
		// A redelivered event (same ID) flips the same way, whatever alias.
		for _, alias := range []string{"coin flip", "Flip coin!", "toss a coin"} {
			again := e.mustServe(t, mention(alias, ev))
			if diff := cmp.Diff(first, again); diff != "" {
				t.Fatalf("event %d, %q: another answer on redelivery (-first +again):\n%s", i, alias, diff)
			}
		}
		seen[first[0].Text]++
	}
	heads := seen[coinSides[0]] + seen[coinSides[2]]
	tails := seen[coinSides[1]] + seen[coinSides[3]]
	if heads == 0 || tails == 0 {
		t.Errorf("40 flips gave %d heads and %d tails; the coin is not fair", heads, tails)
	}
}

func TestCoinMentionsAsked(t *testing.T) {
	e := newEnv(t)
	got := e.mustServe(t, mention("flip a coin <@UBOB> <@UCAROL>"))
	if len(got) != 1 || !cmp.Equal(got[0].Mention, []string{"UBOB", "UCAROL"}) {
		t.Errorf("got %+v, want one reply addressing UBOB and UCAROL", got)
	}
}

func TestReactions(t *testing.T) {
	react := func(emoji string) call { return call{Op: "react", Text: emoji} }
	e := newEnv(t)
	for _, tt := range []struct {
		name string
		m    *handler.Message
		want []call
	}{
		{"thanks unaddressed", message("thanks everyone"), nil},
		{"thanks mentioned", mention("thanks!"), []call{react("heart")}},
		{"thank you, mention last", message("thank you so much <@UBOT>"), []call{react("heart")}},
		{"thank you in a DM", message("Thank you", asDM), []call{react("heart")}},
		{"one heart for two keywords", mention("thanks, thx"), []call{react("heart")}},
		{"good bot", mention("good bot"), []call{react("blush")}},
		{"good bot unaddressed", message("good bot"), nil},
		{"word boundary", message("our team went to the teahouse"), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := e.mustServe(t, tt.m)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// Keywords match whole words only: no heart for thanksgiving (the
	// bot does answer, with its "don't know" reply).
	for _, c := range e.mustServe(t, mention("thanksgiving plans")) {
		if c.Op == "react" {
			t.Errorf("thanksgiving got a reaction %q", c.Text)
		}
	}
}

// TestRandomReactions: the rare ones happen, rarely, and the same event
// always makes the same choice.
func TestRandomReactions(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		text, emoji string
		chance      float64
	}{
		{"I love the gopher", "gopher", 0.05},
		{"who wants coffee?", "coffee", 0.1},
		{"bbq tonight", "cut_of_meat", 0.2},
	} {
		const n = 400
		count := 0
		for i := range n {
			m := message(tt.text, withEvent(fmt.Sprintf("Ev%05d", i)))
			got := e.mustServe(t, m)
			if len(got) > 0 {
				if diff := cmp.Diff([]call{{Op: "react", Text: tt.emoji}}, got); diff != "" {
					t.Fatalf("%q (-want +got):\n%s", tt.text, diff)
				}
				count++
			}
			if again := e.mustServe(t, m); len(again) != len(got) {
				t.Fatalf("%q, event %d: %d calls, then %d on redelivery", tt.text, i, len(got), len(again))
			}
		}
		// Expected n*chance; allow a wide margin, the point is "rare but not never".
		if lo, hi := int(n*tt.chance/3), int(n*tt.chance*2.5); count < lo || count > hi {
			t.Errorf("%q reacted %d times in %d, want between %d and %d", tt.text, count, n, lo, hi)
		}
	}
}

func TestFlippedTable(t *testing.T) {
	e := newEnv(t)
	for _, text := range []string{
		"(╯°□°)╯︵ ┻━┻",
		"(╯°□°）╯︵ ┻━┻",
		"this build again (ノಠ益ಠ)ノ彡┻━┻",
	} {
		got := e.mustServe(t, message(text))
		if diff := cmp.Diff([]call{reply(tableBack)}, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", text, diff)
		}
	}
	if got := e.mustServe(t, message("┬─┬ノ(º_ºノ) all good")); len(got) != 0 {
		t.Errorf("an upright table got %+v", got)
	}
}
