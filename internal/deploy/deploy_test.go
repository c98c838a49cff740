package deploy

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gophers/gopherbot/config"
)

const top = "../.."

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(top, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// procfile returns process type -> command.
func procfile(t *testing.T) map[string]string {
	t.Helper()
	procs := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(read(t, "Procfile")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, cmd, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("Procfile line %q has no process type", line)
		}
		procs[name] = strings.TrimSpace(cmd)
	}
	return procs
}

type appJSON struct {
	Formation map[string]json.RawMessage `json:"formation"`
	Env       map[string]struct {
		Description string `json:"description"`
		Required    bool   `json:"required"`
	} `json:"env"`
	Buildpacks []struct{ URL string }  `json:"buildpacks"`
	Addons     []struct{ Plan string } `json:"addons"`
}

func loadApp(t *testing.T) appJSON {
	t.Helper()
	var app appJSON
	if err := json.Unmarshal([]byte(read(t, "app.json")), &app); err != nil {
		t.Fatalf("app.json: %v", err)
	}
	return app
}

func TestProcfileNamesExistingCommands(t *testing.T) {
	procs := procfile(t)
	for _, want := range []string{"web", "consumer", "bgtasks"} {
		if _, ok := procs[want]; !ok {
			t.Errorf("Procfile has no %s process", want)
		}
	}
	for name, cmd := range procs {
		bin, _, _ := strings.Cut(cmd, " ")
		pkg, ok := strings.CutPrefix(bin, "bin/")
		if !ok {
			t.Errorf("process %s runs %q, not a bin/ command of this build", name, bin)
			continue
		}
		main := filepath.Join(top, "cmd", pkg, "main.go")
		src, err := os.ReadFile(main)
		if err != nil {
			t.Errorf("process %s runs %s, but %s does not exist", name, bin, main)
			continue
		}
		if !strings.Contains(string(src), "package main") {
			t.Errorf("%s is not a main package", main)
		}
	}
}

func TestAppJSONMatchesProcfile(t *testing.T) {
	app := loadApp(t)
	procs := procfile(t)
	var formation, types []string
	for k := range app.Formation {
		formation = append(formation, k)
	}
	for k := range procs {
		types = append(types, k)
	}
	sort.Strings(formation)
	sort.Strings(types)
	if !slices.Equal(formation, types) {
		t.Errorf("app.json formation %v, Procfile process types %v", formation, types)
	}
	if len(app.Buildpacks) != 1 || app.Buildpacks[0].URL != "heroku/go" {
		t.Errorf("buildpacks = %v, want heroku/go", app.Buildpacks)
	}
	if len(app.Addons) == 0 || !strings.HasPrefix(app.Addons[0].Plan, "heroku-redis") {
		t.Errorf("addons = %v, want Heroku Redis", app.Addons)
	}
	if !strings.Contains(read(t, "go.mod"), "+heroku install ./cmd/...") {
		t.Error("go.mod does not tell the Go buildpack to install every command")
	}
}

// settings returns every environment variable config.Load reads.
func settings() []string {
	seen := map[string]bool{}
	getenv := func(k string) string { seen[k] = true; return "" }
	config.Load(getenv, config.AllInOne)
	var names []string
	for k := range seen {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Set by the platform, not by whoever deploys.
var platformSet = map[string]bool{
	"PORT": true, "REDIS_URL": true, "DYNO": true,
	"HEROKU_APP_NAME": true, "HEROKU_DYNO_ID": true, "HEROKU_SLUG_COMMIT": true,
	"SLACK_API_URL": true, // only for fakes
}

func TestEverySettingDocumented(t *testing.T) {
	app := loadApp(t)
	readme := read(t, "README.md")
	names := settings()
	if len(names) < 20 {
		t.Fatalf("config.Load read only %d variables: %v", len(names), names)
	}
	for _, name := range names {
		if !strings.Contains(readme, "`"+name+"`") {
			t.Errorf("README does not document %s", name)
		}
		if _, ok := app.Env[name]; !ok && !platformSet[name] {
			t.Errorf("app.json env does not describe %s", name)
		}
	}
	for name, v := range app.Env {
		if !slices.Contains(names, name) {
			t.Errorf("app.json describes %s, which config does not read", name)
		}
		if v.Description == "" {
			t.Errorf("app.json %s has no description", name)
		}
	}
	for _, required := range []string{"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"} {
		if !app.Env[required].Required {
			t.Errorf("app.json does not mark %s required", required)
		}
	}
}

func TestManifestSubscribesToRoutedEvents(t *testing.T) {
	m := read(t, "slack-app-manifest.yml")
	for _, ev := range []string{"app_mention", "team_join", "member_joined_channel", "message.channels", "message.im", "message.groups", "message.mpim"} {
		if !strings.Contains(m, "- "+ev+"\n") {
			t.Errorf("manifest does not subscribe to %s", ev)
		}
	}
	if !strings.Contains(m, "/slack/events") {
		t.Error("manifest request URL is not /slack/events")
	}
}
