package bgtasks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gophers/gopherbot/internal/fakeweb"
	"github.com/gophers/gopherbot/internal/slackfake"
)

// A post whose deadline passed before anything was sent (here the
// channel's name could not be resolved in time: conversations.list hung,
// as Slack does in an incident) sent nothing, so its claim is given back,
// although the post's own deadline is gone, and a later round posts the CL.
func TestGerritPostDeadlineBeforeSendRetried(t *testing.T) {
	e := newEnv(t)
	good := e.gerritRunner()
	e.newCL(good, 4247)

	e.hangSlack("conversations.list")
	slow := e.runner("slow", Options{PostTimeout: 300 * time.Millisecond})
	ctx := context.Background()
	if err := slow.RunTask(ctx, "gerrit"); err == nil {
		t.Fatal("round with conversations.list hanging: want an error")
	}
	if n := len(e.slack.CallsTo("chat.postMessage")); n != 0 {
		t.Fatalf("chat.postMessage called %d times; the test wants nothing sent", n)
	}
	for range 2 {
		if err := good.RunTask(ctx, "gerrit"); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.posts("golang-cls"); len(got) != 1 {
		t.Errorf("CL 4247, never sent, was posted %d times afterwards; want once", len(got))
	}
}

// hangSlack puts a proxy before the fake Slack that never answers calls of
// method (it waits until the caller gives up), and points cfg at it.
func (e *env) hangSlack(method string) {
	e.t.Helper()
	target, err := url.Parse(e.slack.URL())
	if err != nil {
		e.t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/"+method) {
			io.Copy(io.Discard, r.Body) // then the server sees the caller go
			<-r.Context().Done()
			return
		}
		rp.ServeHTTP(w, r)
	}))
	e.t.Cleanup(hung.Close)
	e.cfg.SlackAPIURL = hung.URL + "/api/"
}

// The same for a welcome DM whose conversation could not be opened in
// time: the member's claim is given back and a later sweep welcomes them.
func TestWelcomeSweepDMDeadlineBeforeSendRetried(t *testing.T) {
	e := newEnv(t)
	e.cfg.WelcomeSweepInterval = time.Hour
	good := e.runner("a", Options{})
	ctx := context.Background()
	sweep(t, good)
	gina := e.addUser(slackfake.User{Name: "gina"})
	e.hangSlack("conversations.open")
	slow := e.runner("slow", Options{PostTimeout: 300 * time.Millisecond})
	if err := slow.RunTask(ctx, "welcome"); err == nil {
		t.Fatal("sweep with conversations.open hanging: want an error")
	}
	sweep(t, good)
	if got := e.dms()[gina]; len(got) != 1 {
		t.Errorf("DMs to gina = %q; want one", got)
	}
}

// The first run reads one page of a long history on purpose: it posts
// nothing, so no warning says that CLs were left unposted.
func TestGerritFirstRunLongHistoryNoFalseWarning(t *testing.T) {
	e := newEnv(t)
	base := time.Now().Add(-24 * time.Hour)
	for i := range 150 {
		e.gerrit.Merge(fakeweb.Change{Number: 2000 + i, Subject: "history", Submitted: base.Add(time.Duration(i) * time.Minute)})
	}
	r := e.gerritRunner()
	if err := r.RunTask(context.Background(), "gerrit"); err != nil {
		t.Fatal(err)
	}
	if got := e.logLines("a", "more merged CLs than a catch-up reads; the oldest are not posted"); len(got) != 0 {
		t.Errorf("first run logged %v; want no warning of unposted CLs", got)
	}
	if got := e.logLines("a", "first run: recorded the newest merged CL; posting only newer ones"); len(got) != 1 {
		t.Errorf("first run logged %v; want its one record", got)
	}
}
