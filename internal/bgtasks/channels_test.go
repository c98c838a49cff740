package bgtasks

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gophers/gopherbot/internal/chancache"
	"github.com/gophers/gopherbot/internal/slackfake"
)

// The channel cache task pages through conversations.list; a 429 on page 2
// is waited out and the listing resumes from the same cursor.
func TestChannelCacheTask(t *testing.T) {
	e := newEnv(t)
	e.cfg.ChannelCacheInterval = time.Hour
	e.slack.SetPageSize(2)
	e.slack.Inject("conversations.list", slackfake.Fault{Status: 429, RetryAfter: 1, Skip: 1})
	r := e.runner("a", Options{})
	ctx := context.Background()
	if err := r.RunTask(ctx, "channels"); err != nil {
		t.Fatal(err)
	}

	got, err := e.rdb.HGetAll(ctx, chancache.KeyByName).Result()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e.ws.Channels, got); diff != "" {
		t.Errorf("cached name -> ID (-want +got):\n%s", diff)
	}

	calls := e.slack.CallsTo("conversations.list")
	var cursors []string
	for _, c := range calls {
		cursors = append(cursors, c.Params["cursor"])
	}
	// 7 channels in pages of 2: 4 pages, plus the one refused with 429.
	if len(calls) != 5 {
		t.Fatalf("conversations.list calls = %d (cursors %q); want 5", len(calls), cursors)
	}
	if calls[1].Status != 429 || calls[1].Params["cursor"] == "" || calls[2].Params["cursor"] != calls[1].Params["cursor"] {
		t.Errorf("after the 429 on page 2 the listing went on with cursors %q; want page 2's cursor again", cursors)
	}
	if wait := calls[2].Time.Sub(calls[1].Time); wait < time.Second {
		t.Errorf("retried page 2 after %v; want the Retry-After of 1s", wait)
	}
}
