package deploy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The checks above pass on the files as they are; these show that each
// one fails on a file that is wrong in the way it guards against.

// mustApp decodes an app.json written in a test.
func mustApp(t *testing.T, s string) appJSON {
	t.Helper()
	var app appJSON
	if err := json.Unmarshal([]byte(s), &app); err != nil {
		t.Fatal(err)
	}
	return app
}

// contains reports whether one of problems contains every one of words.
func contains(problems []string, words ...string) bool {
	return slices.ContainsFunc(problems, func(p string) bool {
		for _, w := range words {
			if !strings.Contains(p, w) {
				return false
			}
		}
		return true
	})
}

// An app.json env entry without "required" is required: Heroku's default
// since 2014. A Deploy button would refuse to go on until someone makes up
// an app ID for SLACK_APP_ID, which then drops every event.
func TestAppEnvRequiredByDefault(t *testing.T) {
	app := mustApp(t, `{"env": {
		"SLACK_SIGNING_SECRET": {"description": "d", "required": true},
		"SLACK_BOT_TOKEN": {"description": "d", "required": true},
		"SLACK_APP_ID": {"description": "optional, says the description"},
		"LOG_LEVEL": {"description": "d", "value": "info"}
	}}`)
	problems := appEnvProblems(app, settings())
	if !contains(problems, "SLACK_APP_ID", "required") {
		t.Errorf("problems = %q; want SLACK_APP_ID named as required by Heroku's default", problems)
	}
	if contains(problems, "LOG_LEVEL") {
		t.Errorf("problems = %q; LOG_LEVEL has a value, which Heroku fills in", problems)
	}
	// Written out, "required": false is what the real app.json does.
	app = mustApp(t, `{"env": {
		"SLACK_SIGNING_SECRET": {"description": "d"},
		"SLACK_BOT_TOKEN": {"description": "d", "required": true},
		"SLACK_APP_ID": {"description": "d", "required": false}
	}}`)
	if problems := appEnvProblems(app, settings()); len(problems) != 0 {
		t.Errorf("problems = %q; want none", problems)
	}
}

// A slack-go call is a Web API method whatever label the client gives
// it: a conversations.join made inside the conversations.info call needs
// channels:join, which the manifest must grant.
func TestWebAPIMethodsFromSlackGoCalls(t *testing.T) {
	src := `
func (c *Client) ChannelInfo(ctx context.Context, id string) (Channel, error) {
	err := c.do(ctx, "conversations.info", func(ctx context.Context) error {
		c.api.JoinConversationContext(ctx, id)
		ch, err := c.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
		return err
	})
	c.api.Frobnicate(ctx)
}`
	methods, unknown := webAPIMethods(src)
	if want := []string{"conversations.info", "conversations.join"}; !slices.Equal(methods, want) {
		t.Errorf("methods = %q, want %q", methods, want)
	}
	if want := []string{"Frobnicate"}; !slices.Equal(unknown, want) {
		t.Errorf("unknown = %q, want %q", unknown, want)
	}
}

// A value app.json sets that config refuses stops every process at start:
// a claim idle time shorter than the handler timeout, say.
func TestAppEnvValuesLoad(t *testing.T) {
	app := mustApp(t, `{"env": {
		"SLACK_SIGNING_SECRET": {"description": "d", "required": true},
		"SLACK_BOT_TOKEN": {"description": "d", "required": true},
		"HANDLER_TIMEOUT": {"description": "d", "value": "20s", "required": false},
		"QUEUE_CLAIM_IDLE": {"description": "d", "value": "15s", "required": false}
	}}`)
	if problems := appConfigProblems(app); !contains(problems, "QUEUE_CLAIM_IDLE") {
		t.Errorf("problems = %q; want QUEUE_CLAIM_IDLE refused", problems)
	}
	app.Env["QUEUE_CLAIM_IDLE"] = appEnv{Value: "45s"}
	if problems := appConfigProblems(app); len(problems) != 0 {
		t.Errorf("problems = %q; want none", problems)
	}
}

// A row of the README's settings table that config does not read (a
// setting renamed or removed) documents something that does nothing.
func TestREADMESettingsRows(t *testing.T) {
	readme := "## Settings\n\n| variable | default | meaning |\n|---|---|---|\n" +
		"| `PORT` | `8080` | HTTP port |\n" +
		"| `SLACK_APP_ID`, `SLACK_TEAM_ID` | | optional |\n" +
		"| `REDIS_MAXCONN` | | gone |\n\nDurations use Go syntax.\n\n" +
		"## Endpoints\n\n| endpoint | answer |\n|---|---|\n| `GET /healthz` | 200 |\n"
	if got, want := readmeSettings(readme), []string{"PORT", "REDIS_MAXCONN", "SLACK_APP_ID", "SLACK_TEAM_ID"}; !slices.Equal(got, want) {
		t.Errorf("readmeSettings = %q, want %q", got, want)
	}
}

// A kind the gateway starts to queue (a new stream in slackevent.All)
// needs its event subscriptions in the manifest; until it has them in
// kindEvents, the check says so instead of passing on the old list.
func TestSubscriptionsForKinds(t *testing.T) {
	events, unknown := subscriptionsFor([]string{"app_mention", "message.private", "reaction_added"})
	if want := []string{"app_mention", "message.groups", "message.im", "message.mpim"}; !slices.Equal(events, want) {
		t.Errorf("events = %q, want %q", events, want)
	}
	if want := []string{"reaction_added"}; !slices.Equal(unknown, want) {
		t.Errorf("unknown = %q, want %q", unknown, want)
	}
}
