package fakeweb

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// LiveStatus is the JSON a live-stream status endpoint answers: whether the
// show is on air now and, when it is, what and where.
type LiveStatus struct {
	Live      bool      `json:"live"`
	Title     string    `json:"title,omitempty"`
	URL       string    `json:"url,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
}

// Live is a fake live status endpoint, off air until SetLive.
type Live struct {
	mu       sync.Mutex
	status   LiveStatus
	requests int
	fail     int
}

// NewLive returns a fake status endpoint that reports off air.
func NewLive() *Live { return &Live{} }

// SetLive puts the show on air.
func (l *Live) SetLive(title, url string, started time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status = LiveStatus{Live: true, Title: title, URL: url, StartedAt: started.UTC()}
}

// SetOffAir takes the show off air.
func (l *Live) SetOffAir() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status = LiveStatus{}
}

// FailNext makes the next n requests answer 502.
func (l *Live) FailNext(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail = n
}

// Requests is the number of requests served so far.
func (l *Live) Requests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests
}

// ServeHTTP implements http.Handler.
func (l *Live) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.requests++
	fail := l.fail > 0
	if fail {
		l.fail--
	}
	st := l.status
	l.mu.Unlock()
	if fail {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	json.NewEncoder(w).Encode(st)
}
