package commands

import (
	"context"

	"github.com/gophers/gopherbot/handler"
)

// reactions are the keyword emoji. Custom emoji (gopher, shipit) are ones a
// Go workspace has; where one is missing, Slack answers invalid_name and the
// consumer logs a warning and skips that reaction. Reactions to things said to the bot are always made;
// the others only rarely, so the bot stays a guest and not a nuisance.
var reactions = []handler.Reaction{
	{Keyword: "thank you", Emoji: "heart", OnlyMentioned: true},
	{Keyword: "thanks", Emoji: "heart", OnlyMentioned: true},
	{Keyword: "thx", Emoji: "heart", OnlyMentioned: true},
	{Keyword: "good bot", Emoji: "blush", OnlyMentioned: true},
	{Keyword: "gopher", Emoji: "gopher", Chance: 0.05},
	{Keyword: "ship it", Emoji: "shipit", Chance: 0.25},
	{Keyword: "bbq", Emoji: "cut_of_meat", Chance: 0.2},
	{Keyword: "tea", Emoji: "tea", Chance: 0.1},
	{Keyword: "coffee", Emoji: "coffee", Chance: 0.1},
	{Keyword: "beer", Emoji: "beer", Chance: 0.1},
	{Keyword: "pizza", Emoji: "pizza", Chance: 0.1},
	{Keyword: "congrats", Emoji: "tada", Chance: 0.2},
	{Keyword: "congratulations", Emoji: "tada", Chance: 0.2},
}

// flippedTable is the part every flipped-table emoticon shares, whatever the
// arms and face: (╯°□°)╯︵ ┻━┻, (╯°□°）╯︵ ┻━┻, (ノಠ益ಠ)ノ彡┻━┻ ...
const flippedTable = "┻━┻"

const tableBack = "┬─┬ノ(º_ºノ)  There, the table is back on its legs. Take a breath: what broke? Tell us and we'll look at it together."

func (b *bot) registerFun(mx *handler.Mux) {
	mx.Command("flip a coin", "Heads or tails.", handler.HandlerFunc(flipCoin), "coin flip", "flip coin", "toss a coin", "coin toss", "heads or tails")
	for _, r := range reactions {
		mx.React(r)
	}
	mx.Keyword(flippedTable, "A flipped table gets put back.", handler.HandlerFunc(
		func(ctx context.Context, m *handler.Message, r handler.Responder) error {
			return r.Reply(ctx, tableBack)
		}))
}

// coinSides are the answers to a coin flip: even indexes are heads.
var coinSides = []string{
	":coin: Heads!",
	":coin: Tails!",
	":coin: It landed on *heads*.",
	":coin: It landed on *tails*.",
}

// flipCoin draws from the message's Rand, so a redelivered event flips the
// same way and the answer it may already have posted stays true.
func flipCoin(ctx context.Context, m *handler.Message, r handler.Responder) error {
	return r.Reply(ctx, coinSides[m.Rand().IntN(len(coinSides))], handler.MentionAsked())
}
