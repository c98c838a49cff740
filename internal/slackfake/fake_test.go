package slackfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
)

// newSeeded starts a seeded fake and a slack-go client of it.
func newSeeded(t *testing.T, opts ...Option) (*Server, Workspace, *slack.Client) {
	t.Helper()
	s := New(opts...)
	t.Cleanup(s.Close)
	ws, err := s.Seed()
	if err != nil {
		t.Fatal(err)
	}
	return s, ws, slack.New(s.Token(), slack.OptionAPIURL(s.APIURL()))
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rawCall posts form values to a method and decodes the JSON answer.
func rawCall(t *testing.T, s *Server, method string, v url.Values) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(s.APIURL()+method, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	body, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(body, &m)
	return resp.StatusCode, resp.Header, m
}

func TestAuthTest(t *testing.T) {
	s, _, api := newSeeded(t)
	got, err := api.AuthTestContext(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != DefaultBotUser || got.BotID != DefaultBotID || got.TeamID != DefaultTeamID || got.User != DefaultBotName {
		t.Errorf("auth.test = %+v", got)
	}

	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL()))
	if _, err := bad.AuthTestContext(ctxT(t)); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("wrong token: err = %v, want invalid_auth", err)
	}
	_, _, m := rawCall(t, s, "auth.test", nil)
	if m["error"] != "not_authed" {
		t.Errorf("no token: %v, want not_authed", m)
	}
	_, _, m = rawCall(t, s, "chat.scheduleMessage", url.Values{"token": {s.Token()}})
	if m["ok"] != false || m["error"] != "unknown_method" {
		t.Errorf("unknown method: %v", m)
	}
}

func TestRecording(t *testing.T) {
	s, ws, api := newSeeded(t)
	ctx := ctxT(t)
	ch, ts, err := api.PostMessageContext(ctx, ws.Channels["general"],
		slack.MsgOptionText("hello <@"+ws.People["alice"]+">", false),
		slack.MsgOptionTS("1712345678.000100"))
	if err != nil {
		t.Fatal(err)
	}
	if ch != ws.Channels["general"] || ts == "" {
		t.Fatalf("post = %q %q", ch, ts)
	}
	ts2, err := api.PostEphemeralContext(ctx, ws.Channels["general"], ws.People["bob"], slack.MsgOptionText("just you", false))
	if err != nil {
		t.Fatal(err)
	}
	if ts2 <= ts {
		t.Errorf("second ts %q not after first %q", ts2, ts)
	}

	calls := s.Calls()
	if len(calls) != 2 {
		t.Fatalf("got %d calls, want 2", len(calls))
	}
	c := calls[0]
	if c.Method != "chat.postMessage" || !c.OK() || c.Seq != 1 || c.Time.IsZero() {
		t.Errorf("first call = %+v", c)
	}
	if _, ok := c.Params["token"]; ok {
		t.Error("the token was recorded with the params")
	}
	want := map[string]string{"channel": ws.Channels["general"], "ts": ts}
	if diff := cmp.Diff(want, c.Result); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if c.Params["text"] != "hello <@"+ws.People["alice"]+">" || c.Params["thread_ts"] != "1712345678.000100" {
		t.Errorf("params = %v", c.Params)
	}
	if got := s.CallsTo("chat.postEphemeral"); len(got) != 1 || got[0].Params["user"] != ws.People["bob"] {
		t.Errorf("CallsTo = %+v", got)
	}

	s.Reset()
	if n := len(s.Calls()); n != 0 {
		t.Errorf("after Reset: %d calls", n)
	}
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Fatal(err)
	}
	if c := s.Calls(); len(c) != 1 || c[0].Seq != 1 {
		t.Errorf("after Reset, calls = %+v", c)
	}
}

func TestRecordLimit(t *testing.T) {
	s := New(WithRecordLimit(4))
	t.Cleanup(s.Close)
	api := slack.New(s.Token(), slack.OptionAPIURL(s.APIURL()))
	for range 9 {
		api.AuthTestContext(ctxT(t))
	}
	var seqs []int
	for _, c := range s.Calls() {
		seqs = append(seqs, c.Seq)
	}
	// The 5th call drops all but 4 and 5; the 8th all but 7 and 8.
	if diff := cmp.Diff([]int{7, 8, 9}, seqs); diff != "" {
		t.Errorf("kept calls (-want +got):\n%s", diff)
	}

	// A limit of 1 keeps the last call, not none: WaitCalls would wait
	// for ever for a call made.
	s1 := New(WithRecordLimit(1))
	t.Cleanup(s1.Close)
	api = slack.New(s1.Token(), slack.OptionAPIURL(s1.APIURL()))
	for range 2 {
		api.AuthTestContext(ctxT(t))
	}
	if calls := s1.Calls(); len(calls) != 1 || calls[0].Seq != 2 {
		t.Errorf("with a limit of 1, kept %+v; want the second call", calls)
	}
}

func TestJSONBody(t *testing.T) {
	s, ws, _ := newSeeded(t)
	body, _ := json.Marshal(map[string]any{"channel": ws.Channels["random"], "text": "json", "unfurl_links": false, "n": 3})
	req, _ := http.NewRequest("POST", s.APIURL()+"chat.postMessage", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := s.Calls()[0]
	want := map[string]string{"channel": ws.Channels["random"], "text": "json", "unfurl_links": "false", "n": "3"}
	if diff := cmp.Diff(want, c.Params); diff != "" || !c.OK() {
		t.Errorf("params (-want +got):\n%s\ncall %+v", diff, c)
	}
}

func TestPostErrors(t *testing.T) {
	s, ws, api := newSeeded(t)
	ctx := ctxT(t)
	dave, _ := s.AddUser(User{Name: "dave"})
	secret, _ := s.AddChannel(Channel{Name: "secret", IsPrivate: true, Members: []string{dave.ID}})
	old, _ := s.AddChannel(Channel{Name: "old"})
	if err := s.ArchiveChannel(old.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"unknown channel", func() error {
			_, _, err := api.PostMessageContext(ctx, "C404", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"channel name", func() error {
			_, _, err := api.PostMessageContext(ctx, "general", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"private without the bot", func() error {
			_, _, err := api.PostMessageContext(ctx, secret.ID, slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"archived", func() error {
			_, _, err := api.PostMessageContext(ctx, old.ID, slack.MsgOptionText("x", false))
			return err
		}, "is_archived"},
		{"no text", func() error {
			_, _, err := api.PostMessageContext(ctx, ws.Channels["general"], slack.MsgOptionText("", false))
			return err
		}, "no_text"},
		{"ephemeral to a non-member", func() error {
			_, err := api.PostEphemeralContext(ctx, ws.Channels["general"], dave.ID, slack.MsgOptionText("x", false))
			return err
		}, "user_not_in_channel"},
		{"ephemeral to nobody", func() error {
			_, err := api.PostEphemeralContext(ctx, ws.Channels["general"], "U404", slack.MsgOptionText("x", false))
			return err
		}, "user_not_found"},
		{"DM the bot", func() error {
			_, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{s.Bot().ID}})
			return err
		}, "cannot_dm_bot"},
		{"unknown user", func() error {
			_, err := api.GetUserInfoContext(ctx, "U404")
			return err
		}, "user_not_found"},
		{"info of a private channel without the bot", func() error {
			_, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: secret.ID})
			return err
		}, "channel_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
	for _, c := range s.Calls() {
		if c.OK() || c.Status != 200 || c.Error == "" {
			t.Errorf("call %s %v: ok=%v status=%d error=%q, want a recorded Slack error", c.Method, c.Params, c.OK(), c.Status, c.Error)
		}
	}
}

func TestReactions(t *testing.T) {
	s, ws, api := newSeeded(t)
	ctx := ctxT(t)
	ref := slack.NewRefToMessage(ws.Channels["general"], "1712345678.000100")
	if err := api.AddReactionContext(ctx, "gopher", ref); err != nil {
		t.Fatal(err)
	}
	if err := api.AddReactionContext(ctx, "gopher", ref); err == nil || err.Error() != "already_reacted" {
		t.Errorf("second reaction: err = %v, want already_reacted", err)
	}
	if err := api.AddReactionContext(ctx, "tada", ref); err != nil {
		t.Errorf("another emoji: %v", err)
	}
	if n := len(s.CallsTo("reactions.add")); n != 3 {
		t.Errorf("%d reactions.add calls recorded, want 3", n)
	}
}

func TestDMs(t *testing.T) {
	s, ws, api := newSeeded(t)
	ctx := ctxT(t)
	alice := ws.People["alice"]
	ch, noOp, already, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{alice}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ch.ID, "D") || noOp || already {
		t.Errorf("first open = %+v no_op=%v already=%v", ch, noOp, already)
	}
	id, already2, err := s.OpenIM(alice)
	if err != nil || id != ch.ID || !already2 {
		t.Errorf("OpenIM = %q %v %v, want %q already open", id, already2, err, ch.ID)
	}
	info, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: ch.ID})
	if err != nil || !info.IsIM || info.User != alice {
		t.Errorf("info of the DM = %+v, %v", info, err)
	}
	// Posting to a user ID lands in the DM, as in Slack.
	got, _, err := api.PostMessageContext(ctx, alice, slack.MsgOptionText("hi", false))
	if err != nil || got != ch.ID {
		t.Errorf("post to a user ID went to %q (%v), want %q", got, err, ch.ID)
	}
}

// listAll pages through conversations.list with slack-go and returns the
// names, and how many pages it took.
func listAll(t *testing.T, api *slack.Client, p slack.GetConversationsParameters) ([]string, int) {
	t.Helper()
	var names []string
	pages := 0
	for {
		chans, next, err := api.GetConversationsContext(ctxT(t), &p)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		for _, c := range chans {
			names = append(names, c.Name)
		}
		if next == "" {
			return names, pages
		}
		p.Cursor = next
	}
}

func TestPaging(t *testing.T) {
	s, ws, api := newSeeded(t, WithPageSize(3))
	if _, err := s.AddChannel(Channel{Name: "mods", IsPrivate: true, Members: []string{s.Bot().ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddChannel(Channel{Name: "hidden", IsPrivate: true}); err != nil {
		t.Fatal(err)
	}
	old, _ := s.AddChannel(Channel{Name: "old"})
	s.ArchiveChannel(old.ID)
	s.OpenIM(ws.People["alice"])

	names, pages := listAll(t, api, slack.GetConversationsParameters{Limit: 100})
	want := append(append([]string{}, DefaultChannels...), "old")
	if diff := cmp.Diff(want, names); diff != "" || pages != 3 {
		t.Errorf("public channels in %d pages, want 3 (-want +got):\n%s", pages, diff)
	}
	names, _ = listAll(t, api, slack.GetConversationsParameters{Limit: 2, ExcludeArchived: true, Types: []string{"public_channel", "private_channel"}})
	want = append(append([]string{}, DefaultChannels...), "mods")
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("public and private, archived excluded (-want +got):\n%s", diff)
	}
	names, pages = listAll(t, api, slack.GetConversationsParameters{Limit: 100, Types: []string{"im"}})
	if len(names) != 1 || pages != 1 {
		t.Errorf("DMs: %q in %d pages", names, pages)
	}
	// 7 public channels and a page of 7: no empty last page.
	s.SetPageSize(0)
	if _, pages := listAll(t, api, slack.GetConversationsParameters{Limit: 8, ExcludeArchived: true}); pages != 1 {
		t.Errorf("an exact last page took %d pages, want 1", pages)
	}

	if _, _, err := api.GetConversationsContext(ctxT(t), &slack.GetConversationsParameters{Cursor: "bogus"}); err == nil || err.Error() != "invalid_cursor" {
		t.Errorf("bad cursor: %v", err)
	}

	s.SetPageSize(2)
	p := api.GetUsersPaginated(slack.GetUsersOptionLimit(100))
	var users []string
	var err error
	for pages = 0; ; pages++ {
		p, err = p.Next(ctxT(t))
		if p.Done(err) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Users {
			users = append(users, u.Name)
		}
	}
	if diff := cmp.Diff([]string{DefaultBotName, "alice", "bob", "carol"}, users); diff != "" || pages != 2 {
		t.Errorf("users in %d pages, want 2 (-want +got):\n%s", pages, diff)
	}
}

func TestFaults(t *testing.T) {
	s, ws, api := newSeeded(t, WithPageSize(3))
	ctx := ctxT(t)
	tok := url.Values{"token": {s.Token()}}

	s.RateLimit("auth.test", 7, 1)
	status, h, m := rawCall(t, s, "auth.test", tok)
	if status != 429 || h.Get("Retry-After") != "7" || m["error"] != "ratelimited" {
		t.Errorf("429: status %d, Retry-After %q, body %v", status, h.Get("Retry-After"), m)
	}
	var rl *slack.RateLimitedError
	s.RateLimit("auth.test", 2, 1)
	if _, err := api.AuthTestContext(ctx); !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Errorf("slack-go sees %v, want RateLimitedError of 2s", err)
	}
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Errorf("after the fault: %v", err)
	}

	s.Inject("users.info", Fault{Status: 503, Times: 2})
	for i := range 2 {
		var sce slack.StatusCodeError
		if _, err := api.GetUserInfoContext(ctx, ws.People["bob"]); !errors.As(err, &sce) || sce.Code != 503 {
			t.Errorf("call %d: err = %v, want 503", i+1, err)
		}
	}
	if _, err := api.GetUserInfoContext(ctx, ws.People["bob"]); err != nil {
		t.Errorf("third call: %v", err)
	}

	s.Inject("chat.postMessage", Fault{Error: "fatal_error"})
	if _, _, err := api.PostMessageContext(ctx, ws.Channels["general"], slack.MsgOptionText("x", false)); err == nil || err.Error() != "fatal_error" {
		t.Errorf("Slack error fault: %v", err)
	}

	// Page 2 only.
	s.Reset()
	s.Inject("conversations.list", Fault{Status: 429, RetryAfter: 1, Skip: 1})
	p := &slack.GetConversationsParameters{Limit: 3}
	_, next, err := api.GetConversationsContext(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	p.Cursor = next
	if _, _, err := api.GetConversationsContext(ctx, p); !errors.As(err, &rl) {
		t.Fatalf("page 2: %v, want rate limited", err)
	}
	chans, _, err := api.GetConversationsContext(ctx, p)
	if err != nil || len(chans) != 3 || chans[0].Name != DefaultChannels[3] {
		t.Errorf("page 2 again: %d channels, %v", len(chans), err)
	}
	var statuses []int
	for _, c := range s.Calls() {
		statuses = append(statuses, c.Status)
	}
	if diff := cmp.Diff([]int{200, 429, 200}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if c := s.Calls()[1]; c.RetryAfter != time.Second || c.Params["cursor"] != next {
		t.Errorf("the 429 call = %+v", c)
	}

	s.Inject("reactions.add", Fault{Status: 500})
	s.ClearFaults()
	if err := api.AddReactionContext(ctx, "x", slack.NewRefToMessage(ws.Channels["general"], "1.2")); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
}

func TestWaitAndSubscribe(t *testing.T) {
	s, ws, api := newSeeded(t)
	ctx := ctxT(t)
	sub := s.Subscribe(ctx)
	var live []string
	stop := s.OnCall(func(c Call) { live = append(live, c.Params["text"]) })

	go func() {
		for _, text := range []string{"one", "two", "three"} {
			api.PostMessageContext(ctx, ws.Channels["general"], slack.MsgOptionText(text, false))
		}
	}()
	calls, err := s.WaitCalls(ctx, 3)
	if err != nil || len(calls) != 3 {
		t.Fatalf("WaitCalls: %d calls, %v", len(calls), err)
	}
	var got []string
	for range 3 {
		got = append(got, (<-sub).Params["text"])
	}
	want := []string{"one", "two", "three"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subscription (-want +got):\n%s", diff)
	}
	stop()
	if diff := cmp.Diff(want, live); diff != "" {
		t.Errorf("OnCall (-want +got):\n%s", diff)
	}
	api.AuthTestContext(ctx)
	if _, err := s.WaitMethod(ctx, "auth.test", 1); err != nil {
		t.Fatal(err)
	}
	if len(live) != 3 {
		t.Errorf("OnCall after stop saw %d calls", len(live))
	}

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := s.WaitCalls(short, 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for calls that never come: %v", err)
	}
}

func TestFiles(t *testing.T) {
	s, _, _ := newSeeded(t)
	f := s.AddFile("main.go", []byte("package main\n"))
	get := func(token string) (int, string, string) {
		req, _ := http.NewRequest("GET", f.URLPrivate, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if code, _, body := get(s.Token()); code != 200 || body != "package main\n" {
		t.Errorf("download = %d %q", code, body)
	}
	// Like Slack, a download without the right token lands on the sign-in
	// page: a 200 web page, not the file.
	for _, tok := range []string{"", "xoxb-wrong"} {
		if code, ct, body := get(tok); code != 200 || !strings.HasPrefix(ct, "text/html") || strings.Contains(body, "package main") {
			t.Errorf("with token %q: %d %s %q, want the sign-in page", tok, code, ct, body)
		}
	}
	s.Inject("files.download", Fault{Status: 500})
	if code, _, _ := get(s.Token()); code != 500 {
		t.Errorf("with a fault: %d, want 500", code)
	}
	var statuses []int
	for _, c := range s.CallsTo("files.download") {
		statuses = append(statuses, c.Status)
	}
	if diff := cmp.Diff([]int{200, 302, 302, 500}, statuses); diff != "" {
		t.Errorf("recorded downloads (-want +got):\n%s", diff)
	}
}

func TestRender(t *testing.T) {
	s, ws, _ := newSeeded(t)
	alice, general := ws.People["alice"], ws.Channels["general"]
	dm, _, _ := s.OpenIM(alice)
	post := func(p map[string]string) Call { return Call{Method: "chat.postMessage", Params: p, Status: 200} }
	tests := []struct {
		call Call
		want string
	}{
		{post(map[string]string{"channel": general, "text": "hello"}), "chat.postMessage #general: hello"},
		{post(map[string]string{"channel": general, "text": "in a thread", "thread_ts": "1712345678.000100"}),
			"chat.postMessage #general (thread 1712345678.000100): in a thread"},
		{post(map[string]string{"channel": dm, "text": "welcome"}), "chat.postMessage @alice: welcome"},
		{post(map[string]string{"channel": alice, "text": "welcome"}), "chat.postMessage @alice: welcome"},
		{post(map[string]string{"channel": general, "text": "see https://go.dev", "unfurl_links": "true"}),
			"chat.postMessage #general (unfurl): see https://go.dev"},
		{post(map[string]string{"channel": general, "text": "hi <@" + alice + "> see <#" + ws.Channels["newbies"] + "|newbies> and <#C999>"}),
			"chat.postMessage #general: hi <@alice> see <#newbies> and <#C999>"},
		{post(map[string]string{"channel": general, "text": "line one\n\n  line three\n"}),
			"chat.postMessage #general:\n    line one\n\n      line three"},
		{post(map[string]string{"channel": general, "blocks": `[{"type":"divider"}]`}), "chat.postMessage #general: (blocks)"},
		{Call{Method: "chat.postEphemeral", Status: 200, Params: map[string]string{"channel": ws.Channels["newbies"], "user": alice, "text": "welcome"}},
			"chat.postEphemeral #newbies to @alice: welcome"},
		{Call{Method: "chat.postEphemeral", Status: 200, Params: map[string]string{"channel": general, "user": alice, "text": "psst", "thread_ts": "1.2"}},
			"chat.postEphemeral #general (thread 1.2) to @alice: psst"},
		{Call{Method: "reactions.add", Status: 200, Params: map[string]string{"channel": general, "name": "gopher", "timestamp": "1.2"}},
			"reactions.add #general :gopher:"},
		{Call{Method: "conversations.open", Status: 200, Params: map[string]string{"users": alice, "return_im": "false"}}, "conversations.open @alice"},
		{Call{Method: "conversations.info", Status: 200, Params: map[string]string{"channel": general}}, "conversations.info #general"},
		{Call{Method: "users.info", Status: 200, Params: map[string]string{"user": alice}}, "users.info @alice"},
		{Call{Method: "auth.test", Status: 200, Params: map[string]string{}}, "auth.test"},
		{Call{Method: "conversations.list", Status: 200, Params: map[string]string{"limit": "200", "types": "public_channel,private_channel", "cursor": ""}},
			`conversations.list cursor="" limit=200 types=public_channel,private_channel`},
		{Call{Method: "chat.postMessage", Status: 429, Error: "ratelimited", RetryAfter: time.Second, Params: map[string]string{"channel": general, "text": "x"}},
			"chat.postMessage #general [error 429 retry after 1s]: x"},
		{Call{Method: "chat.postMessage", Status: 500, Params: map[string]string{"channel": general, "text": "x"}},
			"chat.postMessage #general [error 500]: x"},
		{Call{Method: "chat.postMessage", Status: 200, Error: "channel_not_found", Params: map[string]string{"channel": "C404", "text": "x"}},
			"chat.postMessage C404 [error channel_not_found]: x"},
	}
	for _, tt := range tests {
		if got := s.Render(tt.call); got != tt.want {
			t.Errorf("Render(%s %v)\n got %q\nwant %q", tt.call.Method, tt.call.Params, got, tt.want)
		}
	}
	// A rendered real call equals what the table says about its params.
	api := slack.New(s.Token(), slack.OptionAPIURL(s.APIURL()))
	api.PostEphemeralContext(ctxT(t), general, alice, slack.MsgOptionText("only you\nsee this", false))
	want := "chat.postEphemeral #general to @alice:\n    only you\n    see this\n"
	if got := s.RenderCalls(s.Calls()); got != want {
		t.Errorf("RenderCalls = %q, want %q", got, want)
	}
}

func TestSeedAndState(t *testing.T) {
	s, ws, _ := newSeeded(t)
	if len(ws.Channels) != len(DefaultChannels) || len(ws.People) != len(DefaultPeople) {
		t.Fatalf("seeded %v", ws)
	}
	c, ok := s.ChannelByName("#newbies")
	if !ok || c.ID != ws.Channels["newbies"] || len(c.Members) != 1+len(DefaultPeople) {
		t.Errorf("newbies = %+v", c)
	}
	if _, err := s.AddUser(User{Name: "alice"}); err == nil {
		t.Error("a second alice was accepted")
	}
	if _, err := s.AddChannel(Channel{Name: "general"}); err == nil {
		t.Error("a second #general was accepted")
	}
	if err := s.RenameChannel(c.ID, "gophers-new"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.ChannelByName("newbies"); ok {
		t.Error("the old name still resolves")
	}
	if u, ok := s.UserByName("bob"); !ok || u.ID != ws.People["bob"] {
		t.Errorf("bob = %+v", u)
	}
	if _, err := s.Seed(); err == nil {
		t.Error("seeding twice worked")
	}
}

func TestNotInChannel(t *testing.T) {
	s, ws, api := newSeeded(t)
	ctx := ctxT(t)
	alice := ws.People["alice"]
	outside, _ := s.AddChannel(Channel{Name: "outside", Members: []string{alice}})
	if _, _, err := api.PostMessageContext(ctx, outside.ID, slack.MsgOptionText("x", false)); err == nil || err.Error() != "not_in_channel" {
		t.Errorf("post to a public channel without the bot: %v, want not_in_channel", err)
	}
	if _, err := api.PostEphemeralContext(ctx, outside.ID, alice, slack.MsgOptionText("x", false)); err == nil || err.Error() != "not_in_channel" {
		t.Errorf("ephemeral in a public channel without the bot: %v, want not_in_channel", err)
	}
	if err := s.JoinChannel(outside.ID, s.Bot().ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, outside.ID, slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("after the bot joined: %v", err)
	}

	// With chat:write.public the bot posts to public channels it is not in,
	// and still not to private ones.
	s2 := New(WithChatWritePublic())
	t.Cleanup(s2.Close)
	api2 := slack.New(s2.Token(), slack.OptionAPIURL(s2.APIURL()))
	pub, _ := s2.AddChannel(Channel{Name: "pub"})
	priv, _ := s2.AddChannel(Channel{Name: "priv", IsPrivate: true})
	if _, _, err := api2.PostMessageContext(ctx, pub.ID, slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("chat:write.public, public channel: %v", err)
	}
	if _, _, err := api2.PostMessageContext(ctx, priv.ID, slack.MsgOptionText("x", false)); err == nil || err.Error() != "channel_not_found" {
		t.Errorf("chat:write.public, private channel: %v, want channel_not_found", err)
	}
}

// A text over 40,000 characters (not bytes) is posted cut to 40,000, with a
// message_truncated warning, as Slack documents; chat.postEphemeral too.
func TestTextLimitInCharacters(t *testing.T) {
	s, ws, _ := newSeeded(t)
	general, alice := ws.Channels["general"], ws.People["alice"]
	tok := func(v url.Values) url.Values { v.Set("token", s.Token()); return v }
	// 40,000 characters of two bytes each: 80,000 bytes, within the limit.
	_, _, m := rawCall(t, s, "chat.postMessage", tok(url.Values{"channel": {general}, "text": {strings.Repeat("é", 40000)}}))
	if m["ok"] != true || m["warning"] != nil || m["response_metadata"] != nil {
		t.Errorf("40,000 characters: %v, want ok without a warning", m["warning"])
	}
	if c := s.Calls()[0]; c.Warnings != nil {
		t.Errorf("40,000 characters: recorded warnings %q", c.Warnings)
	}

	long := strings.Repeat("é", 40000) + "the end"
	for _, tt := range []struct {
		method string
		v      url.Values
		text   func(m map[string]any) any
	}{
		{"chat.postMessage", url.Values{"channel": {general}, "text": {long}},
			func(m map[string]any) any { msg, _ := m["message"].(map[string]any); return msg["text"] }},
		{"chat.postEphemeral", url.Values{"channel": {general}, "user": {alice}, "text": {long}}, nil},
	} {
		s.Reset()
		_, _, m := rawCall(t, s, tt.method, tok(tt.v))
		if m["ok"] != true || m["warning"] != "message_truncated" {
			t.Errorf("%s, 40,007 characters: ok %v, warning %v; want posted with message_truncated", tt.method, m["ok"], m["warning"])
		}
		meta, _ := m["response_metadata"].(map[string]any)
		if w, _ := meta["warnings"].([]any); len(w) != 1 || w[0] != "message_truncated" {
			t.Errorf("%s: response_metadata %v, want the warning in it", tt.method, meta)
		}
		if tt.text != nil {
			if got := tt.text(m); got != strings.Repeat("é", 40000) {
				t.Errorf("%s: the posted text is not the first 40,000 characters", tt.method)
			}
		}
		calls := s.Calls()
		if len(calls) != 1 || !calls[0].OK() || !slices.Equal(calls[0].Warnings, []string{"message_truncated"}) {
			t.Fatalf("%s: recorded %+v, want a success with the warning", tt.method, calls)
		}
		if r := s.Render(calls[0]); !strings.Contains(r, "[warning message_truncated]") {
			t.Errorf("%s: rendered %.80q..., want the warning noted", tt.method, r)
		}
	}
}

func TestReactionErrors(t *testing.T) {
	s, ws, api := newSeeded(t)
	ctx := ctxT(t)
	general := ws.Channels["general"]
	old, _ := s.AddChannel(Channel{Name: "old", Members: []string{s.Bot().ID}})
	s.ArchiveChannel(old.ID)
	tests := []struct {
		name, emoji, channel, ts, want string
	}{
		{"ok", "thumbsup", general, "1712345678.000100", ""},
		{"colons trimmed", ":tada:", general, "1712345678.000100", ""},
		{"skin tone", "wave::skin-tone-3", general, "1712345678.000100", ""},
		{"plus one", "+1", general, "1712345678.000100", ""},
		{"space", "thumbs up", general, "1712345678.000100", "invalid_name"},
		{"inner colon", "a:b", general, "1712345678.000100", "invalid_name"},
		{"bad ts", "gopher", general, "yesterday", "bad_timestamp"},
		{"user ID", "gopher", ws.People["alice"], "1712345678.000100", "channel_not_found"},
		{"archived", "gopher", old.ID, "1712345678.000100", "is_archived"},
	}
	for _, tt := range tests {
		got := ""
		if err := api.AddReactionContext(ctx, tt.emoji, slack.NewRefToMessage(tt.channel, tt.ts)); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: error %q, want %q", tt.name, got, tt.want)
		}
	}
	if _, already, _ := s.OpenIM(ws.People["alice"]); already {
		t.Error("a reaction with a user ID as the channel opened a DM")
	}
}

func TestOpenDMShapes(t *testing.T) {
	s, ws, api := newSeeded(t)
	other, _ := s.AddUser(User{Name: "otherbot", IsBot: true})
	if _, _, _, err := api.OpenConversationContext(ctxT(t), &slack.OpenConversationParameters{Users: []string{other.ID}}); err == nil || err.Error() != "cannot_dm_bot" {
		t.Errorf("DM another bot: %v, want cannot_dm_bot", err)
	}
	v := url.Values{"token": {s.Token()}, "users": {ws.People["bob"]}}
	_, _, first := rawCall(t, s, "conversations.open", v)
	_, _, again := rawCall(t, s, "conversations.open", v)
	if _, ok := first["already_open"]; ok || first["ok"] != true {
		t.Errorf("first open = %v, want ok without already_open", first)
	}
	if again["already_open"] != true || again["no_op"] != true {
		t.Errorf("second open = %v, want already_open and no_op", again)
	}
}

func TestListFilterAfterPage(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	api := slack.New(s.Token(), slack.OptionAPIURL(s.APIURL()))
	for _, name := range []string{"a1", "a2", "live", "a3"} {
		c, _ := s.AddChannel(Channel{Name: name})
		if name != "live" {
			s.ArchiveChannel(c.ID)
		}
	}
	p := &slack.GetConversationsParameters{Limit: 2, ExcludeArchived: true}
	var pages [][]string
	for {
		chans, next, err := api.GetConversationsContext(ctxT(t), p)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range chans {
			names = append(names, c.Name)
		}
		pages = append(pages, names)
		if next == "" {
			break
		}
		p.Cursor = next
	}
	// The first page of two holds two archived channels: empty, with a
	// cursor all the same.
	if diff := cmp.Diff([][]string{nil, {"live"}}, pages); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}

func TestUsersListWithoutLimit(t *testing.T) {
	s, _, _ := newSeeded(t)
	for i := range 150 {
		s.AddUser(User{Name: "u" + strconv.Itoa(i)})
	}
	_, _, m := rawCall(t, s, "users.list", url.Values{"token": {s.Token()}})
	if n := len(m["members"].([]any)); n != 154 {
		t.Errorf("users.list without a limit: %d members, want all 154", n)
	}
}

func TestJSONTokenInBody(t *testing.T) {
	s, ws, _ := newSeeded(t)
	body, _ := json.Marshal(map[string]any{"token": s.Token(), "channel": ws.Channels["random"], "text": "json"})
	resp, err := http.Post(s.APIURL()+"chat.postMessage", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	if m["error"] != "not_authed" {
		t.Errorf("JSON with the token in the body: %v, want not_authed", m)
	}
}
