package handler_test

import (
	"context"
	"fmt"

	"github.com/gophers/gopherbot/handler"
)

// printer is a Responder that prints what the bot would do in Slack.
type printer struct{}

func (printer) Reply(ctx context.Context, text string, opts ...handler.ReplyOption) error {
	fmt.Printf("reply: %s\n", text)
	return nil
}

func (printer) Ephemeral(ctx context.Context, text string) error {
	fmt.Printf("ephemeral: %s\n", text)
	return nil
}

func (printer) DM(ctx context.Context, user, text string) error {
	fmt.Printf("DM to %s: %s\n", user, text)
	return nil
}

func (printer) React(ctx context.Context, emoji string) error {
	fmt.Printf("react :%s:\n", emoji)
	return nil
}

func Example() {
	mux := handler.NewMux()
	mux.Command("help", "What I can do.", mux.HelpHandler(), "commands")
	mux.Command("ping", "Am I awake?", handler.HandlerFunc(func(ctx context.Context, m *handler.Message, r handler.Responder) error {
		return r.Reply(ctx, "pong")
	}), "are you there")
	mux.Prefix("d/", "<package> A link to the package's documentation.", handler.HandlerFunc(func(ctx context.Context, m *handler.Message, r handler.Responder) error {
		return r.Reply(ctx, "https://pkg.go.dev/"+m.Arg)
	}))
	mux.React(handler.Reaction{Keyword: "gopher", Emoji: "gopher"})

	const botID = "U0BOT"
	for _, said := range []struct{ channelType, raw string }{
		{"channel", "<@U0BOT>: Are you there?"},
		{"channel", "are you there?"}, // not addressed: no answer
		{"im", "d/<http://golang.org/x/tools|golang.org/x/tools>"},
		{"channel", "I love my gopher <@U0BOT>"}, // a reaction is answer enough
		{"im", "hello"},
		{"im", "help"},
	} {
		text, mentions, mentioned := handler.Parse(said.raw, botID)
		m := &handler.Message{
			Kind:        handler.KindMessage,
			EventID:     "Ev0001",
			ChannelType: said.channelType,
			User:        "U1",
			Text:        text,
			RawText:     said.raw,
			Mentioned:   mentioned,
			Mentions:    mentions,
			BotID:       botID,
		}
		fmt.Printf("> %s\n", said.raw)
		if err := mux.ServeMessage(context.Background(), m, printer{}); err != nil {
			fmt.Println("error:", err)
		}
	}
	// Output:
	// > <@U0BOT>: Are you there?
	// reply: pong
	// > are you there?
	// > d/<http://golang.org/x/tools|golang.org/x/tools>
	// reply: https://pkg.go.dev/golang.org/x/tools
	// > I love my gopher <@U0BOT>
	// react :gopher:
	// > hello
	// reply: Sorry, I don't know that one. Ask me `help` to see what I can answer.
	// > help
	// reply: Mention me with one of these in a channel, or send it to me in a DM.
	// *Questions and commands*
	// • `help` (also `commands`) — What I can do.
	// • `ping` (also `are you there`) — Am I awake?
	// *Lookups*
	// • `d/&lt;package&gt;` — A link to the package's documentation.
}

func ExampleParse() {
	text, mentions, mentioned := handler.Parse("<@U0BOT>: books <@U2|ann> &amp; <https://go.dev/doc|the docs>", "U0BOT")
	fmt.Printf("%q %v\n", text, mentioned)
	for _, m := range mentions {
		fmt.Printf("%v %s %q\n", m.Kind, m.ID, m.Label)
	}
	// Output:
	// "books <@U2|ann> & the docs" true
	// user U2 "ann"
	// link https://go.dev/doc "the docs"
}
