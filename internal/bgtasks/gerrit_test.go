package bgtasks

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gophers/gopherbot/internal/fakeweb"
)

func (e *env) gerritRunner() *Runner {
	e.cfg.GerritPollInterval = time.Hour // on, but rounds are run by hand
	return e.runner("a", Options{})
}

func TestGerritFirstRunPostsNothing(t *testing.T) {
	e := newEnv(t)
	base := time.Now().Add(-time.Hour)
	for i := range 3 {
		e.gerrit.Merge(fakeweb.Change{Number: 1000 + i, Subject: fmt.Sprintf("old change %d", i), Submitted: base.Add(time.Duration(i) * time.Minute)})
	}
	r := e.gerritRunner()
	ctx := context.Background()
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatalf("first run: %v", err)
	}
	if got := e.posts("golang-cls"); len(got) != 0 {
		t.Fatalf("first run posted %q; want nothing", got)
	}

	// A CL that shows up late but was submitted before the newest of the
	// first run is history too; a new one is news.
	e.gerrit.Merge(fakeweb.Change{Number: 999, Subject: "late old change", Submitted: base.Add(-time.Minute), Updated: time.Now()})
	e.gerrit.Merge(fakeweb.Change{Number: 1010, Subject: "new change"})
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	got := e.posts("golang-cls")
	if len(got) != 1 || !strings.HasPrefix(got[0], clPrefix(1010)) {
		t.Fatalf("posts after the first run = %q; want only CL 1010, once", got)
	}
}

// A CL submitted in the same millisecond as the floor is news unless the
// first run saw it, whether the floor is the newest CL or the first run's
// time (seen flaky under load: the test merged within the millisecond).
func TestGerritSameMillisecondAsFloor(t *testing.T) {
	at := time.Now().Truncate(time.Millisecond).Add(-time.Minute)
	t.Run("newest CL", func(t *testing.T) {
		e := newEnv(t)
		e.gerrit.Merge(fakeweb.Change{Number: 1, Subject: "history", Submitted: at})
		r := e.gerritRunner()
		ctx := context.Background()
		if err := r.RunTask(ctx, "gerrit"); err != nil {
			t.Fatal(err)
		}
		e.gerrit.Merge(fakeweb.Change{Number: 2, Subject: "same millisecond", Submitted: at.Add(500 * time.Microsecond)})
		for range 2 {
			if err := r.RunTask(ctx, "gerrit"); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.posts("golang-cls"); len(got) != 1 || !strings.HasPrefix(got[0], clPrefix(2)) {
			t.Fatalf("posts = %q; want CL 2 alone, once", got)
		}
	})
	t.Run("no CL yet", func(t *testing.T) {
		e := newEnv(t)
		e.cfg.GerritPollInterval = time.Hour
		r := e.runner("a", Options{Now: func() time.Time { return at }})
		ctx := context.Background()
		if err := r.RunTask(ctx, "gerrit"); err != nil {
			t.Fatal(err)
		}
		e.gerrit.Merge(fakeweb.Change{Number: 7, Subject: "first ever", Submitted: at.Add(200 * time.Microsecond)})
		if err := r.RunTask(ctx, "gerrit"); err != nil {
			t.Fatal(err)
		}
		if got := e.posts("golang-cls"); len(got) != 1 || !strings.HasPrefix(got[0], clPrefix(7)) {
			t.Fatalf("posts = %q; want CL 7", got)
		}
	})
}

func TestGerritFirstRunEmpty(t *testing.T) {
	e := newEnv(t)
	r := e.gerritRunner()
	ctx := context.Background()
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	e.gerrit.Merge(fakeweb.Change{Number: 5, Subject: "first ever", Submitted: time.Now().Add(time.Second)})
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	if got := e.posts("golang-cls"); len(got) != 1 {
		t.Fatalf("posts = %q; want CL 5", got)
	}
}

func TestGerritOldestFirstAcrossPages(t *testing.T) {
	e := newEnv(t)
	r := e.gerritRunner()
	ctx := context.Background()
	e.gerrit.Merge(fakeweb.Change{Number: 1, Subject: "before", Submitted: time.Now().Add(-time.Hour)})
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}

	// More than a page (100) merged at once, numbered against time order,
	// and some touched after merging, which reorders Gerrit's answer.
	const n = 130
	start := time.Now().Add(-30 * time.Minute)
	var want []string
	for i := range n {
		num := 5000 - i
		e.gerrit.Merge(fakeweb.Change{Number: num, Subject: fmt.Sprintf("change %d", i), Submitted: start.Add(time.Duration(i) * time.Second)})
		if i%7 == 0 {
			e.gerrit.Touch(num, time.Now())
		}
		want = append(want, clPrefix(num))
	}
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range e.posts("golang-cls") {
		got = append(got, p[:strings.Index(p, ":")+1])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("posted CLs (-want +got):\n%s", diff)
	}
	if e.gerrit.Requests() < 3 {
		t.Errorf("Gerrit saw %d requests; want the first run and two pages", e.gerrit.Requests())
	}
}

func TestGerritText(t *testing.T) {
	e := newEnv(t)
	r := e.gerritRunner()
	ctx := context.Background()
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	msg := "net/http: keep <b> & </b> escaped\n\n" +
		"The server no longer waits for the body\nwhen the handler returned.\n\n" +
		"Fixes golang/go#12345\n\n" +
		"Change-Id: I0123456789abcdef0123456789abcdef01234567\n" +
		"Reviewed-on: https://go-review.googlesource.com/c/go/+/2001\n" +
		"Reviewed-by: Gopher <gopher@golang.org>\n"
	now := time.Now().Add(time.Second) // after the first run's floor
	e.gerrit.Merge(fakeweb.Change{Number: 2001, Project: "go", Subject: "net/http: keep <b> & </b> escaped", Message: msg, Submitted: now})
	e.gerrit.Merge(fakeweb.Change{Number: 2002, Project: "tools", Subject: "gopls: faster completion", Submitted: now.Add(time.Second)})
	e.gerrit.Merge(fakeweb.Change{Number: 2003, Project: "go", Branch: "release-branch.go1.24", Subject: "[release-branch.go1.24] cmd/go: fix", Submitted: now.Add(2 * time.Second)})
	e.gerrit.Merge(fakeweb.Change{Number: 2004, Project: "tools", Branch: "gopls-release-branch.0.18", Subject: "gopls: fix a crash", Submitted: now.Add(3 * time.Second)})
	e.gerrit.Merge(fakeweb.Change{Number: 2005, Project: "go", Subject: "abandoned", Status: "ABANDONED", Updated: now})
	if err := r.RunTask(ctx, "gerrit"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CL 2001 merged: net/http: keep &lt;b&gt; &amp; &lt;/b&gt; escaped\nhttps://go.dev/cl/2001\n```\n" +
			"The server no longer waits for the body\nwhen the handler returned.\n\nFixes golang/go#12345\n```",
		"CL 2002 merged: [tools] gopls: faster completion\nhttps://go.dev/cl/2002",
		"CL 2003 merged: [release-branch.go1.24] cmd/go: fix\nhttps://go.dev/cl/2003",
		"CL 2004 merged: [tools] gopls: fix a crash (gopls-release-branch.0.18)\nhttps://go.dev/cl/2004",
	}
	if diff := cmp.Diff(want, e.posts("golang-cls")); diff != "" {
		t.Errorf("posts (-want +got):\n%s", diff)
	}
}

func TestParseGerritXSSI(t *testing.T) {
	for _, body := range []string{
		")]}'\n[{\"_number\":7,\"project\":\"go\",\"status\":\"MERGED\",\"submitted\":\"2025-01-02 03:04:05.000000000\"}]",
		")]}'[{\"_number\":7,\"project\":\"go\",\"status\":\"MERGED\",\"submitted\":\"2025-01-02 03:04:05.000000000\"}]",
	} {
		cs, err := parseGerrit([]byte(body))
		if err != nil {
			t.Fatalf("parseGerrit(%q): %v", body, err)
		}
		if len(cs) != 1 || cs[0].Number != 7 || !cs[0].Submitted.Equal(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("parseGerrit(%q) = %+v", body, cs)
		}
	}
	if _, err := parseGerrit([]byte(`<html>Sign in</html>`)); err == nil {
		t.Error("parseGerrit of an HTML page: want an error")
	}
}

func TestCommitBody(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"subject only\n", ""},
		{"subject\n\nbody\n\nChange-Id: I1\n", "body"},
		// A paragraph with a line that is not a trailer is kept whole.
		{"subject\n\nbody\n\nNote: kept\nbecause this is prose\n", "body\n\nNote: kept\nbecause this is prose"},
		{"subject\n\n" + strings.Repeat("x", maxCommitBody+10), strings.Repeat("x", maxCommitBody) + "…"},
	}
	for _, tt := range tests {
		if got := commitBody(tt.msg); got != tt.want {
			t.Errorf("commitBody(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

func TestGerritUnreachableIsAnError(t *testing.T) {
	e := newEnv(t)
	r := e.gerritRunner()
	e.gerrit.FailNext(1)
	if err := r.RunTask(context.Background(), "gerrit"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("RunTask with Gerrit failing = %v; want an error naming the 500", err)
	}
}
