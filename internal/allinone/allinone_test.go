package allinone

import (
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
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

	got, logs, err := runLocalLogs(t, nil, Options{}, files["script"])
	if err != nil {
		t.Fatalf("Run: %v\nlogs:\n%s", err, logs.String())
	}
	logs.CheckKeys(t)

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
