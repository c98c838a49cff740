package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gophers/gopherbot/handler"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/welcomed"
)

func teamJoin(user, eventID string) *handler.Message {
	return &handler.Message{Kind: handler.KindTeamJoin, EventID: eventID, User: user, Time: time.Now(), BotID: botID}
}

func joined(user, channel string) *handler.Message {
	return &handler.Message{Kind: handler.KindMemberJoinedChannel, EventID: "EvJ1", User: user, Channel: channel, ChannelType: "C", Time: time.Now(), BotID: botID}
}

func TestWelcomeDMText(t *testing.T) {
	text := WelcomeDM("UNEW", []string{"general", "newbies", "gotimefm"}, map[string]string{"general": "CGENERAL", "newbies": "CNEWBIES"})
	for _, s := range []string{"<@UNEW>", "• <#CGENERAL>\n• <#CNEWBIES>\n• #gotimefm\n", "https://go.dev/tour", "https://go.dev/conduct", "`help`"} {
		if !strings.Contains(text, s) {
			t.Errorf("welcome DM does not contain %q:\n%s", s, text)
		}
	}
	if none := WelcomeDM("UNEW", nil, nil); strings.Contains(none, "channels you may like") || !strings.Contains(none, "<@UNEW>") {
		t.Errorf("with no channels:\n%s", none)
	}
}

func TestWelcome(t *testing.T) {
	rs := redistest.Start(t)
	store := welcomed.New(rs.Client())
	e := newEnv(t, func(d *Deps) { d.Welcomed = store })

	got := e.mustServe(t, teamJoin("UNEW", "EvT1"))
	want := []call{{Op: "dm", To: "UNEW", Text: WelcomeDM("UNEW", testRecommended, map[string]string{
		"general": "CGENERAL", "newbies": "CNEWBIES", "reviews": "CREVIEWS",
	})}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first team_join (-want +got):\n%s", diff)
	}
	if ok, err := store.Has(t.Context(), "UNEW"); err != nil || !ok {
		t.Errorf("Has(UNEW) = %v, %v; want recorded", ok, err)
	}

	// Another team_join for the same member (or the sweep's claim): nothing.
	if got := e.mustServe(t, teamJoin("UNEW", "EvT2")); len(got) != 0 {
		t.Errorf("second team_join sent %+v", got)
	}
	// Someone the sweep already welcomed: nothing.
	if ok, err := store.Claim(t.Context(), "USWEPT"); err != nil || !ok {
		t.Fatalf("Claim(USWEPT) = %v, %v", ok, err)
	}
	if got := e.mustServe(t, teamJoin("USWEPT", "EvT3")); len(got) != 0 {
		t.Errorf("team_join of a swept member sent %+v", got)
	}
	// No user: ignored, no error.
	if got := e.mustServe(t, teamJoin("", "EvT4")); len(got) != 0 {
		t.Errorf("team_join without user sent %+v", got)
	}
}

func TestWelcomeDMFails(t *testing.T) {
	rs := redistest.Start(t)
	store := welcomed.New(rs.Client())
	e := newEnv(t, func(d *Deps) { d.Welcomed = store })

	m := teamJoin("UNEW", "EvT1")
	r := &recorder{m: m, fail: errors.New("slack: 503")}
	if err := e.mx.ServeMessage(t.Context(), m, r); err == nil {
		t.Fatal("a failed DM gave no error; the event would not be retried")
	}
	if ok, err := store.Has(t.Context(), "UNEW"); err != nil || ok {
		t.Errorf("after a failed DM Has = %v, %v; want the claim released", ok, err)
	}
	// The retry sends it.
	if got := e.mustServe(t, m); len(got) != 1 || got[0].Op != "dm" {
		t.Errorf("retry sent %+v, want the DM", got)
	}
}

// A DM that may have gone out keeps the claim: neither the event's retry
// nor the bgtasks sweep welcomes the member again.
func TestWelcomeDMOutcomeUnknown(t *testing.T) {
	rs := redistest.Start(t)
	store := welcomed.New(rs.Client())
	e := newEnv(t, func(d *Deps) { d.Welcomed = store })

	m := teamJoin("UNEW", "EvT1")
	r := &recorder{m: m, fail: fmt.Errorf("slack chat.postMessage: HTTP 500: %w", handler.ErrOutcomeUnknown)}
	if err := e.mx.ServeMessage(t.Context(), m, r); !errors.Is(err, handler.ErrOutcomeUnknown) {
		t.Fatalf("err = %v; want the unknown outcome", err)
	}
	if ok, err := store.Has(t.Context(), "UNEW"); err != nil || !ok {
		t.Errorf("after a DM that may have gone out Has = %v, %v; want the claim kept", ok, err)
	}
	if got := e.mustServe(t, m); len(got) != 0 {
		t.Errorf("retry sent %+v, want nothing", got)
	}
}

func TestWelcomeRedisDown(t *testing.T) {
	rs := redistest.Start(t)
	store := welcomed.New(rs.Client())
	e := newEnv(t, func(d *Deps) { d.Welcomed = store })
	rs.Stop()
	got, err := e.serve(t, teamJoin("UNEW", "EvT1"))
	if err == nil || len(got) != 0 {
		t.Errorf("with Redis down: calls %+v, err %v; want an error and no DM (it could not be claimed)", got, err)
	}
}

func TestWelcomeDisabled(t *testing.T) {
	e := newEnv(t) // no Welcomed
	if got := e.mustServe(t, teamJoin("UNEW", "EvT1")); len(got) != 0 {
		t.Errorf("without a welcomed record team_join sent %+v", got)
	}
}

func TestNewbiesChannelWelcome(t *testing.T) {
	for _, tt := range []struct {
		name    string
		newbies string
		m       *handler.Message
		welcome bool
	}{
		{"joins newbies", "newbies", joined("UNEW", "CNEWBIES"), true},
		{"joins newbies set as #name", "#newbies", joined("UNEW", "CNEWBIES"), true},
		{"newbies set as an ID", "CNEWBIES", joined("UNEW", "CNEWBIES"), true},
		{"joins another channel", "newbies", joined("UNEW", "CGENERAL"), false},
		{"the bot joins", "newbies", joined(botID, "CNEWBIES"), false},
		{"newbies unknown", "beginners", joined("UNEW", "CNEWBIES"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(d *Deps) { d.NewbiesChannel = tt.newbies })
			got := e.mustServe(t, tt.m)
			if !tt.welcome {
				if len(got) != 0 {
					t.Errorf("got %+v, want nothing", got)
				}
				return
			}
			if len(got) != 1 || got[0].Op != "ephemeral" || got[0].To != "UNEW" ||
				!strings.Contains(got[0].Text, "<#CNEWBIES>") || !strings.Contains(got[0].Text, "<@UNEW>") {
				t.Errorf("got %+v, want one ephemeral welcome to UNEW naming the channel", got)
			}
		})
	}
}

// failingChannels is a channel cache that cannot reach Slack or Redis.
type failingChannels struct{}

func (failingChannels) ID(context.Context, string) (string, error) {
	return "", errors.New("redis: connection refused")
}

// When the channel look-up fails, the join is retried (an error), not
// judged on a guess; a name that does not exist is no error.
func TestNewbiesLookupFails(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Channels = failingChannels{} })
	got, err := e.serve(t, joined("UNEW", "CNEWBIES"))
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v; want the look-up's failure", err)
	}
	if len(got) != 0 {
		t.Errorf("sent %+v while the look-up failed", got)
	}
}

// A deny-list whose names cannot be looked up does not let a paste through:
// the event is retried.
func TestDenylistLookupFails(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Channels = failingChannels{} })
	got, err := e.serve(t, message(slackEscape(goCode(12))))
	if err == nil {
		t.Errorf("no error while the deny-list could not be checked")
	}
	if n := len(e.pg.Shares()); n != 0 || len(got) != 0 {
		t.Errorf("%d shares, calls %+v, while the deny-list could not be checked", n, got)
	}
}
