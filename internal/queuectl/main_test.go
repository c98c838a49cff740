package queuectl_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gophers/gopherbot/internal/queuectl"
	"github.com/gophers/gopherbot/internal/redistest"
)

// TestMainHerokuRedis runs the whole command against a Redis like Heroku's
// (TLS with a certificate that does not verify, a password): it works with
// the settings the README gives, and a wrong password fails with exit
// status 1 and a message that does not quote the URL's password.
func TestMainHerokuRedis(t *testing.T) {
	rs := redistest.StartTLS(t)
	env := map[string]string{"REDIS_URL": rs.URL(), "REDIS_TLS_SKIP_VERIFY": "1"}
	getenv := func(k string) string { return env[k] }
	var out, errs bytes.Buffer
	if code := queuectl.Main(t.Context(), []string{"stats"}, getenv, &out, &errs); code != 0 || !strings.Contains(out.String(), "dead letters: 0") {
		t.Fatalf("stats = %d, stdout %q, stderr %q", code, out.String(), errs.String())
	}

	const wrong = "n0t-the-passw0rd"
	env["REDIS_URL"] = strings.Replace(rs.URL(), "rediss://:", "rediss://:"+wrong, 1)
	out.Reset()
	errs.Reset()
	if code := queuectl.Main(t.Context(), []string{"stats"}, getenv, &out, &errs); code != 1 {
		t.Errorf("stats with a wrong password = %d, stderr %q; want 1", code, errs.String())
	}
	if strings.Contains(errs.String(), wrong) || strings.Contains(out.String(), wrong) {
		t.Errorf("the output quotes the password:\n%s%s", out.String(), errs.String())
	}
}
