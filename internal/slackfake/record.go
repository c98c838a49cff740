package slackfake

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// Call is one request the server received.
type Call struct {
	Seq    int               // 1 for the first call since New or Reset
	Method string            // e.g. "chat.postMessage"; a file download is "files.download"
	Params map[string]string // every parameter but the token, flattened to strings
	Time   time.Time         // when the request arrived

	// What the server answered.
	Status     int               // HTTP status
	Error      string            // Slack error code when ok was false, else ""
	RetryAfter time.Duration     // with a 429
	Result     map[string]string // selected fields of a success, e.g. "ts" and "channel" of a post
	Warnings   []string          // Slack's warnings of a success, e.g. "message_truncated"
}

// OK reports whether the call succeeded: 200 and ok true.
func (c Call) OK() bool { return c.Status == 200 && c.Error == "" }

func (c Call) clone() Call {
	out := c
	out.Params = cloneMap(c.Params)
	out.Result = cloneMap(c.Result)
	out.Warnings = slices.Clone(c.Warnings)
	return out
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// recorder keeps the calls and tells whoever waits for them.
type recorder struct {
	mu      sync.Mutex
	calls   []Call
	seq     int
	changed chan struct{} // closed and replaced on every change
	subs    map[int]func(Call)
	limit   int // keep at most this many calls; 0: all
	nextSub int

	// deliver serializes callbacks so that subscribers see calls in order
	// without holding mu while they run.
	deliver sync.Mutex
}

func (r *recorder) init() {
	r.changed = make(chan struct{})
	r.subs = map[int]func(Call){}
}

func (r *recorder) add(c Call) {
	r.deliver.Lock()
	defer r.deliver.Unlock()
	r.mu.Lock()
	c.Seq = r.seq + 1
	subs := make([]func(Call), 0, len(r.subs))
	for _, k := range slices.Sorted(maps.Keys(r.subs)) {
		subs = append(subs, r.subs[k])
	}
	r.mu.Unlock()
	for _, f := range subs {
		f(c.clone())
	}
	// Waiters see the call only after the callbacks have run, so a test that
	// waited for n calls also sees what its callbacks did with them.
	r.mu.Lock()
	r.seq = c.Seq
	r.calls = append(r.calls, c)
	if r.limit > 0 && len(r.calls) > r.limit {
		// Copy rather than reslice, so the dropped calls can be collected.
		// Keep at least the call just made, whatever the limit.
		r.calls = append([]Call(nil), r.calls[len(r.calls)-max(r.limit/2, 1):]...)
	}
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Calls returns the calls received since New or the last Reset, in order.
func (s *Server) Calls() []Call {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	out := make([]Call, len(s.rec.calls))
	for i, c := range s.rec.calls {
		out[i] = c.clone()
	}
	return out
}

// CallsTo returns the calls of one method.
func (s *Server) CallsTo(method string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets the recorded calls and the pending faults; the workspace
// stays as it is.
func (s *Server) Reset() {
	s.mu.Lock()
	s.faults = map[string][]*fault{}
	s.mu.Unlock()
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.rec.calls = nil
	s.rec.seq = 0
	close(s.rec.changed)
	s.rec.changed = make(chan struct{})
}

// OnCall calls f with every call recorded from now on, in order, before the
// server sends its answer and before Calls and the Wait methods see the call.
// f must not block for long: the answer and the next call's recording wait
// for it. The returned func stops the calls.
func (s *Server) OnCall(f func(Call)) (stop func()) {
	s.rec.mu.Lock()
	id := s.rec.nextSub
	s.rec.nextSub++
	s.rec.subs[id] = f
	s.rec.mu.Unlock()
	return func() {
		s.rec.mu.Lock()
		delete(s.rec.subs, id)
		s.rec.mu.Unlock()
	}
}

// Subscribe returns a channel that receives every call recorded from now on,
// in order, until ctx is done; then the channel is closed. A slow reader
// never blocks the server: calls wait in an unbounded buffer.
func (s *Server) Subscribe(ctx context.Context) <-chan Call {
	out := make(chan Call)
	var (
		mu      sync.Mutex
		pending []Call
		wake    = make(chan struct{}, 1)
	)
	stop := s.OnCall(func(c Call) {
		mu.Lock()
		pending = append(pending, c)
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	go func() {
		defer close(out)
		defer stop()
		for {
			mu.Lock()
			batch := pending
			pending = nil
			mu.Unlock()
			for _, c := range batch {
				select {
				case out <- c:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// WaitFor waits until ok holds for the calls recorded so far, and returns
// them, or ctx's error.
func (s *Server) WaitFor(ctx context.Context, ok func([]Call) bool) ([]Call, error) {
	for {
		s.rec.mu.Lock()
		changed := s.rec.changed
		s.rec.mu.Unlock()
		calls := s.Calls()
		if ok(calls) {
			return calls, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return calls, ctx.Err()
		}
	}
}

// WaitCalls waits until at least n calls are recorded and returns them all.
func (s *Server) WaitCalls(ctx context.Context, n int) ([]Call, error) {
	return s.WaitFor(ctx, func(c []Call) bool { return len(c) >= n })
}

// WaitMethod waits until at least n calls of method are recorded, and
// returns those calls.
func (s *Server) WaitMethod(ctx context.Context, method string, n int) ([]Call, error) {
	var got []Call
	_, err := s.WaitFor(ctx, func(calls []Call) bool {
		got = got[:0]
		for _, c := range calls {
			if c.Method == method {
				got = append(got, c)
			}
		}
		return len(got) >= n
	})
	return got, err
}
