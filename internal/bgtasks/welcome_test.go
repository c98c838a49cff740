package bgtasks

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/commands"
	"github.com/gophers/gopherbot/internal/slackfake"
	"github.com/gophers/gopherbot/internal/welcomed"
)

// dms returns, per user ID, the texts the bot sent in its DM with them.
func (e *env) dms() map[string][]string {
	out := map[string][]string{}
	for _, c := range e.slack.CallsTo("chat.postMessage") {
		ch, ok := e.slack.Channel(c.Params["channel"])
		if c.OK() && ok && ch.IsIM {
			out[ch.User] = append(out[ch.User], c.Params["text"])
		}
	}
	return out
}

func (e *env) addUser(u slackfake.User) string {
	e.t.Helper()
	got, err := e.slack.AddUser(u)
	if err != nil {
		e.t.Fatal(err)
	}
	return got.ID
}

// sweep runs r's welcome sweep once, failing the test on an error.
func sweep(t *testing.T, r *Runner) {
	t.Helper()
	runRounds(t, r, "welcome", 1)
}

func TestWelcomeSweep(t *testing.T) {
	e := newEnv(t)
	e.cfg.WelcomeSweepInterval = time.Hour
	e.slack.SetPageSize(2) // several pages of users.list
	r := e.runner("a", Options{})
	ctx := context.Background()

	sweep(t, r) // first sweep: records the people there are
	if got := e.dms(); len(got) != 0 {
		t.Fatalf("first sweep sent %v; want nothing", got)
	}

	dana := e.addUser(slackfake.User{Name: "dana"})
	erin := e.addUser(slackfake.User{Name: "erin"}) // the consumer welcomed her
	e.addUser(slackfake.User{Name: "robot", IsBot: true})
	e.addUser(slackfake.User{Name: "gone", Deleted: true})
	e.addUser(slackfake.User{Name: "guest", IsRestricted: true})
	e.addUser(slackfake.User{Name: "visitor", IsUltraRestricted: true})
	e.addUser(slackfake.User{Name: "app", IsAppUser: true})
	if ok, err := welcomed.New(e.rdb).Claim(ctx, erin); err != nil || !ok {
		t.Fatalf("Claim(erin) = %v, %v", ok, err)
	}
	sweep(t, r)
	sweep(t, r)

	ids := map[string]string{}
	for _, name := range e.cfg.RecommendedChannels {
		ids[name] = e.ws.Channels[name]
	}
	want := map[string][]string{dana: {commands.WelcomeDM(dana, e.cfg.RecommendedChannels, ids)}}
	if diff := cmp.Diff(want, e.dms()); diff != "" {
		t.Errorf("DMs (-want +got):\n%s", diff)
	}
	if ok, _ := welcomed.New(e.rdb).Has(ctx, dana); !ok {
		t.Error("dana is not in the welcomed record after her DM")
	}
}

// A DM that Slack refused leaves the member unwelcomed and unknown, so the
// next sweep welcomes them. So does one refused because Slack rejected the
// token: it is not given up as if the member could never be welcomed.
func TestWelcomeSweepRetriesRefusedDM(t *testing.T) {
	for name, fault := range map[string]slackfake.Fault{
		// Every attempt the client makes fails.
		"conversations.open fails": {Error: "internal_error", Times: 3},
		"token rejected":           {Error: "token_revoked", Times: 1},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.WelcomeSweepInterval = time.Hour
			r := e.runner("a", Options{})
			ctx := context.Background()
			sweep(t, r)
			fred := e.addUser(slackfake.User{Name: "fred"})
			e.slack.Inject("conversations.open", fault)
			if err := r.RunTask(ctx, "welcome"); err == nil {
				t.Fatal("sweep with conversations.open failing: want an error")
			}
			if ok, _ := welcomed.New(e.rdb).Has(ctx, fred); ok {
				t.Fatal("fred is claimed though his DM was not sent")
			}
			sweep(t, r)
			if got := e.dms()[fred]; len(got) != 1 {
				t.Fatalf("DMs to fred = %q; want one", got)
			}
		})
	}
}

// A welcome DM Slack may have sent (it answered internal_error, which Slack
// documents as possibly done in part) is not sent again: the member stays
// claimed and known.
func TestWelcomeSweepUnknownDMNotRepeated(t *testing.T) {
	e := newEnv(t)
	e.cfg.WelcomeSweepInterval = time.Hour
	r := e.runner("a", Options{})
	ctx := context.Background()
	sweep(t, r)
	gail := e.addUser(slackfake.User{Name: "gail"})
	e.slack.Inject("chat.postMessage", slackfake.Fault{Error: "internal_error", Times: 3})
	if err := r.RunTask(ctx, "welcome"); err == nil {
		t.Fatal("sweep with the DM's outcome unknown: want an error")
	}
	e.slack.ClearFaults()
	if ok, _ := welcomed.New(e.rdb).Has(ctx, gail); !ok {
		t.Fatal("gail's claim was released though her DM may have gone out")
	}
	sweep(t, r)
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 1 {
		t.Errorf("chat.postMessage called %d times; want the one whose outcome is unknown", n)
	}
	if len(e.logLines("a", "welcome DM outcome unknown; not retrying, to never welcome twice")) != 1 {
		t.Error("the unknown outcome was not logged")
	}
}

// The lease is lost while the claim of a newcomer's welcome is on its
// way: Redis records the claim, but the replica, its context cancelled,
// never reads the answer. The newcomer is welcomed all the same, once,
// by this replica or the next leader.
func TestWelcomeClaimNotLostToCancel(t *testing.T) {
	e := newEnv(t)
	e.cfg.WelcomeSweepInterval = time.Hour
	first := e.runner("first", Options{})
	sweep(t, first)
	gina := e.addUser(slackfake.User{Name: "gina"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := e.hookedRunner("a", &evalHook{key: welcomed.Key, fn: func(cctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
		if err := next(context.WithoutCancel(cctx), cmd); err != nil {
			return err // NOSCRIPT: go-redis sends the script itself
		}
		cancel() // the lease is lost meanwhile
		if cctx.Err() != nil {
			return cctx.Err() // go-redis stops waiting for the answer
		}
		return cmd.Err()
	}})
	r.RunTask(ctx, "welcome") // cancelled half-way: its error says so
	next := e.runner("b", Options{})
	sweep(t, next)
	if got := e.dms()[gina]; len(got) != 1 {
		t.Errorf("DMs to gina = %q; want one", got)
	}
}
