package slackfake

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/slack-go/slack"
)

// BenchmarkPostMessage measures the fake answering chat.postMessage from
// slack-go, against a bare handler that answers the same JSON without state
// or recording: the fake's own cost is the difference.
func BenchmarkPostMessage(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true,"channel":"C1","ts":"1712345678.000100"}`))
		}))
		defer srv.Close()
		benchPost(b, srv.URL+"/api/", "xoxb-x", "C1")
	})
	b.Run("fake", func(b *testing.B) {
		s := New(WithRecordLimit(10000))
		defer s.Close()
		ws, _ := s.Seed()
		benchPost(b, s.APIURL(), s.Token(), ws.Channels["general"])
	})
}

func benchPost(b *testing.B, apiURL, token, channel string) {
	api := slack.New(token, slack.OptionAPIURL(apiURL))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := api.PostMessageContext(context.Background(), channel, slack.MsgOptionText("hello, gophers", false)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
