package chancache

import (
	"context"
	"errors"
	"slices"
	"sync"
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

// gatedLister counts conversations.list calls and holds the page calls
// whose cursor is in hold until release is closed, as a slow or rate
// limited Slack would. A held call gives up with its context.
type gatedLister struct {
	Lister
	release chan struct{}
	hold    func(call int) bool // whether the call-th listing call (from 1) is held

	mu    sync.Mutex
	calls []string // the cursor of each call
}

func (g *gatedLister) ListChannels(ctx context.Context, cursor string, limit int) ([]slackapi.Channel, string, error) {
	g.mu.Lock()
	g.calls = append(g.calls, cursor)
	n := len(g.calls)
	g.mu.Unlock()
	if g.hold(n) {
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
	return g.Lister.ListChannels(ctx, cursor, limit)
}

func (g *gatedLister) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// TestConcurrentMissesListOnce: many handlers missing at once (an empty
// cache after a Redis restart, a busy channel) make one listing between
// them, not one each: conversations.list is tier 2, and a big workspace
// has dozens of pages.
func TestConcurrentMissesListOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, slackfake.WithPageSize(3))
	ctx := ctxT(t)
	g := &gatedLister{Lister: slackapi.New(e.fake.Token(), e.fake.APIURL(), e.rdb, zerolog.Nop()), release: make(chan struct{})}
	g.hold = func(n int) bool { return n == 1 }
	cache := New(e.rdb, g, zerolog.Nop())

	// The first page is held until a second listing starts (the bug) or
	// for a moment, while the others miss too.
	go func() {
		defer close(g.release)
		deadline := time.Now().Add(200 * time.Millisecond)
		for g.count() < 2 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}()
	names := []string{"random", "general", "reviews", "newbies", "golang-jobs", "no-such-channel"}
	var wg sync.WaitGroup
	for range 3 {
		for _, name := range names {
			wg.Go(func() {
				id, err := cache.ID(ctx, name)
				if want := e.ws.Channels[name]; id != want || (want == "") != errors.Is(err, ErrNotFound) {
					t.Errorf("ID(%s) = %q, %v; want %q", name, id, err, want)
				}
			})
		}
	}
	wg.Wait()
	pages := (len(e.fake.Channels()) + 2) / 3
	if n := g.count(); n != pages {
		t.Errorf("%d concurrent misses made %d conversations.list calls; want one listing of %d pages", 3*len(names), n, pages)
	}
}

// TestListingOutlivesCaller: a listing longer than the handler's deadline
// (a big workspace under tier 2 limits) goes on after the caller gave up,
// so that the retry finds the channel cached instead of starting over from
// the first page, and never getting further.
func TestListingOutlivesCaller(t *testing.T) {
	t.Parallel()
	e := setup(t, slackfake.WithPageSize(3))
	ctx := ctxT(t)
	g := &gatedLister{Lister: slackapi.New(e.fake.Token(), e.fake.APIURL(), e.rdb, zerolog.Nop()), release: make(chan struct{})}
	g.hold = func(n int) bool { return n == 2 } // page 2 is slow
	cache := New(e.rdb, g, zerolog.Nop())

	hctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := cache.ID(hctx, "random") // on page 3
		done <- err
	}()
	waitFor(t, "page 2 asked", func() bool { return g.count() == 2 })
	cancel() // the handler's deadline
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("ID after its caller gave up = %v; want context.Canceled", err)
	}
	close(g.release)
	want := e.ws.Channels["random"]
	waitFor(t, "random cached", func() bool { return e.rdb.HGet(ctx, KeyByName, "random").Val() == want })
	if id, err := cache.ID(ctx, "random"); id != want || err != nil {
		t.Errorf("the retry: ID(random) = %q, %v; want %q", id, err, want)
	}
	g.mu.Lock()
	calls := slices.Clone(g.calls)
	g.mu.Unlock()
	if len(calls) != 3 || calls[0] != "" || slices.Contains(calls[1:], "") {
		t.Errorf("listing calls with cursors %q; want one listing of 3 pages, not started over", calls)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCloseStopsListing: the listing that outlives its caller must not
// outlive the process's parts. Close (called when the consumer or the
// background tasks stop) cancels it and waits for it, so that it does not
// go on calling Slack, and writing to a Redis client about to be closed,
// for up to listTimeout after Run returned.
func TestCloseStopsListing(t *testing.T) {
	t.Parallel()
	e := setup(t, slackfake.WithPageSize(3))
	ctx := ctxT(t)
	g := &gatedLister{Lister: slackapi.New(e.fake.Token(), e.fake.APIURL(), e.rdb, zerolog.Nop()), release: make(chan struct{})}
	g.hold = func(n int) bool { return n == 2 } // page 2 never comes
	cache := New(e.rdb, g, zerolog.Nop())

	hctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := cache.ID(hctx, "random")
		done <- err
	}()
	waitFor(t, "page 2 asked", func() bool { return g.count() == 2 })
	cancel()
	<-done
	closed := make(chan struct{})
	go func() { cache.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		close(g.release)
		t.Fatal("Close did not stop the listing in progress within 5s")
	}
	if n := g.count(); n != 2 {
		t.Errorf("%d conversations.list calls after Close; want the 2 made before", n)
	}
	// The Cache still works after Close: a later miss lists again.
	close(g.release)
	if id, err := cache.ID(ctx, "random"); err != nil || id != e.ws.Channels["random"] {
		t.Errorf("ID(random) after Close = %q, %v; want %q", id, err, e.ws.Channels["random"])
	}
}

// TestIDShapedNameCached: a setting in capitals that has the shape of a
// channel ID (GENERAL, GOPHERCON2024) is a name once the cache knows it:
// its look-up asks Slack nothing, and so does not fail while Slack has
// trouble.
func TestIDShapedNameCached(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := ctxT(t)
	conf, err := e.fake.AddChannel(slackfake.Channel{Name: "gophercon2024"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	e.fake.Reset()
	e.fake.Inject("conversations.info", slackfake.Fault{Status: 503, Times: 1000})
	for name, want := range map[string]string{"GENERAL": e.ws.Channels["general"], "GOPHERCON2024": conf.ID} {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		id, err := e.cache.ID(cctx, name)
		cancel()
		if id != want || err != nil {
			t.Errorf("ID(%q) while conversations.info fails = %q, %v; want %q from the cache", name, id, err, want)
		}
	}
	if calls := e.methods(); len(calls) != 0 {
		t.Errorf("cached names asked Slack: %v", calls)
	}
}

// TestMissingIDShapedRemembered: a setting that looks like an ID but names
// nothing is remembered as missing like any other name, instead of costing
// a conversations.info call on every look-up; and the marker outlives a
// listing, or a big workspace would be listed again and again.
func TestMissingIDShapedRemembered(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := ctxT(t)
	for range 2 {
		if _, err := e.cache.ID(ctx, "GOPHERCON2099"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ID = %v, want ErrNotFound", err)
		}
	}
	if diff := cmp.Diff([]string{"conversations.info", "conversations.list"}, e.methods()); diff != "" {
		t.Errorf("two look-ups of a missing ID-shaped name made calls (-want +got):\n%s", diff)
	}
	if _, err := e.cache.ID(ctx, "no-such-channel"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ID(no-such-channel) = %v, want ErrNotFound", err)
	}
	for _, name := range []string{"gophercon2099", "no-such-channel"} {
		ttl, err := e.rdb.TTL(ctx, keyMissPrefix+name).Result()
		if err != nil || ttl <= listTimeout {
			t.Errorf("missing marker of %s lasts %v (%v); want longer than a listing (%v)", name, ttl, err, listTimeout)
		}
	}
}
