package bgtasks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophers/gopherbot/internal/consumer"
	"github.com/gophers/gopherbot/internal/slackapi"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/internal/slackfake"
	"github.com/gophers/gopherbot/internal/welcomed"
	"github.com/gophers/gopherbot/workqueue"
)

// dmGate holds the first conversations.open of a Slack client until the
// test lets it through, so that the test can act while the consumer holds
// its welcome claim.
type dmGate struct {
	arrived chan struct{} // closed when the first conversations.open arrives
	release chan struct{} // closed by the test to let it through
	once    sync.Once
}

func newDMGate() *dmGate {
	return &dmGate{arrived: make(chan struct{}), release: make(chan struct{})}
}

func (g *dmGate) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/conversations.open") {
		first := false
		g.once.Do(func() { first = true })
		if first {
			close(g.arrived)
			select {
			case <-g.release:
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}

// waitArrived waits until the gated call is held.
func (g *dmGate) waitArrived(t *testing.T) {
	t.Helper()
	select {
	case <-g.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the consumer did not try to open the DM within 10s")
	}
}

// teamJoiner is the real consumer, handed a member's team_join event
// delivery by delivery, as the queue would (the last failed delivery being
// the one the queue dead-letters).
type teamJoiner struct {
	t    *testing.T
	c    *consumer.Consumer
	ev   workqueue.Event
	next int
}

// consumer returns the consumer's handling of user's team_join, with its
// Slack calls going through rt (nil: straight to the fake).
func (e *env) consumer(user string, rt http.RoundTripper) *teamJoiner {
	e.t.Helper()
	if rt == nil {
		rt = http.DefaultTransport
	}
	sc := slackapi.New(e.cfg.SlackBotToken, e.cfg.SlackAPIURL, e.rdb, e.logger("consumer"),
		slackapi.WithPostInterval(0), slackapi.WithBackoff(5*time.Millisecond, 20*time.Millisecond), slackapi.WithMaxAttempts(3),
		slackapi.WithHTTPClient(&http.Client{Transport: rt, Timeout: 30 * time.Second}))
	c, err := consumer.New(e.cfg, e.logger("consumer"), e.rdb, sc)
	if err != nil {
		e.t.Fatal(err)
	}
	id := "Ev" + user
	body, err := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": e.slack.TeamID(), "event_id": id, "event_time": time.Now().Unix(),
		"event": map[string]any{
			"type": "team_join",
			"user": map[string]any{"id": user, "team_id": e.slack.TeamID(), "name": "newcomer"},
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return &teamJoiner{t: e.t, c: c, ev: workqueue.Event{ID: id, Kind: slackevent.TeamJoin, Body: body}}
}

// deliver hands the event to the consumer once more.
func (j *teamJoiner) deliver() error {
	j.next++
	return j.c.Handle(context.Background(), &workqueue.Delivery{
		Event: j.ev, EntryID: "1700000000000-0", Attempt: j.next, Enqueued: time.Now(),
	})
}

// The sweep finds a newcomer while the consumer holds their welcome claim,
// its DM on the way. The DM fails, the claim is given back, and every retry
// fails too, until the queue dead-letters the team_join. A later sweep must
// welcome the member, once: the consumer will not try again.
func TestWelcomeSweepAfterConsumerGaveUp(t *testing.T) {
	e := newEnv(t)
	e.cfg.WelcomeSweepInterval = time.Hour
	r := e.runner("a", Options{})
	ctx := context.Background()
	sweep(t, r)

	hana := e.addUser(slackfake.User{Name: "hana"})
	e.slack.Inject("conversations.open", slackfake.Fault{Status: http.StatusServiceUnavailable, Times: 1000})
	gate := newDMGate()
	join := e.consumer(hana, gate)
	first := make(chan error, 1)
	go func() { first <- join.deliver() }()
	gate.waitArrived(t)
	if ok, _ := welcomed.New(e.rdb).Has(ctx, hana); !ok {
		t.Fatal("the consumer opens the DM without its claim; the test proves nothing")
	}
	sweep(t, r) // the consumer's claim is in place
	close(gate.release)
	if err := <-first; err == nil {
		t.Fatal("the consumer's first delivery succeeded with conversations.open failing")
	}
	for range 2 { // the retries, the last one dead-lettered
		if err := join.deliver(); err == nil {
			t.Fatal("a retry succeeded with conversations.open failing")
		}
	}
	if ok, _ := welcomed.New(e.rdb).Has(ctx, hana); ok {
		t.Fatal("hana is claimed though no DM went out; the test proves nothing")
	}
	if got := e.dms()[hana]; len(got) != 0 {
		t.Fatalf("DMs to hana while Slack failed: %q", got)
	}

	e.slack.ClearFaults()
	sweep(t, r)
	sweep(t, r)
	if got := e.dms()[hana]; len(got) != 1 {
		t.Errorf("DMs to hana after the consumer gave up = %q; want one, from the sweep", got)
	}
}

// The sweep finds a newcomer while the consumer holds their welcome claim,
// and the consumer's DM then goes out. No sweep sends another, and once the
// claim is old enough to be settled the sweep counts the member as done:
// it no longer looks at them each round.
func TestWelcomeSweepWhileConsumerSucceeds(t *testing.T) {
	e := newEnv(t)
	e.cfg.WelcomeSweepInterval = time.Hour
	e.clock.Add(time.Since(e.clock.Now())) // the claims' clock is the real one
	r := e.runner("a", Options{Now: e.clock.Now})
	ctx := context.Background()
	sweep(t, r)

	ivy := e.addUser(slackfake.User{Name: "ivy"})
	gate := newDMGate()
	join := e.consumer(ivy, gate)
	first := make(chan error, 1)
	go func() { first <- join.deliver() }()
	gate.waitArrived(t)
	sweep(t, r) // the consumer's claim is in place
	close(gate.release)
	if err := <-first; err != nil {
		t.Fatalf("the consumer's delivery: %v", err)
	}
	sweep(t, r)
	if got := e.dms()[ivy]; len(got) != 1 {
		t.Fatalf("DMs to ivy = %q; want the consumer's one", got)
	}
	if known, _ := e.rdb.SIsMember(ctx, membersKey, ivy).Result(); known {
		t.Fatal("ivy is counted as done while the consumer's claim is fresh")
	}

	e.clock.Add(r.welcomeSettle() + time.Minute)
	sweep(t, r)
	if known, _ := e.rdb.SIsMember(ctx, membersKey, ivy).Result(); !known {
		t.Error("ivy is not counted as done once the consumer's claim is settled")
	}
	if got := e.dms()[ivy]; len(got) != 1 {
		t.Errorf("DMs to ivy = %q; want the consumer's one", got)
	}
}

// Redis lost the sweep's list of known members and the welcomed record, but
// kept the marker of the first sweep: every member looks new. The sweep must
// not DM the workspace. It says so loudly, and a member who really just
// joined is still welcomed by the consumer, from their team_join.
func TestWelcomeSweepFloodCap(t *testing.T) {
	e := newEnv(t)
	e.cfg.WelcomeSweepInterval = time.Hour
	e.slack.SetPageSize(7)
	for i := range welcomeMaxDMs + 10 {
		e.addUser(slackfake.User{Name: fmt.Sprintf("old%d", i)})
	}
	r := e.runner("a", Options{})
	ctx := context.Background()
	sweep(t, r)
	if err := e.rdb.Del(ctx, membersKey, welcomed.Key).Err(); err != nil {
		t.Fatal(err)
	}
	nora := e.addUser(slackfake.User{Name: "nora"}) // her team_join is on its way

	sweep(t, r)
	sweep(t, r)
	if got := e.dms(); len(got) != 0 {
		t.Fatalf("the sweeps after the loss sent %d DMs; want none", len(got))
	}
	if len(e.logLines("a", welcomeFloodMsg)) != 1 {
		t.Errorf("want one warning %q; logs:\n%s", welcomeFloodMsg, e.logs.String())
	}
	if err := e.consumer(nora, nil).deliver(); err != nil {
		t.Fatal(err)
	}
	sweep(t, r)
	if got := e.dms(); len(got) != 1 || len(got[nora]) != 1 {
		t.Errorf("DMs = %v; want one, to nora", got)
	}
}

// As many members to welcome as the cap allows are all welcomed.
func TestWelcomeSweepUpToCap(t *testing.T) {
	e := newEnv(t)
	e.cfg.WelcomeSweepInterval = time.Hour
	r := e.runner("a", Options{})
	sweep(t, r)
	for i := range welcomeMaxDMs {
		e.addUser(slackfake.User{Name: fmt.Sprintf("new%d", i)})
	}
	sweep(t, r)
	if got := e.dms(); len(got) != welcomeMaxDMs {
		t.Errorf("%d members got a DM; want %d", len(got), welcomeMaxDMs)
	}
}
