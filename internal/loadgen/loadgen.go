// Package loadgen measures the gateway: it sends pre-signed Slack events over
// keep-alive connections and reports throughput and latency percentiles.
//
// Everything that costs CPU on the sending side is done before the clock
// starts: each request, signature included, is serialised to raw HTTP/1.1
// bytes in advance, so the run measures the server, not the client. The
// baseline is a bare net/http handler that only reads the body; the gateway
// and the baseline are measured the same way in one run, and the ratio of
// their throughputs is the figure to compare across machines.
package loadgen

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gophers/gopherbot/internal/cputime"
	"github.com/gophers/gopherbot/internal/gateway"
)

// Limits keep a run bounded whatever the flags say.
const (
	MaxConns    = 1024
	MaxCount    = 2_000_000
	MaxDuration = 10 * time.Minute
	// MaxRunDuration bounds a closed-loop run (Run): its events are signed
	// when it starts, and the gateway refuses a signature more than 5
	// minutes old, which would make the rest of the run quick 401s.
	MaxRunDuration = 4 * time.Minute
)

// Options of one run.
type Options struct {
	URL      string        // the Events API URL, on a loopback address
	Secret   []byte        // signing secret of the target
	Conns    int           // concurrent keep-alive connections
	Count    int           // events to send, after the warm-up
	Duration time.Duration // stop sending after this long even if Count is not reached
	Warmup   int           // events sent first, not measured
	Timeout  time.Duration // per request; default 10s
	OnStart  func()        // if set, called when the measured phase starts

	// lifetime is how long after signing the events may be sent; 0 is
	// MaxRunDuration. Tests shorten it.
	lifetime time.Duration
}

// Result of a run.
type Result struct {
	Requests int           // answered requests
	Errors   int           // requests that got no answer (connection errors)
	Elapsed  time.Duration // wall time of the measured phase
	Statuses map[int]int   // answers by HTTP status
	P50      time.Duration
	P90      time.Duration
	P99      time.Duration
	Max      time.Duration
	// CPU is the user and system time of this process (sender and, for
	// in-process targets, server) during the measured phase.
	CPU time.Duration
	// IDPrefix begins the event_id of every event the run sent, warm-up
	// included.
	IDPrefix string
}

// CPUPerRequest is CPU divided by answered requests.
func (r Result) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Requests)
}

// Throughput is answered requests per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Run sends o.Warmup then o.Count pre-signed events to o.URL over o.Conns
// connections and measures the second batch. The events are signed when it
// starts, so it sends nothing MaxRunDuration after that: the measured phase
// ends then if o.Duration has not ended it before, and a warm-up that
// outlasts the signatures is an error.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.check(); err != nil {
		return Result{}, err
	}
	u, _ := url.Parse(o.URL)
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}

	// Sign everything before the clock starts. The nonce keeps event_ids
	// unique across runs against the same Redis, so none is a duplicate.
	nonce := make([]byte, 4)
	rand.Read(nonce)
	signed := time.Now()
	reqs := Presign(o.Secret, u, hex.EncodeToString(nonce), o.Warmup+o.Count, signed)
	idPrefix := "Ev" + hex.EncodeToString(nonce)
	// Nothing is sent once the signatures are stale, warm-up included: a
	// gateway would answer quick 401s, counted as throughput.
	lifetime := o.lifetime
	if lifetime <= 0 {
		lifetime = MaxRunDuration
	}
	expiry := signed.Add(lifetime)

	conns, closeAll, err := dialAll(ctx, addr, o.Conns)
	if err != nil {
		return Result{}, err
	}
	defer closeAll()

	if o.Warmup > 0 {
		phase(ctx, conns, reqs[:o.Warmup], o.Timeout, expiry)
		if time.Now().After(expiry) {
			return Result{IDPrefix: idPrefix}, fmt.Errorf("loadgen: the warm-up of %d events outlasted their signatures (%v): use a smaller -warmup", o.Warmup, lifetime)
		}
	}
	if o.OnStart != nil {
		o.OnStart()
	}
	cpu0 := cputime.Process()
	deadline := time.Now().Add(o.Duration)
	if deadline.After(expiry) {
		deadline = expiry
	}
	res := phase(ctx, conns, reqs[o.Warmup:], o.Timeout, deadline)
	res.CPU = cputime.Process() - cpu0
	res.IDPrefix = idPrefix
	if err := ctx.Err(); err != nil {
		// Cut short (Ctrl-C, SIGTERM): a part of the run, measured while
		// an in-process server may be shutting down, is no figure. The
		// IDPrefix still lets the caller remove what the run stored.
		return Result{IDPrefix: idPrefix}, fmt.Errorf("loadgen: run interrupted: %w", err)
	}
	return res, nil
}

func (o *Options) check() error {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	switch {
	case o.Conns < 1 || o.Conns > MaxConns:
		return fmt.Errorf("loadgen: connections must be 1 to %d", MaxConns)
	case o.Count < 1 || o.Warmup < 0 || o.Count+o.Warmup > MaxCount:
		return fmt.Errorf("loadgen: count plus warm-up must be 1 to %d", MaxCount)
	case o.Duration <= 0 || o.Duration > MaxRunDuration:
		return fmt.Errorf("loadgen: duration must be positive and at most %v (the events are signed at the start, and signatures expire after 5 minutes)", MaxRunDuration)
	case len(o.Secret) == 0:
		return errors.New("loadgen: no signing secret")
	}
	return CheckLoopback(o.URL)
}

// CheckLoopback returns an error unless rawURL names a loopback host: the
// tool is for measuring a process on this machine, not for loading others.
func CheckLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("loadgen: %q is not a URL", rawURL)
	}
	if u.Scheme != "http" && u.Scheme != "redis" {
		return fmt.Errorf("loadgen: %q: only http:// (and redis:// for -redis) are supported", rawURL)
	}
	host := u.Hostname()
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		if host != "localhost" {
			return fmt.Errorf("loadgen: %q is not a loopback address", host)
		}
		ips, err = net.LookupIP(host)
		if err != nil || len(ips) == 0 {
			return fmt.Errorf("loadgen: cannot resolve %q", host)
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("loadgen: %q is not a loopback address", host)
		}
	}
	return nil
}

// Presign returns n raw HTTP/1.1 requests to u, each a signed event with a
// unique event_id ("Ev" + nonce + index) and the timestamp now. The events
// cycle through a public channel message, a DM, a mention and another
// channel message, as a busy workspace would send them.
func Presign(secret []byte, u *url.URL, nonce string, n int, now time.Time) [][]byte {
	ts := strconv.FormatInt(now.Unix(), 10)
	out := make([][]byte, n)
	for i := range out {
		body := EventBody("Ev"+nonce+strconv.Itoa(i), i, now.Unix())
		out[i] = rawRequest(u, ts, gateway.Signature(secret, ts, body), body)
	}
	return out
}

// EventBody returns a realistic Events API body with event_id id; i picks
// the kind of event.
func EventBody(id string, i int, unix int64) []byte {
	typ, channel, channelType := "message", "C029RQSE8", "channel"
	switch i % 4 {
	case 1:
		channel, channelType = "D04DMCHAN1", "im"
	case 2:
		typ, channelType = "app_mention", ""
	}
	t := strconv.FormatInt(unix, 10)
	b := make([]byte, 0, 1024)
	b = append(b, `{"token":"ZZZZZZWSxiZZZ2yIvs3peJ","team_id":"T029RQSE6","context_team_id":"T029RQSE6","api_app_id":"A01GOPHBOT","event":{"client_msg_id":"8c4f1e5a-2b7d-4e0c-9a61-3f2d8b7c9e10","type":"`...)
	b = append(b, typ...)
	b = append(b, `","text":"<@U01GOPHBOT> how do I set a timeout on an http.Client? I tried context.WithTimeout but the body read still hangs","user":"U0GOPHER1","ts":"`...)
	b = append(b, t...)
	b = append(b, `.000100","blocks":[{"type":"rich_text","block_id":"a1B2c","elements":[{"type":"rich_text_section","elements":[{"type":"user","user_id":"U01GOPHBOT"},{"type":"text","text":" how do I set a timeout on an http.Client? I tried context.WithTimeout but the body read still hangs"}]}]}],"team":"T029RQSE6","channel":"`...)
	b = append(b, channel...)
	b = append(b, `","event_ts":"`...)
	b = append(b, t...)
	b = append(b, `.000100"`...)
	if channelType != "" {
		b = append(b, `,"channel_type":"`...)
		b = append(b, channelType...)
		b = append(b, '"')
	}
	b = append(b, `},"type":"event_callback","event_id":"`...)
	b = append(b, id...)
	b = append(b, `","event_time":`...)
	b = append(b, t...)
	b = append(b, `,"authorizations":[{"enterprise_id":null,"team_id":"T029RQSE6","user_id":"U01GOPHBOT","is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false}`...)
	return b
}

// Conn is one keep-alive connection that sends raw requests; it redials
// when the server closes it.
type Conn struct {
	addr string
	nc   net.Conn
	br   *bufio.Reader
}

// Dial connects to addr (host:port).
func Dial(ctx context.Context, addr string) (*Conn, error) {
	c := &Conn{addr: addr}
	if err := c.redial(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Conn) redial(ctx context.Context) error {
	c.Close()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", c.addr, err)
	}
	c.nc = nc
	c.br = bufio.NewReaderSize(nc, 4096)
	return nil
}

// Close closes the connection.
func (c *Conn) Close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

// Do sends one raw request (from Presign) and reads the answer.
func (c *Conn) Do(req []byte, timeout time.Duration) (status int, err error) {
	if c.nc == nil {
		return 0, errors.New("not connected")
	}
	c.nc.SetDeadline(time.Now().Add(timeout))
	if _, err := c.nc.Write(req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	if resp.Close {
		err = c.redial(context.Background())
	}
	return resp.StatusCode, err
}

// phase sends reqs over conns, each connection taking the next unsent
// request, until all are answered or deadline (if set) passes.
func phase(ctx context.Context, conns []*Conn, reqs [][]byte, timeout time.Duration, deadline time.Time) Result {
	var (
		next    atomic.Int64
		mu      sync.Mutex
		res     = Result{Statuses: map[int]int{}}
		all     = make([]time.Duration, 0, len(reqs))
		wg      sync.WaitGroup
		stopped atomic.Bool
	)
	if !deadline.IsZero() {
		t := time.AfterFunc(time.Until(deadline), func() { stopped.Store(true) })
		defer t.Stop()
	}
	stop := context.AfterFunc(ctx, func() { stopped.Store(true) })
	defer stop()

	start := time.Now()
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, len(reqs)/len(conns)+1)
			statuses := map[int]int{}
			errs := 0
			for !stopped.Load() {
				i := next.Add(1) - 1
				if i >= int64(len(reqs)) {
					break
				}
				t0 := time.Now()
				status, err := c.Do(reqs[i], timeout)
				if err != nil {
					errs++
					if c.redial(ctx) != nil {
						break
					}
					continue
				}
				lat = append(lat, time.Since(t0))
				statuses[status]++
			}
			mu.Lock()
			defer mu.Unlock()
			all = append(all, lat...)
			for s, n := range statuses {
				res.Statuses[s] += n
			}
			res.Errors += errs
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Requests = len(all)
	slices.Sort(all)
	res.P50, res.P90, res.P99 = Percentile(all, 0.50), Percentile(all, 0.90), Percentile(all, 0.99)
	if len(all) > 0 {
		res.Max = all[len(all)-1]
	}
	return res
}

// Percentile returns the q-th quantile (0 < q <= 1) of sorted by the
// nearest-rank method: the smallest value at least q of the values do not
// exceed.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// BareHandler only reads the body and answers 200: the ceiling a handler
// of the gateway's shape can reach on this machine.
func BareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	})
}

// runQueueWait is how long the threads of process pid have waited for a CPU
// while runnable, from /proc/<pid>/task/*/schedstat (Linux), or 0. On a
// shared machine it tells how much of a latency is other people's work.
func runQueueWait(pid int) time.Duration {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			total += n
		}
	}
	return time.Duration(total)
}

// dialAll opens n keep-alive connections to addr; closeAll closes them.
func dialAll(ctx context.Context, addr string, n int) (conns []*Conn, closeAll func(), err error) {
	conns = make([]*Conn, 0, n)
	closeAll = func() {
		for _, c := range conns {
			c.Close()
		}
	}
	for range n {
		c, err := Dial(ctx, addr)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("loadgen: %w", err)
		}
		conns = append(conns, c)
	}
	return conns, closeAll, nil
}
