package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/gateway"
	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// epoch is the fake now of the tests: the time of the testdata events.
var epoch = time.Unix(1716140000, 0)

// logLines returns the log lines that have every field of want.
func logLines(t *testing.T, l *logtest.Buffer, want map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(l.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		match := true
		for k, v := range want {
			if m[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, m)
		}
	}
	return out
}

// harness is a gateway on a real redis-server with a fake clock.
type harness struct {
	redis *redistest.Server
	rdb   *redis.Client
	srv   *gateway.Server
	logs  *logtest.Buffer
}

func testConfig() config.Config {
	return config.Config{
		SlackSigningSecret: secret,
		DedupTTL:           15 * time.Minute,
		StreamMaxLen:       10000,
		ShutdownTimeout:    5 * time.Second,
	}
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	rs := redistest.Start(t)
	h := &harness{redis: rs, rdb: rs.Client()}
	h.srv, h.logs = h.server(t, testConfig())
	return h
}

// server returns another gateway with cfg on the harness's Redis.
func (h *harness) server(t testing.TB, cfg config.Config) (*gateway.Server, *logtest.Buffer) {
	t.Helper()
	logs := &logtest.Buffer{}
	t.Cleanup(func() { logs.CheckKeys(t) })
	log := zerolog.New(logs).Level(zerolog.DebugLevel)
	s := gateway.New(cfg, log, h.rdb, gateway.WithClock(func() time.Time { return epoch }))
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// payload reads testdata/name.json.
func payload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

// edit returns body after f changed its decoded JSON.
func edit(t testing.TB, body []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func event(m map[string]any) map[string]any { return m["event"].(map[string]any) }

// withChannelType is a message payload in a channel of type ct ("" for none).
func withChannelType(t testing.TB, id, ct string) []byte {
	return edit(t, payload(t, "message"), func(m map[string]any) {
		m["event_id"] = id
		if ct == "" {
			delete(event(m), "channel_type")
		} else {
			event(m)["channel_type"] = ct
		}
	})
}

// sign sets the Slack headers of a request sent at ts.
func sign(r *http.Request, body []byte, ts time.Time) {
	s := strconv.FormatInt(ts.Unix(), 10)
	r.Header.Set("X-Slack-Request-Timestamp", s)
	r.Header.Set("X-Slack-Signature", gateway.Signature([]byte(secret), s, body))
}

// post is a signed POST of body to path, sent at the fake now.
func post(path string, body []byte) *http.Request {
	r := httptest.NewRequest("POST", path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	sign(r, body, epoch)
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// enqueued reads every stream with XRANGE and returns, by kind, the event
// ids of the entries. It fails the test unless each entry's body is byte for
// byte the one sent with its id, when sent has it.
func enqueued(t testing.TB, rdb *redis.Client, sent map[string][]byte) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, kind := range slackevent.All {
		entries, err := rdb.XRange(context.Background(), "gopherbot:events:"+kind, "-", "+").Result()
		if err != nil {
			t.Fatalf("XRANGE %s: %v", kind, err)
		}
		for _, e := range entries {
			id, _ := e.Values["id"].(string)
			body, _ := e.Values["body"].(string)
			if want, ok := sent[id]; ok && string(want) != body {
				t.Errorf("stored body of %s differs from the one sent:\n got %.200s\nwant %.200s", id, body, want)
			}
			var ev struct {
				EventID string `json:"event_id"`
			}
			if err := json.Unmarshal([]byte(body), &ev); err != nil || ev.EventID != id {
				t.Errorf("entry %s: id %q, body with event_id %q (%v)", e.ID, id, ev.EventID, err)
			}
			out[kind] = append(out[kind], id)
		}
	}
	return out
}

func TestServeEvents(t *testing.T) {
	h := newHarness(t)
	huge := func(n int) []byte {
		base := edit(t, payload(t, "message"), func(m map[string]any) { event(m)["text"] = "" })
		return edit(t, base, func(m map[string]any) { event(m)["text"] = strings.Repeat("a", n-len(base)) })
	}
	type tc struct {
		name     string
		path     string                 // default /slack/events
		body     []byte                 // sent, signed at epoch+skew unless unsigned
		skew     time.Duration          // of the request timestamp
		mod      func(r *http.Request)  // after signing
		cfg      func(c *config.Config) // a gateway with other settings
		wantCode int
		wantBody string // when set
		want     map[string][]string
	}
	msgID := "Ev073ZK5QW1A"
	tests := []tc{
		{name: "message in a channel", body: payload(t, "message"), wantCode: 200,
			want: map[string][]string{slackevent.MessageChannel: {msgID}}},
		{name: "old path", path: "/slack/event", body: payload(t, "message"), wantCode: 200,
			want: map[string][]string{slackevent.MessageChannel: {msgID}}},
		{name: "message in a DM", body: withChannelType(t, "EvIM", "im"), wantCode: 200,
			want: map[string][]string{slackevent.MessagePrivate: {"EvIM"}}},
		{name: "message in a group DM", body: withChannelType(t, "EvMPIM", "mpim"), wantCode: 200,
			want: map[string][]string{slackevent.MessagePrivate: {"EvMPIM"}}},
		{name: "message in a private channel", body: withChannelType(t, "EvGROUP", "group"), wantCode: 200,
			want: map[string][]string{slackevent.MessagePrivate: {"EvGROUP"}}},
		{name: "message in the app home", body: withChannelType(t, "EvHOME", "app_home"), wantCode: 200,
			want: map[string][]string{slackevent.MessagePrivate: {"EvHOME"}}},
		{name: "message without channel_type is dropped", body: withChannelType(t, "EvNOCT", ""), wantCode: 200},
		{name: "message of unknown channel_type is dropped", body: withChannelType(t, "EvODD", "huddle"), wantCode: 200},
		{name: "message subtype is kept for the consumer",
			body:     edit(t, payload(t, "message"), func(m map[string]any) { event(m)["subtype"] = "file_share" }),
			wantCode: 200, want: map[string][]string{slackevent.MessageChannel: {msgID}}},
		{name: "app_mention", body: payload(t, "app_mention"), wantCode: 200,
			want: map[string][]string{slackevent.AppMention: {"Ev073ZM8B2CD"}}},
		{name: "team_join", body: payload(t, "team_join"), wantCode: 200,
			want: map[string][]string{slackevent.TeamJoin: {"Ev073ZN1XY9Q"}}},
		{name: "member_joined_channel", body: payload(t, "member_joined_channel"), wantCode: 200,
			want: map[string][]string{slackevent.MemberJoinedChannel: {"Ev073ZP4RS7T"}}},
		{name: "unhandled event kind is dropped",
			body:     edit(t, payload(t, "message"), func(m map[string]any) { m["event"] = map[string]any{"type": "reaction_added", "user": "U1"} }),
			wantCode: 200},
		{name: "event without type is dropped",
			body:     edit(t, payload(t, "message"), func(m map[string]any) { delete(event(m), "type") }),
			wantCode: 200},
		{name: "unhandled payload type is dropped",
			body:     edit(t, payload(t, "message"), func(m map[string]any) { m["type"] = "block_actions" }),
			wantCode: 200},
		{name: "app_rate_limited is acknowledged",
			body:     []byte(`{"token":"ZZZZZZWSxiZZZ2yIvs3peJ","type":"app_rate_limited","team_id":"T029RQSE6","minute_rate_limited":1716140000,"api_app_id":"A01GOPHBOT"}`),
			wantCode: 200},
		{name: "url_verification echoes the challenge", body: payload(t, "url_verification"), wantCode: 200,
			wantBody: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"},

		{name: "matching app and team", body: payload(t, "message"), wantCode: 200,
			cfg:  func(c *config.Config) { c.SlackAppID, c.SlackTeamID = "A01GOPHBOT", "T029RQSE6" },
			want: map[string][]string{slackevent.MessageChannel: {msgID}}},
		{name: "another app is dropped", body: payload(t, "message"), wantCode: 200,
			cfg: func(c *config.Config) { c.SlackAppID = "A0OTHERAPP" }},
		{name: "another workspace is dropped", body: payload(t, "message"), wantCode: 200,
			cfg: func(c *config.Config) { c.SlackTeamID = "T0ELSEWHERE" }},
		{name: "missing app id is dropped when one is required", wantCode: 200,
			body: edit(t, payload(t, "message"), func(m map[string]any) { delete(m, "api_app_id") }),
			cfg:  func(c *config.Config) { c.SlackAppID = "A01GOPHBOT" }},
		// In a channel shared with (and created by) another workspace, the
		// outer team_id is that workspace; the installation the event is
		// delivered for, ours, is in authorizations (Bolt reads it there too).
		{name: "shared channel of another workspace, delivered to ours", wantCode: 200,
			body: edit(t, payload(t, "message"), func(m map[string]any) {
				m["team_id"], m["context_team_id"], m["is_ext_shared_channel"] = "T0PARTNER", "T0PARTNER", true
				event(m)["team"] = "T0PARTNER"
			}),
			cfg:  func(c *config.Config) { c.SlackTeamID = "T029RQSE6" },
			want: map[string][]string{slackevent.MessageChannel: {msgID}}},
		{name: "org-wide install in an Enterprise Grid", wantCode: 200,
			body: edit(t, payload(t, "app_mention"), func(m map[string]any) {
				m["team_id"], m["enterprise_id"] = "T0GRIDWS2", "E0GOPHERS"
				m["authorizations"] = []any{map[string]any{"enterprise_id": "E0GOPHERS", "team_id": nil,
					"user_id": "U01GOPHBOT", "is_bot": true, "is_enterprise_install": true}}
			}),
			cfg:  func(c *config.Config) { c.SlackTeamID = "E0GOPHERS" },
			want: map[string][]string{slackevent.AppMention: {"Ev073ZM8B2CD"}}},
		{name: "shared channel, delivered to another workspace's install", wantCode: 200,
			body: edit(t, payload(t, "message"), func(m map[string]any) {
				m["team_id"], m["is_ext_shared_channel"] = "T0PARTNER", true
				m["authorizations"].([]any)[0].(map[string]any)["team_id"] = "T0PARTNER"
			}),
			cfg: func(c *config.Config) { c.SlackTeamID = "T029RQSE6" }},
		{name: "another workspace without authorizations is dropped", wantCode: 200,
			body: edit(t, payload(t, "message"), func(m map[string]any) { delete(m, "authorizations") }),
			cfg:  func(c *config.Config) { c.SlackTeamID = "T0ELSEWHERE" }},
		{name: "our workspace without authorizations", wantCode: 200,
			body: edit(t, payload(t, "message"), func(m map[string]any) { delete(m, "authorizations") }),
			cfg:  func(c *config.Config) { c.SlackTeamID = "T029RQSE6" },
			want: map[string][]string{slackevent.MessageChannel: {msgID}}},

		{name: "timestamp 4m59s old", body: payload(t, "message"), skew: -(5*time.Minute - time.Second), wantCode: 200,
			want: map[string][]string{slackevent.MessageChannel: {msgID}}},
		{name: "timestamp 5m ahead", body: payload(t, "message"), skew: 5 * time.Minute, wantCode: 200,
			want: map[string][]string{slackevent.MessageChannel: {msgID}}},
		{name: "timestamp 5m1s old", body: payload(t, "message"), skew: -(5*time.Minute + time.Second), wantCode: 401},
		{name: "timestamp 5m1s ahead", body: payload(t, "message"), skew: 5*time.Minute + time.Second, wantCode: 401},
		{name: "missing timestamp", body: payload(t, "message"), wantCode: 401,
			mod: func(r *http.Request) { r.Header.Del("X-Slack-Request-Timestamp") }},
		{name: "timestamp not a number", body: payload(t, "message"), wantCode: 401,
			mod: func(r *http.Request) { r.Header.Set("X-Slack-Request-Timestamp", "1716140000.5") }},
		{name: "timestamp out of range", body: payload(t, "message"), wantCode: 401,
			mod: func(r *http.Request) { r.Header.Set("X-Slack-Request-Timestamp", "99999999999999999999") }},
		{name: "missing signature", body: payload(t, "message"), wantCode: 401,
			mod: func(r *http.Request) { r.Header.Del("X-Slack-Signature") }},
		{name: "signature of another secret", body: payload(t, "message"), wantCode: 401,
			mod: func(r *http.Request) {
				r.Header.Set("X-Slack-Signature", gateway.Signature([]byte("not-the-secret"), r.Header.Get("X-Slack-Request-Timestamp"), payload(t, "message")))
			}},
		{name: "signature of another body", body: withChannelType(t, "EvTAMPER", "im"), wantCode: 401,
			mod: func(r *http.Request) {
				r.Header.Set("X-Slack-Signature", gateway.Signature([]byte(secret), r.Header.Get("X-Slack-Request-Timestamp"), payload(t, "message")))
			}},
		{name: "signature of another timestamp", body: payload(t, "message"), wantCode: 401,
			mod: func(r *http.Request) {
				r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(epoch.Unix()+1, 10))
			}},
		{name: "signature without v0= prefix", body: payload(t, "message"), wantCode: 401,
			mod: func(r *http.Request) { r.Header.Set("X-Slack-Signature", "v1="+r.Header.Get("X-Slack-Signature")[3:]) }},
		{name: "signature truncated", body: payload(t, "message"), wantCode: 401,
			mod: func(r *http.Request) {
				s := r.Header.Get("X-Slack-Signature")
				r.Header.Set("X-Slack-Signature", s[:len(s)-2])
			}},
		{name: "signature in upper case", body: payload(t, "message"), wantCode: 401,
			mod: func(r *http.Request) {
				r.Header.Set("X-Slack-Signature", "v0="+strings.ToUpper(r.Header.Get("X-Slack-Signature")[3:]))
			}},
		{name: "unsigned url_verification", body: payload(t, "url_verification"), wantCode: 401,
			mod: func(r *http.Request) { r.Header.Del("X-Slack-Signature") }},

		{name: "body of exactly 1 MiB", body: huge(gateway.MaxBodySize), wantCode: 200,
			want: map[string][]string{slackevent.MessageChannel: {msgID}}},
		{name: "body over 1 MiB", body: huge(gateway.MaxBodySize + 1), wantCode: 413},
		{name: "body over 1 MiB without Content-Length", body: huge(gateway.MaxBodySize + 1), wantCode: 413,
			mod: func(r *http.Request) { r.ContentLength = -1; r.Body = io.NopCloser(io.MultiReader(r.Body)) }},
		{name: "body of 1 MiB without Content-Length", body: huge(gateway.MaxBodySize), wantCode: 200,
			mod:  func(r *http.Request) { r.ContentLength = -1; r.Body = io.NopCloser(io.MultiReader(r.Body)) },
			want: map[string][]string{slackevent.MessageChannel: {msgID}}},
		{name: "body shorter than its Content-Length", body: payload(t, "message"), wantCode: 400,
			mod: func(r *http.Request) { r.ContentLength += 10 }},
		{name: "large body shorter than its Content-Length", body: huge(100 << 10), wantCode: 400,
			mod: func(r *http.Request) { r.ContentLength += 10 }},
		{name: "large body of its Content-Length", body: huge(100 << 10), wantCode: 200,
			want: map[string][]string{slackevent.MessageChannel: {msgID}}},

		{name: "malformed JSON", body: []byte(`{"type":"event_callback","event_id":"Ev1",`), wantCode: 400},
		{name: "JSON that is not an object", body: []byte(`["event_callback"]`), wantCode: 400},
		{name: "event_callback without event_id", wantCode: 400,
			body: edit(t, payload(t, "message"), func(m map[string]any) { delete(m, "event_id") })},
		{name: "event_callback with an event that is not an object", wantCode: 400,
			body: edit(t, payload(t, "message"), func(m map[string]any) { m["event"] = "message" })},
		{name: "unsigned malformed JSON", body: []byte(`{"type":`), wantCode: 401,
			mod: func(r *http.Request) { r.Header.Del("X-Slack-Signature") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := h.redis.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			srv, logs := h.srv, h.logs
			if tt.cfg != nil {
				cfg := testConfig()
				tt.cfg(&cfg)
				srv, logs = h.server(t, cfg)
			}
			path := tt.path
			if path == "" {
				path = "/slack/events"
			}
			r := httptest.NewRequest("POST", path, bytes.NewReader(tt.body))
			sign(r, tt.body, epoch.Add(tt.skew))
			if tt.mod != nil {
				tt.mod(r)
			}
			before := srv.Stats()

			w := serve(srv.Handler(), r)

			if w.Code != tt.wantCode {
				t.Errorf("status = %d, want %d; body %q", w.Code, tt.wantCode, w.Body.String())
			}
			if tt.wantBody != "" && w.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", w.Body.String(), tt.wantBody)
			}
			var sentID struct {
				EventID string `json:"event_id"`
			}
			json.Unmarshal(tt.body, &sentID)
			got := enqueued(t, h.rdb, map[string][]byte{sentID.EventID: tt.body})
			want := tt.want
			if want == nil {
				want = map[string][]string{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("enqueued (-want +got):\n%s", diff)
			}

			after := srv.Stats()
			if after.Requests != before.Requests+1 {
				t.Errorf("Stats().Requests went from %d to %d, want one more", before.Requests, after.Requests)
			}
			wantNon2xx := before.Non2xx()
			if w.Code/100 != 2 {
				wantNon2xx++
			}
			if after.Non2xx() != wantNon2xx {
				t.Errorf("Stats().Non2xx() = %d, want %d", after.Non2xx(), wantNon2xx)
			}
			if len(want) > 0 && after.Enqueued != before.Enqueued+1 {
				t.Errorf("Stats().Enqueued = %d, want %d", after.Enqueued, before.Enqueued+1)
			}
			// Only events that reach the queue are published, one batch each here.
			wantPublished := before.Publish.Events
			if len(want) > 0 {
				wantPublished++
			}
			if after.Publish.Events != wantPublished || after.Publish.Batches != wantPublished {
				t.Errorf("Stats().Publish = %+v, want %d events in as many batches", after.Publish, wantPublished)
			}
			if w.Code/100 != 2 {
				if lines := logLines(t, logs, map[string]any{"level": "warn", "status": float64(w.Code)}); len(lines) == 0 {
					t.Errorf("no warning logged for the %d answer; logs:\n%s", w.Code, logs)
				}
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the signing secret is in the logs")
			}
		})
	}
}

func TestMethods(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct {
		method, path string
		wantCode     int
		wantBody     string
	}{
		{"GET", "/healthz", 200, "ok\n"},
		{"GET", "/readyz", 200, "ok\n"},
		{"GET", "/_ruok", 200, "imok"},
		{"GET", "/slack/events", 405, ""},
		{"PUT", "/slack/events", 405, ""},
		{"POST", "/healthz", 405, ""},
		{"GET", "/slack/elsewhere", 404, ""},
	} {
		w := serve(h.srv.Handler(), httptest.NewRequest(tt.method, tt.path, nil))
		if w.Code != tt.wantCode || (tt.wantBody != "" && w.Body.String() != tt.wantBody) {
			t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, w.Code, w.Body.String(), tt.wantCode, tt.wantBody)
		}
	}
}

// TestRetryDeduplicated: Slack resends an event it thinks failed, with the
// same event_id; it is stored once and both deliveries get 200.
func TestRetryDeduplicated(t *testing.T) {
	h := newHarness(t)
	body := payload(t, "app_mention")
	if w := serve(h.srv.Handler(), post("/slack/events", body)); w.Code != 200 {
		t.Fatalf("first delivery: status %d", w.Code)
	}
	for retry := 1; retry <= 3; retry++ {
		r := post("/slack/event", body)
		r.Header.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		r.Header.Set("X-Slack-Retry-Reason", "http_timeout")
		if w := serve(h.srv.Handler(), r); w.Code != 200 {
			t.Fatalf("retry %d: status %d", retry, w.Code)
		}
	}
	got := enqueued(t, h.rdb, map[string][]byte{"Ev073ZM8B2CD": body})
	if diff := cmp.Diff(map[string][]string{slackevent.AppMention: {"Ev073ZM8B2CD"}}, got); diff != "" {
		t.Errorf("enqueued (-want +got):\n%s", diff)
	}
	st := h.srv.Stats()
	if st.Enqueued != 1 || st.Duplicates != 3 || st.Non2xx() != 0 {
		t.Errorf("Stats() = %+v, want 1 enqueued, 3 duplicates, no non-2xx", st)
	}
	lines := logLines(t, h.logs, map[string]any{"event_id": "Ev073ZM8B2CD", "retry_num": "3", "retry_reason": "http_timeout"})
	if len(lines) != 1 {
		t.Errorf("want one log line of retry 3 with its reason; logs:\n%s", h.logs)
	}
}

// TestRedisDown: an event the gateway could not store gets 503 so that
// Slack retries, and /readyz says so; both recover with Redis.
func TestRedisDown(t *testing.T) {
	h := newHarness(t)
	// A client that gives up at once: go-redis's default retries take
	// about two seconds (still inside Slack's three) per request.
	h.rdb = redis.NewClient(&redis.Options{Addr: h.redis.Addr, MaxRetries: -1, DialerRetries: 1})
	defer h.rdb.Close()
	h.srv, h.logs = h.server(t, testConfig())
	h.redis.Stop()

	body := payload(t, "team_join")
	if w := serve(h.srv.Handler(), post("/slack/events", body)); w.Code != 503 {
		t.Errorf("event with Redis down: status %d, want 503", w.Code)
	}
	if w := serve(h.srv.Handler(), httptest.NewRequest("GET", "/readyz", nil)); w.Code != 503 {
		t.Errorf("/readyz with Redis down: status %d, want 503", w.Code)
	}
	if w := serve(h.srv.Handler(), httptest.NewRequest("GET", "/healthz", nil)); w.Code != 200 {
		t.Errorf("/healthz with Redis down: status %d, want 200", w.Code)
	}
	if st := h.srv.Stats(); st.Unavailable != 1 || st.Non2xx() != 1 || st.Enqueued != 0 {
		t.Errorf("Stats() = %+v, want 1 unavailable", st)
	}
	if lines := logLines(t, h.logs, map[string]any{"level": "error", "event_id": "Ev073ZN1XY9Q", "kind": slackevent.TeamJoin}); len(lines) != 1 {
		t.Errorf("want one error line naming the event; logs:\n%s", h.logs)
	}

	h.redis.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w := serve(h.srv.Handler(), httptest.NewRequest("GET", "/readyz", nil))
		if w.Code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d 10s after Redis came back", w.Code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := post("/slack/events", body)
	r.Header.Set("X-Slack-Retry-Num", "1")
	r.Header.Set("X-Slack-Retry-Reason", "http_error")
	if w := serve(h.srv.Handler(), r); w.Code != 200 {
		t.Errorf("retry after Redis came back: status %d, want 200", w.Code)
	}
	got := enqueued(t, h.rdb, map[string][]byte{"Ev073ZN1XY9Q": body})
	if diff := cmp.Diff(map[string][]string{slackevent.TeamJoin: {"Ev073ZN1XY9Q"}}, got); diff != "" {
		t.Errorf("enqueued (-want +got):\n%s", diff)
	}
}

// TestLogs: the Heroku request id, event id and kind are in the logs.
func TestLogs(t *testing.T) {
	h := newHarness(t)
	r := post("/slack/events", payload(t, "message"))
	r.Header.Set("X-Request-ID", "5d1e7a9c-req-ok")
	serve(h.srv.Handler(), r)
	r = post("/slack/events", payload(t, "message"))
	r.Header.Set("X-Slack-Signature", "v0=00")
	r.Header.Set("X-Request-ID", "5d1e7a9c-req-bad")
	serve(h.srv.Handler(), r)

	if got := logLines(t, h.logs, map[string]any{"request_id": "5d1e7a9c-req-ok", "event_id": "Ev073ZK5QW1A", "kind": slackevent.MessageChannel}); len(got) != 1 {
		t.Errorf("want one line with the request id, event id and kind; logs:\n%s", h.logs)
	}
	if got := logLines(t, h.logs, map[string]any{"request_id": "5d1e7a9c-req-bad", "level": "warn", "status": float64(401)}); len(got) != 1 {
		t.Errorf("want one warning with the request id of the rejected request; logs:\n%s", h.logs)
	}
}

// inFlight is a request in flight: srv.Serve runs on a local port, and a
// client has sent it the headers of a signed request and the first half of
// its body.
type inFlight struct {
	ln     net.Listener
	conn   net.Conn
	rest   []byte             // the half of the body not sent yet
	cancel context.CancelFunc // ends Serve's ctx
	done   chan error         // receives what Serve returns
}

// startInFlight starts srv.Serve and sends it the first half of a request
// with body, returning once the request has reached the handler.
func startInFlight(t *testing.T, srv *gateway.Server, body []byte) *inFlight {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ts := strconv.FormatInt(epoch.Unix(), 10)
	head := "POST /slack/events HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"X-Slack-Request-Timestamp: " + ts + "\r\n" +
		"X-Slack-Signature: " + gateway.Signature([]byte(secret), ts, body) + "\r\n\r\n"
	half := len(body) / 2
	if _, err := io.WriteString(c, head+string(body[:half])); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the request to reach the handler", func() bool { return srv.Stats().Requests == 1 })
	return &inFlight{ln: ln, conn: c, rest: body[half:], cancel: cancel, done: done}
}

// TestServeShutdown: when ctx ends, Serve stops accepting connections,
// finishes the request in flight, and returns nil.
func TestServeShutdown(t *testing.T) {
	h := newHarness(t)
	body := payload(t, "member_joined_channel")
	req := startInFlight(t, h.srv, body)

	req.cancel()
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", req.ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-req.done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}

	if _, err := req.conn.Write(req.rest); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(req.conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("request in flight at shutdown: status %d, want 200", resp.StatusCode)
	}
	select {
	case err := <-req.done:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return 10s after the last request")
	}
	got := enqueued(t, h.rdb, map[string][]byte{"Ev073ZP4RS7T": body})
	if diff := cmp.Diff(map[string][]string{slackevent.MemberJoinedChannel: {"Ev073ZP4RS7T"}}, got); diff != "" {
		t.Errorf("enqueued (-want +got):\n%s", diff)
	}
	if lines := logLines(t, h.logs, map[string]any{"message": "gateway stopped"}); len(lines) != 1 || lines[0]["stats"].(map[string]any)["enqueued"] != float64(1) {
		t.Errorf("want one 'gateway stopped' line with the stats; logs:\n%s", h.logs)
	}
}

// TestServeShutdownTimeout: a request still in flight when the shutdown
// timeout runs out is cut off: Serve closes its connection instead of
// leaving it to run on after Serve returned, returns an error, and logs it
// (the commands do not log what Serve returns once they are stopping).
func TestServeShutdownTimeout(t *testing.T) {
	h := newHarness(t)
	cfg := testConfig()
	cfg.ShutdownTimeout = 100 * time.Millisecond
	srv, logs := h.server(t, cfg)
	req := startInFlight(t, srv, payload(t, "team_join")) // the rest of the body never comes

	req.cancel()
	select {
	case err := <-req.done:
		if err == nil {
			t.Errorf("Serve = nil with a request cut off at shutdown, want an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return 10s after the shutdown timeout")
	}
	// Well before the server's 10s read timeout would end the request.
	req.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := req.conn.Read(make([]byte, 512)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("connection of the request cut off: read %d bytes, %v; want it closed", n, err)
	}
	if lines := logLines(t, logs, map[string]any{"level": "error", "message": "requests still in flight when the shutdown timeout ran out; closed their connections"}); len(lines) != 1 {
		t.Errorf("want one error line saying the shutdown timeout cut requests off; logs:\n%s", logs)
	}
}

// TestRun starts the gateway process on a port, as main does.
func TestRun(t *testing.T) {
	rs := redistest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	cfg := testConfig()
	cfg.Port = port
	cfg.RedisURL = rs.URL()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- gateway.Run(ctx, cfg, zerolog.Nop()) }()

	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/readyz"
	waitFor(t, "/readyz to answer 200", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after ctx ended", err)
	}

	cfg.RedisURL = "http://not-redis"
	if err := gateway.Run(t.Context(), cfg, zerolog.Nop()); err == nil {
		t.Errorf("Run with an http:// REDIS_URL = nil, want an error")
	}
}

func TestSignature(t *testing.T) {
	// The example of Slack's documentation on verifying requests.
	body := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
	got := gateway.Signature([]byte("8f742231b10e8888abcd99yyyzzz85a5"), "1531420618", body)
	want := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	if got != want {
		t.Errorf("Signature = %s, want %s", got, want)
	}
}

// waitFor polls cond until it holds, for at most 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// FuzzServeEvents sends arbitrary bodies, signed or not, at arbitrary
// times. Whatever the input: no panic, no 5xx but 503, and 200 only for a
// request with a valid signature and a fresh timestamp.
func FuzzServeEvents(f *testing.F) {
	for _, name := range []string{"message", "app_mention", "team_join", "member_joined_channel", "url_verification"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, int64(0), true)
		f.Add(b, int64(0), false)
		f.Add(b, int64(301), true)
		f.Add(b, int64(-300), true)
	}
	f.Add([]byte(`{"type":"event_callback","event_id":"","event":{}}`), int64(0), true)
	f.Add([]byte(`{"type":"event_callback","event_id":"Ev1","event":{"type":"message","channel_type":"im"}}`), int64(0), true)
	f.Add([]byte(`{"type":"url_verification","challenge":"\u00e9\n"}`), int64(0), true)
	f.Add([]byte(`{`), int64(0), true)

	h := newHarness(f)
	handler := h.srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte, skew int64, signed bool) {
		skew %= 1 << 40 // far-off timestamps; overflow is in TestServeEvents
		r := httptest.NewRequest("POST", "/slack/events", bytes.NewReader(body))
		ts := epoch.Unix() + skew
		r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		if signed {
			r.Header.Set("X-Slack-Signature", gateway.Signature([]byte(secret), strconv.FormatInt(ts, 10), body))
		} else {
			r.Header.Set("X-Slack-Signature", gateway.Signature([]byte("wrong"), strconv.FormatInt(ts, 10), body))
		}
		w := serve(handler, r)

		verified := signed && skew >= -300 && skew <= 300
		switch {
		case w.Code >= 500 && w.Code != 503:
			t.Errorf("status %d", w.Code)
		case w.Code == 200 && !verified:
			t.Errorf("200 for an unverified request (signed %v, skew %ds)", signed, skew)
		case !verified && len(body) <= gateway.MaxBodySize && w.Code != 401:
			t.Errorf("status %d for an unverified request, want 401", w.Code)
		}
	})
}

// stalledBody is a request body that yields a few bytes and then fails, as
// from a client that announced a large body and sent little of it.
type stalledBody struct{ sent bool }

func (b *stalledBody) Read(p []byte) (int, error) {
	if b.sent {
		return 0, io.ErrUnexpectedEOF
	}
	b.sent = true
	return copy(p, `{"type":"event_callback","event_id":"EvBIG"`), nil
}

func (b *stalledBody) Close() error { return nil }

// TestClaimedLengthNotAllocated: memory for a body grows with the bytes
// that arrive, not with the Content-Length a client claims. Else anyone can
// make the gateway hold 1 MiB for each connection that sends only headers
// (until the read timeout), and a few hundred of them fill a small dyno.
func TestClaimedLengthNotAllocated(t *testing.T) {
	h := newHarness(t)
	handler := h.srv.Handler()
	request := func() *http.Request {
		r := httptest.NewRequest("POST", "/slack/events", nil)
		r.Body, r.ContentLength = &stalledBody{}, gateway.MaxBodySize
		sign(r, nil, epoch)
		return r
	}
	if w := serve(handler, request()); w.Code != 400 {
		t.Fatalf("body cut short: status %d, want 400", w.Code)
	}
	const runs = 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		serve(handler, request())
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > gateway.MaxBodySize/8 {
		t.Errorf("a request that claims %d bytes and sends a few allocates %d bytes, want under %d",
			gateway.MaxBodySize, per, gateway.MaxBodySize/8)
	}
}

// TestMalformedJSONNotStored: a signed body that is not JSON gets 400 and
// is not stored, also where fastjson's parser alone would let it through
// (bad escapes, control characters, number syntax) and the consumer's
// encoding/json would then refuse it.
func TestMalformedJSONNotStored(t *testing.T) {
	h := newHarness(t)
	good := payload(t, "message")
	for _, tc := range []struct{ name, old, new string }{
		{"invalid escape in a string", `"text":"how`, `"text":"\x how`},
		{"raw control character in a string", `"text":"how`, "\"text\":\"\x01how"},
		{"number with a leading zero", `"event_time":1716140000`, `"event_time":01716140000`},
		{"number 1.2.3", `"event_time":1716140000`, `"event_time":1.2.3`},
		{"NaN", `"event_time":1716140000`, `"event_time":NaN`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := h.redis.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			body := bytes.Replace(good, []byte(tc.old), []byte(tc.new), 1)
			if bytes.Equal(body, good) {
				t.Fatal("test body unchanged")
			}
			if json.Valid(body) {
				t.Fatal("test body is valid JSON")
			}
			w := serve(h.srv.Handler(), post("/slack/events", body))
			if w.Code != 400 {
				t.Errorf("signed malformed JSON: status %d, want 400", w.Code)
			}
			n := 0
			for _, kind := range slackevent.All {
				l, err := h.rdb.XLen(t.Context(), "gopherbot:events:"+kind).Result()
				if err != nil {
					t.Fatal(err)
				}
				n += int(l)
			}
			if n != 0 {
				t.Errorf("signed malformed JSON: %d entries enqueued, want none", n)
			}
		})
	}
}

// TestWire sends requests as bytes on a connection to Serve, as Slack's
// HTTP client would: header names in lower case (as HTTP/2 and some
// proxies send them) and chunked bodies without Content-Length.
func TestWire(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v", err)
		}
	}()

	chunked := func(b []byte) string {
		var sb strings.Builder
		for len(b) > 0 {
			n := min(len(b), 4000)
			sb.WriteString(strconv.FormatInt(int64(n), 16) + "\r\n" + string(b[:n]) + "\r\n")
			b = b[n:]
		}
		return sb.String() + "0\r\n\r\n"
	}
	big := edit(t, payload(t, "team_join"), func(m map[string]any) {
		m["event_id"] = "EvBIG"
		m["pad"] = strings.Repeat("x", gateway.MaxBodySize)
	})
	for _, tc := range []struct {
		name     string
		body     []byte
		chunked  bool
		wantCode int
		wantID   string
	}{
		{"lower-case headers", payload(t, "message"), false, 200, "Ev073ZK5QW1A"},
		{"chunked", payload(t, "app_mention"), true, 200, "Ev073ZM8B2CD"},
		{"chunked over 1 MiB", big, true, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ts := strconv.FormatInt(epoch.Unix(), 10)
			req := "POST /slack/events HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\n" +
				"x-slack-request-timestamp: " + ts + "\r\n" +
				"x-slack-signature: " + gateway.Signature([]byte(secret), ts, tc.body) + "\r\n"
			if tc.chunked {
				req += "transfer-encoding: chunked\r\n\r\n" + chunked(tc.body)
			} else {
				req += "content-length: " + strconv.Itoa(len(tc.body)) + "\r\n\r\n" + string(tc.body)
			}
			go io.WriteString(c, req) // the server may answer 413 before reading it all
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantCode)
			}
			got := enqueued(t, h.rdb, nil)
			found := false
			for _, ids := range got {
				for _, id := range ids {
					found = found || id == tc.wantID
					if id == "EvBIG" {
						t.Errorf("the body over 1 MiB was stored")
					}
				}
			}
			if tc.wantID != "" && !found {
				t.Errorf("%s not stored; streams hold %v", tc.wantID, got)
			}
		})
	}
}

// TestEmptySecretRefusesAll: a gateway built without a signing secret
// (config.Load refuses that, but New is also called directly) accepts no
// request, not every request signed with the empty key.
func TestEmptySecretRefusesAll(t *testing.T) {
	h := newHarness(t)
	cfg := testConfig()
	cfg.SlackSigningSecret = ""
	srv, _ := h.server(t, cfg)
	body := payload(t, "message")
	r := httptest.NewRequest("POST", "/slack/events", bytes.NewReader(body))
	ts := strconv.FormatInt(epoch.Unix(), 10)
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", gateway.Signature(nil, ts, body))
	if w := serve(srv.Handler(), r); w.Code != 401 {
		t.Errorf("request signed with the empty key: status %d, want 401", w.Code)
	}
	if got := enqueued(t, h.rdb, nil); len(got) != 0 {
		t.Errorf("enqueued %v, want nothing", got)
	}
}

// TestReadyzRedisFull: a Redis at its memory limit (noeviction) answers
// PING but refuses writes; /readyz says the gateway is not ready, and is
// ready again once Redis takes writes.
func TestReadyzRedisFull(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	readyz := func() int {
		return serve(h.srv.Handler(), httptest.NewRequest("GET", "/readyz", nil)).Code
	}
	if c := readyz(); c != 200 {
		t.Fatalf("/readyz = %d before; want 200", c)
	}
	if err := h.rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := h.rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := h.rdb.Set(ctx, "probe", 1, 0).Err(); err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("SET with maxmemory 1 = %v; want OOM (the test shows nothing)", err)
	}
	if c := readyz(); c != 503 {
		t.Errorf("/readyz = %d with Redis refusing writes; want 503", c)
	}
	if !strings.Contains(h.logs.String(), "not ready: Redis refuses writes") {
		t.Errorf("no log line says why:\n%s", h.logs)
	}
	if err := h.rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if c := readyz(); c != 200 {
		t.Errorf("/readyz = %d once Redis takes writes again; want 200", c)
	}
}
