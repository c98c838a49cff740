package slackfake

import "time"

// Fault is a failure a method answers with, for its next calls.
type Fault struct {
	// Status is the HTTP status: 429 (with RetryAfter), 500, 503, ...
	// Zero answers 200 with {"ok":false,"error":Error}.
	Status int
	// RetryAfter is the Retry-After header of a 429, in seconds; 0 leaves
	// the header out.
	RetryAfter int
	// Error is the Slack error code when Status is 0 (default
	// "internal_error"); with a 429 the body says "ratelimited".
	Error string
	// Times is how many calls fail; 0 means 1.
	Times int
	// Skip is how many calls are answered normally before the first
	// failure: Skip 1 on conversations.list fails page 2 of a listing.
	Skip int
	// Delay holds a Web API method's answer this long, as a slow Slack
	// would (the client giving up ends it early).
	Delay time.Duration
}

type fault struct {
	Fault
	skip, times int
}

// Inject queues f for method. Faults of one method apply one after the
// other, in the order injected.
func (s *Server) Inject(method string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	times := f.Times
	if times <= 0 {
		times = 1
	}
	s.faults[method] = append(s.faults[method], &fault{Fault: f, skip: f.Skip, times: times})
}

// RateLimit makes the next n calls of method answer 429 with Retry-After
// seconds.
func (s *Server) RateLimit(method string, retryAfter, n int) {
	s.Inject(method, Fault{Status: 429, RetryAfter: retryAfter, Times: n})
}

// ClearFaults drops every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string][]*fault{}
}

// takeFault consumes one call of method from its fault queue and returns the
// fault to answer with, if any.
func (s *Server) takeFaultLocked(method string) (Fault, bool) {
	q := s.faults[method]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	if f.skip > 0 {
		f.skip--
		return Fault{}, false
	}
	f.times--
	if f.times <= 0 {
		s.faults[method] = q[1:]
	}
	return f.Fault, true
}

func (f Fault) retryAfter() time.Duration { return time.Duration(f.RetryAfter) * time.Second }
