package allinone

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"golang.org/x/tools/txtar"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/redistest"
)

var update = flag.Bool("update", false, "rewrite the -- calls -- sections of testdata/transcripts/*.txtar with the current output")

// TestTranscripts runs each testdata/transcripts/*.txtar through the local
// all-in-one: the "say" section is a console script, and "calls" is
// exactly what it prints, the echoed lines and every Web API call the bot
// makes, in order. An optional "env" section holds settings, one KEY=VALUE
// a line, as the environment would. Other sections are files the script
// may /upload by name.
//
// The console's session is fixed, so event IDs, and the random choices the
// bot seeds with them (coin flips, chance reactions), are the same each run.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no transcripts in testdata/transcripts")
	}
	// The transcripts run all at once, whatever -parallel says: they spend
	// their time waiting for the Slack client's pacing (one message per
	// second per channel), not on the CPU, and -parallel defaults to the
	// number of CPUs. A subtest started from its own goroutine, without
	// t.Parallel, is not held back by -parallel.
	//
	// Their Redis servers start first, one after the other: a server is
	// given a port that was free a moment before, and the transcripts'
	// own connections and listeners could take it in between.
	servers := make([]*redistest.Server, len(files))
	for i := range files {
		servers[i] = redistest.Start(t)
	}
	var wg sync.WaitGroup
	for i, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		wg.Go(func() {
			t.Run(name, func(t *testing.T) { runTranscript(t, servers[i], file) })
		})
	}
	wg.Wait()
}

func runTranscript(t *testing.T, rs *redistest.Server, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	say, calls := -1, -1
	dir := t.TempDir()
	uploads := map[string]bool{}
	env := map[string]string{}
	for i, f := range ar.Files {
		switch f.Name {
		case "say":
			say = i
		case "calls":
			calls = i
		case "env":
			for line := range strings.Lines(string(f.Data)) {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				k, v, ok := strings.Cut(line, "=")
				if !ok {
					t.Fatalf("%s: env line %q is not KEY=VALUE", file, line)
				}
				env[k] = v
			}
		default:
			if strings.ContainsAny(f.Name, `/\`) {
				t.Fatalf("section %q: upload files are plain names", f.Name)
			}
			if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o600); err != nil {
				t.Fatal(err)
			}
			uploads[f.Name] = true
		}
	}
	if say < 0 {
		t.Fatalf("%s has no -- say -- section", file)
	}
	if calls < 0 && !*update {
		t.Fatalf("%s has no -- calls -- section; run with -update to write it", file)
	}

	// /upload NAME reads the archive's section NAME.
	script := uploadRE.ReplaceAllStringFunc(string(ar.Files[say].Data), func(line string) string {
		name := strings.TrimSpace(strings.TrimPrefix(line, "/upload"))
		if !uploads[name] {
			t.Fatalf("%s: %q names no section of the archive", file, line)
		}
		return "/upload " + filepath.Join(dir, name)
	})

	got, logs := transcript(t, rs, env, script)
	// The echoed /upload lines show the path: show the section name again.
	got = strings.ReplaceAll(got, dir+string(filepath.Separator), "")
	// The simulated Playground listens on a free port; its links are
	// {URL}/p/{ID}, and the ID is a hash of the code, which is stable.
	got = playgroundRE.ReplaceAllString(got, "$$PLAYGROUND/p/")
	got = numberThreads(got)

	if *update {
		data := []byte(got)
		if calls < 0 {
			ar.Files = append(ar.Files, txtar.File{Name: "calls"})
			calls = len(ar.Files) - 1
		}
		ar.Files[calls].Data = data
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(string(ar.Files[calls].Data), got); diff != "" {
		t.Errorf("%s: calls differ (-want +got):\n%s\nlogs:\n%s", file, diff, logs)
	}
}

var (
	uploadRE     = regexp.MustCompile(`(?m)^/upload .*$`)
	playgroundRE = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/p/`)
	threadRE     = regexp.MustCompile(`\(thread [0-9]+\.[0-9]+\)`)
)

// numberThreads replaces the timestamps of threads, which come from the
// clock, with their order of first appearance: (thread 1), (thread 2)...
// Replies in the same thread keep the same number.
func numberThreads(s string) string {
	seen := map[string]int{}
	return threadRE.ReplaceAllStringFunc(s, func(m string) string {
		n, ok := seen[m]
		if !ok {
			n = len(seen) + 1
			seen[m] = n
		}
		return fmt.Sprintf("(thread %d)", n)
	})
}

// transcript runs script through the local all-in-one, with the settings
// env (none gives the defaults), on the real Redis rs, and returns what the
// console printed, and the logs.
func transcript(t *testing.T, rs *redistest.Server, env map[string]string, script string) (out, logs string) {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] }, config.AllInOne)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RedisURL = rs.URL()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var outBuf, logBuf logtest.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	err = Run(ctx, cfg, zerolog.New(&logBuf), Options{
		Console: true, Script: true, In: strings.NewReader(script), Out: &outBuf,
		Listener: ln, Session: "EvTRANSCRIPT",
	})
	t.Logf("ran in %v", time.Since(start))
	if err != nil {
		t.Fatalf("Run: %v\nlogs:\n%s", err, logBuf.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("the script did not finish in time; output so far:\n%s\nlogs:\n%s", outBuf.String(), logBuf.String())
	}
	if strings.Contains(logBuf.String(), `"level":"error"`) {
		t.Errorf("errors logged:\n%s", logBuf.String())
	}
	logBuf.CheckKeys(t)
	return outBuf.String(), logBuf.String()
}
