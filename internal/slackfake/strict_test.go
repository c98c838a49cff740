package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// With WithKnownMessages, reactions.add wants a message that exists, as
// Slack does: one the bot posted, or one added with AddMessage.
func TestKnownMessages(t *testing.T) {
	s, ws, api := newSeeded(t, WithKnownMessages())
	ctx := ctxT(t)
	general, random, alice := ws.Channels["general"], ws.Channels["random"], ws.People["alice"]
	_, posted, err := api.PostMessageContext(ctx, general, slack.MsgOptionText("hi", false))
	if err != nil {
		t.Fatal(err)
	}
	said, err := s.AddMessage(general, alice, "hello")
	if err != nil {
		t.Fatal(err)
	}
	dmTS, err := s.AddMessage(alice, alice, "psst") // a user ID: the bot's DM with them
	if err != nil {
		t.Fatal(err)
	}
	dm, _, _ := s.OpenIM(alice)
	if _, err := s.AddMessage("C404", alice, "x"); err == nil {
		t.Error("AddMessage to a channel that does not exist worked")
	}
	tests := []struct {
		name, channel, ts, want string
	}{
		{"the bot's post", general, posted, ""},
		{"a person's message", general, said, ""},
		{"in the DM", dm, dmTS, ""},
		{"made up", general, "1712345678.000100", "message_not_found"},
		{"other channel", random, said, "message_not_found"},
	}
	for _, tt := range tests {
		got := ""
		if err := api.AddReactionContext(ctx, "gopher", slack.NewRefToMessage(tt.channel, tt.ts)); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: error %q, want %q", tt.name, got, tt.want)
		}
	}

	// Without the option any well-formed ts is taken, for the tests that
	// make up their messages.
	_, ws2, api2 := newSeeded(t)
	if err := api2.AddReactionContext(ctx, "gopher", slack.NewRefToMessage(ws2.Channels["general"], "1712345678.000100")); err != nil {
		t.Errorf("without WithKnownMessages: %v", err)
	}
}

// With WithEmoji, the workspace has only the emoji named: a reaction with
// any other is invalid_name, as Slack answers for a custom emoji the
// workspace does not have.
func TestEmoji(t *testing.T) {
	_, ws, api := newSeeded(t, WithEmoji("gopher", "thumbsup", "wave"))
	ctx := ctxT(t)
	ref := slack.NewRefToMessage(ws.Channels["general"], "1712345678.000100")
	for _, tt := range []struct{ name, want string }{
		{"gopher", ""},
		{":thumbsup:", ""},
		{"wave::skin-tone-3", ""},
		{"gopher-dance", "invalid_name"},
		{"tada", "invalid_name"},
	} {
		got := ""
		if err := api.AddReactionContext(ctx, tt.name, ref); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: error %q, want %q", tt.name, got, tt.want)
		}
	}
}

// RevokeToken makes every call fail as Slack does once the token is
// revoked: token_revoked, and a download lands on the sign-in page.
func TestRevokeToken(t *testing.T) {
	s, ws, api := newSeeded(t)
	ctx := ctxT(t)
	f := s.AddFile("main.go", []byte("package main\n"))
	s.RevokeToken()
	if _, err := api.AuthTestContext(ctx); err == nil || err.Error() != "token_revoked" {
		t.Errorf("auth.test: %v, want token_revoked", err)
	}
	if _, _, err := api.PostMessageContext(ctx, ws.Channels["general"], slack.MsgOptionText("x", false)); err == nil || err.Error() != "token_revoked" {
		t.Errorf("chat.postMessage: %v, want token_revoked", err)
	}
	_, _, m := rawCall(t, s, "users.info", url.Values{"token": {"xoxb-other"}, "user": {ws.People["alice"]}})
	if m["error"] != "invalid_auth" {
		t.Errorf("another token: %v, want invalid_auth", m)
	}
	calls := s.CallsTo("chat.postMessage")
	if len(calls) != 1 || calls[0].Error != "token_revoked" {
		t.Errorf("recorded %+v", calls)
	}
	req, _ := http.NewRequest("GET", f.URLPrivate, nil)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || strings.Contains(string(body), "package main") {
		t.Errorf("download after revocation: %s %q, want the sign-in page", resp.Header.Get("Content-Type"), body)
	}
}

// A token in the query string is not read, as Slack does for apps created
// since February 2021, gopherbot's among them: the call is not_authed. A
// token there would end up in proxies' logs and in the text of Go's
// *url.Error, which a client logs. In the body or the header it is taken.
func TestTokenInQueryNotRead(t *testing.T) {
	s, ws, _ := newSeeded(t)
	alice := ws.People["alice"]
	q := "?token=" + url.QueryEscape(s.Token())
	for _, req := range []func() (*http.Response, error){
		func() (*http.Response, error) { return http.Get(s.APIURL() + "users.info" + q + "&user=" + alice) },
		func() (*http.Response, error) {
			return http.PostForm(s.APIURL()+"users.info"+q, url.Values{"user": {alice}})
		},
	} {
		resp, err := req()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if m["error"] != "not_authed" {
			t.Errorf("%s with the token in the query: %v, want not_authed", resp.Request.Method, m)
		}
	}
	if _, _, m := rawCall(t, s, "users.info", url.Values{"token": {s.Token()}, "user": {alice}}); m["ok"] != true {
		t.Errorf("the token in the body: %v", m)
	}
	for _, c := range s.Calls() {
		if strings.Contains(fmt.Sprint(c.Params), s.Token()) {
			t.Errorf("the token was recorded: %v", c.Params)
		}
	}
}
