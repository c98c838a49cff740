package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// workspace is a hand-written Workspace that keeps state. As in the
// simulated workspace, everyone is in #general (C1), new people too.
type workspace struct {
	users, channels map[string]string
	members         map[string][]string
	files           map[string][]byte
}

func newWorkspace() *workspace {
	return &workspace{
		users:    map[string]string{"alice": "U1", "bob": "U2"},
		channels: map[string]string{"general": "C1", "newbies": "C2"},
		members:  map[string][]string{"C1": {"U1", "U2"}},
		files:    map[string][]byte{},
	}
}

func (w *workspace) BotUserID() string { return "UBOT" }
func (w *workspace) User(name string) (string, bool) {
	if id, ok := w.users[name]; ok {
		return id, false
	}
	id := fmt.Sprintf("U%d", len(w.users)+1)
	w.users[name] = id
	w.members["C1"] = append(w.members["C1"], id)
	return id, true
}
func (w *workspace) UserID(name string) (string, bool) { id, ok := w.users[name]; return id, ok }
func (w *workspace) Channel(name string) (string, bool) {
	if id, ok := w.channels[name]; ok {
		return id, false
	}
	id := fmt.Sprintf("C%d", len(w.channels)+1)
	w.channels[name] = id
	return id, true
}
func (w *workspace) ChannelID(name string) (string, bool) { id, ok := w.channels[name]; return id, ok }
func (w *workspace) DM(user string) string                { return "D" + user }
func (w *workspace) JoinChannel(user, ch string)          { w.members[ch] = append(w.members[ch], user) }
func (w *workspace) Member(user, ch string) bool {
	for _, u := range w.members[ch] {
		if u == user {
			return true
		}
	}
	return false
}
func (w *workspace) AddFile(name string, b []byte) (string, string) {
	w.files[name] = b
	return "F1", "http://files.test/F1"
}

// gateway checks signatures and records the events it gets.
type gateway struct {
	mu     sync.Mutex
	events []map[string]any
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if Sign("secret", r.Header.Get("X-Slack-Request-Timestamp"), body) != r.Header.Get("X-Slack-Signature") {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var env struct {
		Type    string         `json:"type"`
		EventID string         `json:"event_id"`
		Event   map[string]any `json:"event"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Type != "event_callback" || env.EventID == "" {
		http.Error(w, "bad envelope", http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.events = append(g.events, env.Event)
	g.mu.Unlock()
}

func setup(t *testing.T, secret string) (*Console, *gateway, *bytes.Buffer) {
	t.Helper()
	g := &gateway{}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	out := &bytes.Buffer{}
	idle := 0
	c := &Console{
		Out: out, GatewayURL: srv.URL, SigningSecret: secret, TeamID: "T1", AppID: "A1",
		Workspace: newWorkspace(),
		Idle:      func(context.Context) error { idle++; return nil },
		Now:       func() time.Time { return time.Unix(1700000000, 0) },
	}
	return c, g, out
}

func TestScriptSendsSignedEvents(t *testing.T) {
	c, g, out := setup(t, "secret")
	dir := t.TempDir()
	code := filepath.Join(dir, "main.go")
	os.WriteFile(code, []byte("package main\n\nfunc main() {}\n"), 0o644)
	script := strings.Join([]string{
		"# a comment line is skipped",
		"@gopherbot help me with #newbies, @bob",
		"/dm",
		"define goroutine",
		"/as dave",
		"/join",
		"/join #newbies",
		"/upload " + code,
		"/in #general",
		"a <b> & c",
	}, "\n")
	if err := c.Run(context.Background(), strings.NewReader(script), true, false); err != nil {
		t.Fatal(err)
	}
	type ev struct{ Type, Channel, ChannelType, User, Text, Subtype string }
	var got []ev
	for _, e := range g.events {
		s := func(k string) string { v, _ := e[k].(string); return v }
		user := s("user")
		if u, ok := e["user"].(map[string]any); ok {
			user, _ = u["id"].(string)
		}
		got = append(got, ev{s("type"), s("channel"), s("channel_type"), user, s("text"), s("subtype")})
	}
	want := []ev{
		{"message", "C1", "channel", "U1", "<@UBOT> help me with <#C2|newbies>, <@U2>", ""},
		{"app_mention", "C1", "", "U1", "<@UBOT> help me with <#C2|newbies>, <@U2>", ""},
		{"message", "DU1", "im", "U1", "define goroutine", ""},
		{"team_join", "", "", "U3", "", ""},
		{"member_joined_channel", "C2", "C", "U3", "", ""},
		{"message", "C2", "channel", "U3", "", "file_share"},
		{"message", "C1", "channel", "U3", "a &lt;b&gt; &amp; c", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if !strings.Contains(out.String(), "alice in #general> @gopherbot help") {
		t.Errorf("script lines not echoed:\n%s", out)
	}
}

func TestBadSignatureIsReported(t *testing.T) {
	c, _, out := setup(t, "not-the-secret")
	if err := c.Run(context.Background(), strings.NewReader("hello"), false, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "401") {
		t.Errorf("a refused line is not reported: %q", out)
	}
}

func TestCommandErrors(t *testing.T) {
	c, g, _ := setup(t, "secret")
	for _, line := range []string{"/as", "/as no spaces", "/in", "/join #bad name", "/upload", "/upload /does/not/exist", "/frobnicate"} {
		if err := c.Line(context.Background(), line); err == nil {
			t.Errorf("%q: no error", line)
		}
	}
	if len(g.events) != 0 {
		t.Errorf("bad commands sent %d events", len(g.events))
	}
}

func TestBlocksThreadsAndRejoins(t *testing.T) {
	c, g, out := setup(t, "secret")
	script := strings.Join([]string{
		"first",
		`"""`,
		"package main",
		"",
		"    func main() {}",
		`"""`,
		"/thread",
		"in the thread",
		"/thread",
		"back outside",
		"/join #newbies",
		"/join #newbies",
	}, "\n")
	if err := c.Run(context.Background(), strings.NewReader(script), true, false); err != nil {
		t.Fatal(err)
	}
	type ev struct{ Type, Text, TS, ThreadTS string }
	var got []ev
	for _, e := range g.events {
		s := func(k string) string { v, _ := e[k].(string); return v }
		got = append(got, ev{s("type"), s("text"), s("ts"), s("thread_ts")})
	}
	if len(got) != 5 {
		t.Fatalf("got %d events, want 5: %+v", len(got), got)
	}
	if got[1].Text != "package main\n\n    func main() {}" {
		t.Errorf("block text = %q", got[1].Text)
	}
	// The thread hangs under the last message said: the block.
	if got[2].Text != "in the thread" || got[2].ThreadTS != got[1].TS || got[2].ThreadTS == "" {
		t.Errorf("thread message = %+v, want thread_ts %q", got[2], got[1].TS)
	}
	if got[3].ThreadTS != "" {
		t.Errorf("second /thread did not leave the thread: %+v", got[3])
	}
	if got[4].Type != "member_joined_channel" {
		t.Errorf("last event = %+v, want one member_joined_channel", got[4])
	}
	if !strings.Contains(out.String(), "(@alice is already in #newbies)") {
		t.Errorf("no note about joining twice:\n%s", out)
	}
}

func TestUnclosedBlock(t *testing.T) {
	c, g, out := setup(t, "secret")
	if err := c.Run(context.Background(), strings.NewReader("\"\"\"\nno end"), false, false); err != nil {
		t.Fatal(err)
	}
	if len(g.events) != 0 || !strings.Contains(out.String(), "no closing") {
		t.Errorf("events %v, output %q", g.events, out)
	}
}

func TestThreadNeedsAMessage(t *testing.T) {
	c, _, _ := setup(t, "secret")
	if err := c.Line(context.Background(), "/thread"); err == nil {
		t.Error("/thread with nothing said: no error")
	}
}

func TestAddedCommands(t *testing.T) {
	c, _, out := setup(t, "secret")
	var got []string
	c.Commands = map[string]Command{
		"/merge": {Usage: "/merge SUBJECT", Help: "merge a CL", Run: func(_ context.Context, arg string) error {
			got = append(got, arg)
			return nil
		}},
	}
	if err := c.Run(context.Background(), strings.NewReader("/merge fmt: fix a typo\n/help\n"), false, false); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "fmt: fix a typo" {
		t.Errorf("/merge got %q", got)
	}
	if !strings.Contains(out.String(), "/merge SUBJECT") {
		t.Errorf("/help does not list the added command:\n%s", out)
	}
}
