package allinone

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/tools/txtar"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/logtest"
)

// TestScriptSession runs a console script through the local all-in-one,
// exactly as `gopherbot --script FILE` does, and checks the printed calls.
func TestScriptSession(t *testing.T) {
	ar, err := txtar.ParseFile("testdata/session.txtar")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range ar.Files {
		files[f.Name] = string(f.Data)
	}

	cfg, err := config.Load(func(string) string { return "" }, config.AllInOne)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var out, logs logtest.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = Run(ctx, cfg, zerolog.New(&logs), Options{
		Console: true, Script: true, In: strings.NewReader(files["script"]), Out: &out, Listener: ln,
	})
	if err != nil {
		t.Fatalf("Run: %v\nlogs:\n%s", err, logs.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("the script did not finish in time; output so far:\n%s", out.String())
	}
	logs.CheckKeys(t)

	got := out.String()
	rest := got
	for _, want := range strings.Split(strings.TrimSpace(files["want"]), "\n") {
		i := strings.Index(rest, want)
		if i < 0 {
			t.Fatalf("output lacks %q (in order); output:\n%s", want, got)
		}
		rest = rest[i+len(want):]
	}
	for _, line := range strings.Split(strings.TrimSpace(files["never"]), "\n") {
		bad := strings.TrimPrefix(line, "! ")
		if strings.Contains(got, bad) {
			t.Errorf("output contains %q:\n%s", bad, got)
		}
	}
	if strings.Contains(logs.String(), `"level":"error"`) {
		t.Errorf("errors logged:\n%s", logs.String())
	}
}
