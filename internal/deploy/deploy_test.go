package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/slackevent"
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
	Formation  map[string]json.RawMessage `json:"formation"`
	Env        map[string]appEnv          `json:"env"`
	Buildpacks []struct{ URL string }     `json:"buildpacks"`
	Addons     []struct{ Plan string }    `json:"addons"`
}

type appEnv struct {
	Description string `json:"description"`
	Value       string `json:"value"`
	Required    *bool  `json:"required"` // nil is true, as Heroku reads it
}

// required reports whether Heroku asks for the variable at deploy time:
// an entry without "required" is required.
func (e appEnv) required() bool { return e.Required == nil || *e.Required }

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
	for _, p := range appEnvProblems(app, names) {
		t.Error(p)
	}
}

// appEnvProblems returns what is wrong with app.json's env, given the
// variables config reads.
func appEnvProblems(app appJSON, known []string) []string {
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(app.Env)) {
		v := app.Env[name]
		if !slices.Contains(known, name) {
			problems = append(problems, fmt.Sprintf("app.json describes %s, which config does not read", name))
		}
		if v.Description == "" {
			problems = append(problems, fmt.Sprintf("app.json %s has no description", name))
		}
		// A required entry without a value stops a Deploy button until
		// someone types one in: only the two secrets are worth that.
		if v.required() && v.Value == "" && !slices.Contains(appRequired, name) {
			problems = append(problems, fmt.Sprintf(`app.json requires %s (an entry without "required": false is required): add "required": false`, name))
		}
	}
	for _, required := range appRequired {
		if v, ok := app.Env[required]; !ok || !v.required() {
			problems = append(problems, fmt.Sprintf("app.json does not mark %s required", required))
		}
	}
	return problems
}

// appRequired are the settings a Heroku deploy must ask for.
var appRequired = []string{"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"}

// kindEvents are the event subscriptions behind each kind the gateway
// queues (internal/gateway's route): message events by channel_type
// (channel; group, im, mpim), app_mention, team_join, member_joined_channel.
var kindEvents = map[string][]string{
	slackevent.MessageChannel:      {"message.channels"},
	slackevent.MessagePrivate:      {"message.groups", "message.im", "message.mpim"},
	slackevent.AppMention:          {"app_mention"},
	slackevent.TeamJoin:            {"team_join"},
	slackevent.MemberJoinedChannel: {"member_joined_channel"},
}

// subscriptionsFor returns the event subscriptions of the queued kinds,
// sorted, and the kinds kindEvents does not know.
func subscriptionsFor(kinds []string) (events, unknown []string) {
	for _, k := range kinds {
		evs, ok := kindEvents[k]
		if !ok {
			unknown = append(unknown, k)
		}
		events = append(events, evs...)
	}
	return sorted(events), unknown
}

func TestManifestSubscribesToRoutedEvents(t *testing.T) {
	m := read(t, "slack-app-manifest.yml")
	routedEvents, unknown := subscriptionsFor(slackevent.All)
	for _, k := range unknown {
		t.Errorf("the gateway queues %s: add its event subscriptions to kindEvents", k)
	}
	if got := manifestList(t, m, "bot_events"); !slices.Equal(sorted(got), routedEvents) {
		t.Errorf("manifest bot_events = %v, want exactly the routed %v", got, routedEvents)
	}
	if !regexp.MustCompile(`(?m)^\s+request_url: https://\S+/slack/events\s*$`).MatchString(m) {
		t.Error("manifest request URL is not https://.../slack/events")
	}
	if !regexp.MustCompile(`(?m)^\s+socket_mode_enabled: false\s*$`).MatchString(m) {
		t.Error("manifest does not turn socket mode off: the bot takes events over HTTP")
	}
}

// methodScopes are the bot scopes each Web API method of internal/slackapi
// needs (Slack's method reference). A method the client starts calling must
// be added here, with its scopes, before this test passes.
var methodScopes = map[string][]string{
	"auth.test": nil,
	// Without chat:write.public: the bot posts only where it was invited
	// (the README's deploy steps say where), and in DMs.
	"chat.postMessage":   {"chat:write"},
	"chat.postEphemeral": {"chat:write"},
	"reactions.add":      {"reactions:write"},
	"conversations.open": {"im:write"},
	"conversations.info": {"channels:read", "groups:read"},
	"conversations.list": {"channels:read", "groups:read"}, // types public_channel,private_channel
	"users.info":         {"users:read"},
	"users.list":         {"users:read"},
	"files.download":     {"files:read"}, // a file's url_private with the bot token
}

// eventScopes are the bot scopes each subscribed event needs.
var eventScopes = map[string][]string{
	"app_mention":           {"app_mentions:read"},
	"message.channels":      {"channels:history"},
	"message.groups":        {"groups:history"},
	"message.im":            {"im:history"},
	"message.mpim":          {"mpim:history"},
	"team_join":             {"users:read"},
	"member_joined_channel": {"channels:read", "groups:read"},
}

// calledMethods returns the Web API methods internal/slackapi calls.
func calledMethods(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(top, "internal", "slackapi", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
		src.WriteByte('\n')
	}
	methods, unknown := webAPIMethods(src.String())
	for _, u := range unknown {
		t.Errorf("internal/slackapi calls %s: add it to slackGoMethods", u)
	}
	return methods
}

// webAPIMethods returns the Web API methods that Go source calls, and the
// slack-go calls it does not know.
//
// The client names its calls (c.do's label, a const method), and each
// call through slack-go is a Web API method too, whatever the label says.
func webAPIMethods(src string) (methods, unknown []string) {
	labels := regexp.MustCompile(`c\.do\(ctx, "([a-z]+\.[A-Za-z.]+)"|const method = "([a-z]+\.[A-Za-z.]+)"`)
	calls := regexp.MustCompile(`\bc\.api\.([A-Za-z]+)\(`)
	seen := map[string]bool{}
	for _, m := range labels.FindAllStringSubmatch(src, -1) {
		seen[m[1]+m[2]] = true
	}
	for _, m := range calls.FindAllStringSubmatch(src, -1) {
		method, ok := slackGoMethods[strings.TrimSuffix(m[1], "Context")]
		if !ok {
			if !slices.Contains(unknown, m[1]) {
				unknown = append(unknown, m[1])
			}
			continue
		}
		seen[method] = true
	}
	return sorted(slices.Collect(maps.Keys(seen))), unknown
}

// slackGoMethods are the Web API methods behind slack-go's functions
// (without their Context suffix). A function the client starts calling
// must be added here before the scope check passes.
var slackGoMethods = map[string]string{
	"AuthTest":               "auth.test",
	"PostMessage":            "chat.postMessage",
	"PostEphemeral":          "chat.postEphemeral",
	"UpdateMessage":          "chat.update",
	"DeleteMessage":          "chat.delete",
	"GetPermalink":           "chat.getPermalink",
	"AddReaction":            "reactions.add",
	"RemoveReaction":         "reactions.remove",
	"OpenConversation":       "conversations.open",
	"JoinConversation":       "conversations.join",
	"GetConversationInfo":    "conversations.info",
	"GetConversations":       "conversations.list",
	"GetConversationHistory": "conversations.history",
	"GetConversationReplies": "conversations.replies",
	"GetUsersInConversation": "conversations.members",
	"GetUserInfo":            "users.info",
	"GetUsers":               "users.list",
	"GetUsersPaginated":      "users.list",
	"GetFileInfo":            "files.info",
	"GetEmoji":               "emoji.list",
}

func TestManifestScopesMatchWhatTheBotUses(t *testing.T) {
	m := read(t, "slack-app-manifest.yml")
	granted := manifestList(t, m, "bot")
	methods := calledMethods(t)
	if len(methods) < 8 {
		t.Fatalf("found only %d Web API methods in internal/slackapi: %v", len(methods), methods)
	}
	need := map[string][]string{} // scope -> what needs it
	for _, method := range methods {
		scopes, ok := methodScopes[method]
		if !ok {
			t.Errorf("internal/slackapi calls %s: add it and its scopes to methodScopes", method)
		}
		for _, s := range scopes {
			need[s] = append(need[s], method)
		}
	}
	for _, ev := range manifestList(t, m, "bot_events") {
		scopes, ok := eventScopes[ev]
		if !ok {
			t.Errorf("manifest subscribes to %s: add it and its scopes to eventScopes", ev)
		}
		for _, s := range scopes {
			need[s] = append(need[s], ev)
		}
	}
	for s, users := range need {
		if !slices.Contains(granted, s) {
			t.Errorf("manifest does not grant %s, which %v needs", s, users)
		}
	}
	for _, s := range granted {
		if _, ok := need[s]; !ok {
			t.Errorf("manifest grants %s, which no method called or event subscribed needs", s)
		}
	}
}

// TestAppJSONValuesLoad: every process starts with the values app.json
// sets (and Heroku Redis's URL and the two secrets someone types in).
func TestAppJSONValuesLoad(t *testing.T) {
	for _, p := range appConfigProblems(loadApp(t)) {
		t.Error(p)
	}
}

// appConfigProblems returns config's refusals of the settings app.json
// sets, for each process type.
func appConfigProblems(app appJSON) []string {
	env := map[string]string{
		// What Heroku Redis and the person deploying fill in.
		"REDIS_URL":            "rediss://:password@redis.example.com:6380",
		"SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
		"SLACK_BOT_TOKEN":      "xoxb-1-2-3",
	}
	for name, v := range app.Env {
		if v.Value != "" {
			env[name] = v.Value
		}
	}
	var problems []string
	for _, r := range []struct {
		name string
		role config.Role
	}{{"gateway", config.Gateway}, {"consumer", config.Consumer}, {"bgtasks", config.Bgtasks}} {
		if _, err := config.Load(func(k string) string { return env[k] }, r.role); err != nil {
			problems = append(problems, fmt.Sprintf("with app.json's values, %s does not start: %v", r.name, err))
		}
	}
	return problems
}

// TestREADMESettingsExist: the README's settings table names only
// settings config reads.
func TestREADMESettingsExist(t *testing.T) {
	rows := readmeSettings(read(t, "README.md"))
	if len(rows) < 20 {
		t.Fatalf("found only %d settings in the README's table: %v", len(rows), rows)
	}
	known := settings()
	for _, name := range rows {
		if !slices.Contains(known, name) {
			t.Errorf("the README's settings table documents %s, which config does not read", name)
		}
	}
}

// readmeSettings returns the variables named in the first column of the
// table in the README's "## Settings" section, sorted.
func readmeSettings(readme string) []string {
	_, section, _ := strings.Cut("\n"+readme, "\n## Settings\n")
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	var names []string
	for line := range strings.Lines(section) {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || strings.TrimSpace(cells[0]) != "" {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			names = append(names, m[1])
		}
	}
	return sorted(names)
}

func TestAppJSONStartsInShadowMode(t *testing.T) {
	// A button deploy or a review app (which may inherit the production
	// token) must not post into the workspace before someone says so.
	if v := loadApp(t).Env["GOPHERBOT_ENV"].Value; v == "production" {
		t.Errorf("app.json sets GOPHERBOT_ENV=%s by default; want shadow mode until set by hand", v)
	}
}

// manifestList returns the items of the YAML list under key in the
// manifest (comments dropped): enough YAML for this file, without a parser.
func manifestList(t *testing.T, m, key string) []string {
	t.Helper()
	lines := strings.Split(m, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != key+":" {
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " "))
		var items []string
		for _, l := range lines[i+1:] {
			tl := strings.TrimSpace(l)
			if tl == "" || strings.HasPrefix(tl, "#") {
				continue
			}
			if len(l)-len(strings.TrimLeft(l, " ")) <= indent && !strings.HasPrefix(tl, "- ") {
				break
			}
			item, ok := strings.CutPrefix(tl, "- ")
			if !ok {
				break
			}
			item, _, _ = strings.Cut(item, "#")
			items = append(items, strings.TrimSpace(item))
		}
		if len(items) == 0 {
			t.Fatalf("manifest: %s: no list items", key)
		}
		return items
	}
	t.Fatalf("manifest has no %s:", key)
	return nil
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// redisPlanBytes is the memory of the Heroku Redis plans app.json may ask for.
var redisPlanBytes = map[string]int64{
	"heroku-redis:mini": 25 << 20,
}

// minEntryBytes is less than any queued event takes in Redis: the body of
// a Slack event (the envelope, authorizations, a message's blocks) is
// rarely under 1 KiB.
const minEntryBytes = 1 << 10

// TestAppJSONQueueCapFitsRedisPlan: QUEUE_MAX_LEN is the memory guard of
// each stream; on the plan app.json provisions, the streams held at their
// caps (consumers down, the dead letters full) must fit in half of the
// plan's memory, leaving the rest to the dedup and effect records. Past the
// plan's memory Redis refuses every write: the gateway answers 503 to all
// of Slack, leases and claims fail, and nothing recovers until someone
// deletes by hand what the guard was meant to drop.
func TestAppJSONQueueCapFitsRedisPlan(t *testing.T) {
	app := loadApp(t)
	if len(app.Addons) == 0 {
		t.Fatal("app.json has no addons")
	}
	plan := app.Addons[0].Plan
	mem, ok := redisPlanBytes[plan]
	if !ok {
		t.Fatalf("app.json asks for Redis plan %s: add its memory to redisPlanBytes", plan)
	}
	capStr := app.Env["QUEUE_MAX_LEN"].Value
	if capStr == "" {
		capStr = "100000" // config's default
	}
	capLen, err := strconv.ParseInt(capStr, 10, 64)
	if err != nil {
		t.Fatalf("app.json QUEUE_MAX_LEN %q: %v", capStr, err)
	}
	streams := int64(len(slackevent.All) + 1) // and the dead letters, capped alike
	if need := capLen * streams * minEntryBytes; need > mem/2 {
		t.Errorf("app.json QUEUE_MAX_LEN=%d: %d streams at their cap take at least %d MiB; plan %s has %d MiB",
			capLen, streams, need>>20, plan, mem>>20)
	}
}
