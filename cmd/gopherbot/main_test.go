package main

import (
	"strings"
	"testing"
)

// What the command cannot do is said, not silently left undone: a script
// given without --script, and --script where there is no console to run it
// (with Slack settings, gopherbot is a real deployment).
func TestCheckFlags(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		script string
		local  bool
		want   string // in the error; "" for none
	}{
		{nil, "", true, ""},
		{nil, "session.txt", true, ""},
		{nil, "", false, ""},
		{[]string{"session.txt"}, "", true, "--script session.txt"},
		{nil, "session.txt", false, "SLACK_"},
	} {
		err := checkFlags(tc.args, tc.script, tc.local)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("checkFlags(%q, %q, %v) = %v, want nil", tc.args, tc.script, tc.local, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("checkFlags(%q, %q, %v) = %v, want an error saying %q", tc.args, tc.script, tc.local, err, tc.want)
		}
	}
}
