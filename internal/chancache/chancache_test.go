package chancache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackfake"
	"github.com/gophers/gopherbot/workqueue"
)

type env struct {
	fake  *slackfake.Server
	ws    slackfake.Workspace
	rdb   *redis.Client
	cache *Cache
}

func setup(t *testing.T, opts ...slackfake.Option) *env {
	t.Helper()
	fake := slackfake.New(opts...)
	t.Cleanup(fake.Close)
	ws, err := fake.Seed()
	if err != nil {
		t.Fatal(err)
	}
	rdb := redistest.Start(t).Client()
	api := slackapi.New(fake.Token(), fake.APIURL(), rdb, zerolog.Nop())
	return &env{fake: fake, ws: ws, rdb: rdb, cache: New(rdb, api, zerolog.Nop())}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// methods lists the methods of the calls made since the last Reset.
func (e *env) methods() []string {
	var out []string
	for _, c := range e.fake.Calls() {
		out = append(out, c.Method)
	}
	return out
}

func TestHit(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := ctxT(t)
	err := e.cache.Store(ctx, []slackapi.Channel{
		{ID: "C1", Name: "general"},
		{ID: "G2", Name: "mods", IsPrivate: true},
		{ID: "D3", IsIM: true},
		{ID: "C4", Name: "old", IsArchived: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, id string }{{"general", "C1"}, {"#General", "C1"}, {"mods", "G2"}} {
		if id, err := e.cache.ID(ctx, tt.name); id != tt.id || err != nil {
			t.Errorf("ID(%q) = %q, %v, want %q", tt.name, id, err, tt.id)
		}
	}
	ch, err := e.cache.Get(ctx, "G2")
	if diff := cmp.Diff(Channel{ID: "G2", Name: "mods", IsPrivate: true}, ch); diff != "" || err != nil {
		t.Errorf("Get (-want +got):\n%s%v", diff, err)
	}
	if name, err := e.cache.Name(ctx, "C1"); name != "general" || err != nil {
		t.Errorf("Name(C1) = %q, %v", name, err)
	}
	if calls := e.methods(); len(calls) != 0 {
		t.Errorf("hits asked Slack: %v", calls)
	}
	byName, _ := e.rdb.HGetAll(ctx, KeyByName).Result()
	if diff := cmp.Diff(map[string]string{"general": "C1", "mods": "G2"}, byName); diff != "" {
		t.Errorf("DMs and archived channels are not cached (-want +got):\n%s", diff)
	}
	raw, _ := e.rdb.HGet(ctx, KeyByID, "G2").Result()
	if raw != `{"id":"G2","name":"mods","is_private":true}` {
		t.Errorf("byid entry = %s", raw)
	}
}

func TestMissAsksSlackAndCaches(t *testing.T) {
	t.Parallel()
	e := setup(t, slackfake.WithPageSize(3))
	ctx := ctxT(t)

	// random is on the third page of three.
	id, err := e.cache.ID(ctx, "random")
	if err != nil || id != e.ws.Channels["random"] {
		t.Fatalf("ID(random) = %q, %v", id, err)
	}
	if diff := cmp.Diff([]string{"conversations.list", "conversations.list", "conversations.list"}, e.methods()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	// What was seen on the way is cached too.
	e.fake.Reset()
	for _, name := range []string{"random", "general", "reviews"} {
		if id, err := e.cache.ID(ctx, name); err != nil || id != e.ws.Channels[name] {
			t.Errorf("ID(%s) = %q, %v", name, id, err)
		}
	}
	if calls := e.methods(); len(calls) != 0 {
		t.Errorf("cached names asked Slack: %v", calls)
	}

	// By ID: conversations.info once.
	e.rdb.Del(ctx, KeyByID)
	for range 2 {
		if name, err := e.cache.Name(ctx, e.ws.Channels["newbies"]); name != "newbies" || err != nil {
			t.Errorf("Name = %q, %v", name, err)
		}
	}
	if diff := cmp.Diff([]string{"conversations.info"}, e.methods()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}

	// A channel ID given as a name (a setting may hold either).
	if id, err := e.cache.ID(ctx, e.ws.Channels["newbies"]); id != e.ws.Channels["newbies"] || err != nil {
		t.Errorf("ID(an ID) = %q, %v", id, err)
	}

	// A DM has no name, and is not an error.
	dm, _, _ := e.fake.OpenIM(e.ws.People["alice"])
	if name, err := e.cache.Name(ctx, dm); name != "" || err != nil {
		t.Errorf("Name(DM) = %q, %v", name, err)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := ctxT(t)
	for range 2 {
		if _, err := e.cache.ID(ctx, "no-such-channel"); !errors.Is(err, ErrNotFound) {
			t.Errorf("ID = %v, want ErrNotFound", err)
		}
	}
	// The second miss was remembered: one listing, not two.
	if diff := cmp.Diff([]string{"conversations.list"}, e.methods()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	_, err := e.cache.Name(ctx, "C404404")
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, workqueue.ErrPermanent) {
		t.Errorf("Name = %v, want ErrNotFound, permanent", err)
	}
	if _, err := e.cache.ID(ctx, "C404404"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ID of an unknown ID = %v, want ErrNotFound", err)
	}
	if _, err := e.cache.ID(ctx, "#"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ID(#) = %v, want ErrNotFound", err)
	}

	// Slack failing is not "not found".
	e.rdb.Del(ctx, KeyByID)
	e.fake.Inject("conversations.info", slackfake.Fault{Error: "invalid_auth"})
	if _, err := e.cache.Name(ctx, e.ws.Channels["general"]); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Name while Slack rejects the token = %v", err)
	}
}

func TestRefreshReplacesStale(t *testing.T) {
	t.Parallel()
	e := setup(t, slackfake.WithPageSize(3))
	ctx := ctxT(t)
	if _, err := e.cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	newbies := e.ws.Channels["newbies"]
	if err := e.fake.RenameChannel(newbies, "gophers-101"); err != nil {
		t.Fatal(err)
	}
	priv, _ := e.fake.AddChannel(slackfake.Channel{Name: "mods", IsPrivate: true, Members: []string{e.fake.Bot().ID}})
	if _, err := e.fake.AddChannel(slackfake.Channel{Name: "hidden", IsPrivate: true}); err != nil {
		t.Fatal(err)
	}
	// Page 2 of the listing is rate limited once: the refresh waits and
	// resumes from the same cursor.
	e.fake.Reset()
	e.fake.Inject("conversations.list", slackfake.Fault{Status: 429, RetryAfter: 1, Skip: 1})

	n, err := e.cache.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"gophers-101": newbies, "mods": priv.ID}
	for _, name := range slackfake.DefaultChannels {
		if name != "newbies" {
			want[name] = e.ws.Channels[name]
		}
	}
	got, _ := e.rdb.HGetAll(ctx, KeyByName).Result()
	if diff := cmp.Diff(want, got); diff != "" || n != len(want) {
		t.Errorf("after refresh, %d channels (-want +got):\n%s", n, diff)
	}
	if ids, _ := e.rdb.HLen(ctx, KeyByID).Result(); ids != int64(len(want)) {
		t.Errorf("%d IDs cached, want %d", ids, len(want))
	}
	if name, err := e.cache.Name(ctx, newbies); name != "gophers-101" || err != nil {
		t.Errorf("Name(renamed) = %q, %v", name, err)
	}
	var statuses []int
	for _, c := range e.fake.Calls() {
		statuses = append(statuses, c.Status)
	}
	if diff := cmp.Diff([]int{200, 429, 200, 200}, statuses); diff != "" {
		t.Errorf("listing statuses (-want +got):\n%s", diff)
	}
	if _, err := e.cache.ID(ctx, "newbies"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the old name: %v, want ErrNotFound", err)
	}
}

func TestRefreshFailureKeepsCache(t *testing.T) {
	t.Parallel()
	e := setup(t, slackfake.WithPageSize(3))
	ctx := ctxT(t)
	if _, err := e.cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	e.fake.Inject("conversations.list", slackfake.Fault{Error: "invalid_auth", Skip: 1})
	if _, err := e.cache.Refresh(ctx); err == nil {
		t.Fatal("a failed listing refreshed")
	}
	if n, _ := e.rdb.HLen(ctx, KeyByName).Result(); n != int64(len(slackfake.DefaultChannels)) {
		t.Errorf("after a failed refresh %d names are cached, want the old %d", n, len(slackfake.DefaultChannels))
	}
}

// TestUpperCaseName: names are case-insensitive, and config strips the '#'
// of channel settings, so an all-caps name that looks like a channel ID
// (GENERAL, GOTIMEFM) must still be found as a name.
func TestUpperCaseName(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := ctxT(t)
	want := e.ws.Channels["general"]
	for _, name := range []string{"#GENERAL", "General", "GENERAL"} {
		if id, err := e.cache.ID(ctx, name); id != want || err != nil {
			t.Errorf("ID(%q) = %q, %v; want %q (names are case-insensitive)", name, id, err, want)
		}
	}
}
