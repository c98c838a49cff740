// Package gateway is gopherbot's Slack Events API endpoint.
//
// It checks the signature of each request, answers url_verification, peeks
// the event kind with fastjson, and appends the raw request body to the
// work queue stream of its kind, where the consumers pick it up. It keeps no
// state of its own, so any number of replicas may run.
//
// Slack disables an app that answers too few deliveries with 2xx, so the
// gateway answers 200 to every verified event it does not handle, and counts
// every non-2xx answer it gives (Stats). It answers 503 when it could not
// store an event, never 200, so that Slack retries.
package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/valyala/fastjson"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/slackevent"
	"github.com/gophers/gopherbot/workqueue"
)

const (
	// MaxBodySize is the largest request body accepted (413 above it).
	// Events API payloads are a few kilobytes.
	MaxBodySize = 1 << 20

	// MaxClockSkew is how far a request timestamp may be from now, in either
	// direction, before the request is refused as a possible replay.
	MaxClockSkew = 5 * time.Minute

	// statsInterval is how often Serve logs the counters.
	statsInterval = 10 * time.Minute

	defaultShutdownTimeout = 25 * time.Second
)

// Server is the gateway: an http.Handler in front of the work queue.
type Server struct {
	log      zerolog.Logger
	rdb      redis.UniversalClient
	queue    publisher
	secret   []byte
	appID    string
	teamID   string
	shutdown time.Duration
	now      func() time.Time
	handler  http.Handler

	parsers fastjson.ParserPool
	macs    sync.Pool // of *verifier
	closing sync.Once
	stats   counters
}

// publisher is what the gateway needs of the work queue.
type publisher interface {
	Publish(ctx context.Context, e workqueue.Event) (added bool, err error)
	PublishStats() workqueue.PublishStats
	Close() error
}

var _ publisher = (*workqueue.Queue)(nil)

// Option changes a Server built by New.
type Option func(*Server)

// WithClock makes the Server read the time from now instead of time.Now:
// tests check the timestamp window with it.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// New returns a gateway that stores events through its own work queue on
// rdb. It takes every setting from cfg and reads nothing else: the
// all-in-one passes its own Redis client and listener.
func New(cfg config.Config, log zerolog.Logger, rdb redis.UniversalClient, opts ...Option) *Server {
	s := &Server{
		log:      log,
		rdb:      rdb,
		secret:   []byte(cfg.SlackSigningSecret),
		appID:    cfg.SlackAppID,
		teamID:   cfg.SlackTeamID,
		shutdown: cfg.ShutdownTimeout,
		now:      time.Now,
	}
	if s.shutdown <= 0 {
		s.shutdown = defaultShutdownTimeout
	}
	if len(s.secret) == 0 {
		log.Error().Msg("no Slack signing secret: every event request will be refused")
	}
	for _, o := range opts {
		o(s)
	}
	s.queue = workqueue.New(rdb, workqueue.Options{
		DedupTTL: cfg.DedupTTL,
		MaxLen:   cfg.StreamMaxLen,
		Log:      log,
	})
	s.macs.New = func() any {
		return &verifier{mac: hmac.New(sha256.New, s.secret), base: make([]byte, 0, 32)}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/events", s.serveEvents)
	mux.HandleFunc("POST /slack/event", s.serveEvents) // the old request URL
	mux.HandleFunc("GET /healthz", serveHealthz)
	mux.HandleFunc("GET /readyz", s.serveReadyz)
	mux.HandleFunc("GET /_ruok", serveRUOK)
	s.handler = mux
	return s
}

// Handler returns the HTTP handler of the gateway's endpoints.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the work queue's publish batcher. Serve calls it when it
// returns; call it yourself when you use only Handler.
func (s *Server) Close() error {
	var err error
	s.closing.Do(func() { err = s.queue.Close() })
	if err != nil {
		return fmt.Errorf("gateway: close queue: %w", err)
	}
	return nil
}

// Serve serves HTTP on ln until ctx ends, then stops accepting connections,
// lets the requests in flight finish (within the configured shutdown
// timeout), closes the queue and returns nil. Requests still in flight when
// the timeout runs out have their connections closed, and Serve returns an
// error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		// Heroku's router closes connections idle for 90 s. Ours must
		// outlast that, or we could close one just as the router sends a
		// request on it, which Slack would see as a failed delivery.
		IdleTimeout: 120 * time.Second,
		ErrorLog:    stdlog.New(httpErrorLog{s.log}, "", 0),
		// Requests in flight at shutdown must finish their publish, so
		// their context does not end with ctx.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.log.Info().Str("addr", ln.Addr().String()).Msg("gateway listening")

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	tick := time.NewTicker(statsInterval)
	defer tick.Stop()
wait:
	for {
		select {
		case err := <-errc:
			s.Close()
			s.logStats("gateway stopped")
			return fmt.Errorf("gateway: serve: %w", err)
		case <-tick.C:
			s.logStats("gateway stats")
		case <-ctx.Done():
			break wait
		}
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdown)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		// Requests still in flight are cut off: close their connections,
		// so that none runs on after Serve returns (a publish then fails
		// and is answered 503, never 200). Logged here, because the
		// commands ignore what Serve returns once they are stopping.
		srv.Close()
		s.log.Error().Err(err).Dur("shutdown_timeout", s.shutdown).
			Msg("requests still in flight when the shutdown timeout ran out; closed their connections")
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	s.logStats("gateway stopped")
	if err != nil {
		return fmt.Errorf("gateway: shutdown: %w", err)
	}
	return nil
}

// Run is the gateway process: it connects to Redis and serves on :PORT
// until ctx ends.
func Run(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	opts, err := cfg.RedisOptions()
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	return New(cfg, log, rdb).Serve(ctx, ln)
}

// Stats counts the answers of the gateway since it started.
type Stats struct {
	Requests    int64 // event requests received
	Enqueued    int64 // events stored in the queue
	Duplicates  int64 // events already stored (Slack retries), answered 200
	Dropped     int64 // verified events the bot does not handle, answered 200
	Rejected    int64 // 4xx answers: bad signature, too large, malformed
	Unavailable int64 // 503 answers: the queue could not store the event

	// Publish counts the batches the events went to Redis in, and their
	// round trips: the mean round trip is most of an event's latency.
	Publish workqueue.PublishStats
}

// Non2xx is the number of event requests not answered with 2xx. Slack
// disables an app whose share of 2xx answers falls too low.
func (st Stats) Non2xx() int64 { return st.Rejected + st.Unavailable }

// MarshalZerologObject logs the counters.
func (st Stats) MarshalZerologObject(e *zerolog.Event) {
	e.Int64("requests", st.Requests).
		Int64("enqueued", st.Enqueued).
		Int64("duplicates", st.Duplicates).
		Int64("dropped", st.Dropped).
		Int64("rejected", st.Rejected).
		Int64("unavailable", st.Unavailable).
		Int64("non_2xx", st.Non2xx()).
		Int64("publish_batches", st.Publish.Batches).
		Float64("events_per_batch", st.Publish.EventsPerBatch()).
		Dur("publish_round_trip", st.Publish.MeanRoundTrip())
}

type counters struct {
	requests, enqueued, duplicates, dropped, rejected, unavailable atomic.Int64
}

// Stats returns the counters of the event endpoint.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:    s.stats.requests.Load(),
		Enqueued:    s.stats.enqueued.Load(),
		Duplicates:  s.stats.duplicates.Load(),
		Dropped:     s.stats.dropped.Load(),
		Rejected:    s.stats.rejected.Load(),
		Unavailable: s.stats.unavailable.Load(),
		Publish:     s.queue.PublishStats(),
	}
}

func (s *Server) logStats(msg string) {
	s.log.Info().Object("stats", s.Stats()).Msg(msg)
}

// Signature returns the X-Slack-Signature of body sent at timestamp (Unix
// seconds, as in X-Slack-Request-Timestamp) under secret: what Slack sends,
// for tests and the load tool.
func Signature(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	io.WriteString(mac, "v0:")
	io.WriteString(mac, timestamp)
	io.WriteString(mac, ":")
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// verifier holds a keyed HMAC and its scratch space, pooled so that checking
// a signature allocates nothing.
type verifier struct {
	mac  hash.Hash
	base []byte // "v0:{timestamp}:"
	sum  [sha256.Size]byte
	want [2 * sha256.Size]byte
	got  [2 * sha256.Size]byte
}

const sigPrefix = "v0="

// verify reports whether sig is the signature of body at timestamp ts.
// Without a secret it is false: anyone can sign with the empty key.
func (s *Server) verify(ts, sig string, body []byte) bool {
	if len(s.secret) == 0 || len(sig) != len(sigPrefix)+2*sha256.Size || sig[:len(sigPrefix)] != sigPrefix {
		return false
	}
	v := s.macs.Get().(*verifier)
	defer s.macs.Put(v)
	v.mac.Reset()
	// One Write from a reused buffer: the HMAC has no WriteString, so
	// io.WriteString would allocate a copy of each piece.
	v.base = append(append(append(v.base[:0], "v0:"...), ts...), ':')
	v.mac.Write(v.base)
	v.mac.Write(body)
	hex.Encode(v.want[:], v.mac.Sum(v.sum[:0]))
	copy(v.got[:], sig[len(sigPrefix):])
	return hmac.Equal(v.want[:], v.got[:])
}

// fresh reports whether the request timestamp ts (Unix seconds) is within
// MaxClockSkew of now.
func (s *Server) fresh(ts string) bool {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := s.now().Sub(time.Unix(sec, 0))
	return d <= MaxClockSkew && d >= -MaxClockSkew
}

// header returns the first value of a header whose canonical name is key,
// skipping Header.Get's canonicalisation.
func header(r *http.Request, key string) string {
	if v := r.Header[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// serveEvents is the Events API request URL.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	s.stats.requests.Add(1)

	body, status := readBody(r)
	switch status {
	case http.StatusRequestEntityTooLarge:
		s.reject(w, r, status, "body over 1 MiB")
		return
	case http.StatusBadRequest:
		s.reject(w, r, status, "cannot read the body")
		return
	}
	ts := header(r, "X-Slack-Request-Timestamp")
	if !s.fresh(ts) {
		s.reject(w, r, http.StatusUnauthorized, "missing, malformed or stale request timestamp")
		return
	}
	if !s.verify(ts, header(r, "X-Slack-Signature"), body) {
		s.reject(w, r, http.StatusUnauthorized, "missing or bad signature")
		return
	}

	p := s.parsers.Get()
	defer s.parsers.Put(p)
	// The parser is lenient (bad escapes, control characters and numbers
	// pass); the consumer's encoding/json is not. What it would refuse is
	// refused here, before it is stored.
	if fastjson.ValidateBytes(body) != nil {
		s.reject(w, r, http.StatusBadRequest, "malformed JSON")
		return
	}
	v, err := p.ParseBytes(body)
	if err != nil || v.Type() != fastjson.TypeObject {
		s.reject(w, r, http.StatusBadRequest, "malformed JSON")
		return
	}

	switch typ := v.GetStringBytes("type"); string(typ) {
	case "event_callback":
		s.serveCallback(w, r, v, body)
	case "url_verification":
		// Slack checks the request URL by asking for its challenge back.
		w.Header()["Content-Type"] = textPlain
		w.Write(v.GetStringBytes("challenge"))
		s.log.Info().Str("request_id", header(r, "X-Request-Id")).Msg("answered url_verification")
	case "app_rate_limited":
		// Slack stops sending events for a minute; nothing to store.
		s.stats.dropped.Add(1)
		s.log.Warn().Str("request_id", header(r, "X-Request-Id")).
			Int64("minute_rate_limited", v.GetInt64("minute_rate_limited")).
			Msg("Slack is rate limiting our events")
	default:
		s.stats.dropped.Add(1)
		s.log.Debug().Str("request_id", header(r, "X-Request-Id")).Bytes("type", typ).
			Msg("dropped a payload type we do not handle")
	}
}

var textPlain = []string{"text/plain; charset=utf-8"}

// serveCallback routes an event_callback to the stream of its kind.
func (s *Server) serveCallback(w http.ResponseWriter, r *http.Request, v *fastjson.Value, body []byte) {
	id := v.GetStringBytes("event_id")
	ev := v.Get("event")
	if len(id) == 0 || ev == nil || ev.Type() != fastjson.TypeObject {
		s.reject(w, r, http.StatusBadRequest, "event_callback without event_id or event")
		return
	}
	evType := ev.GetStringBytes("type")
	channelType := ev.GetStringBytes("channel_type")

	if app := v.GetStringBytes("api_app_id"); s.appID != "" && string(app) != s.appID {
		s.stats.dropped.Add(1)
		s.log.Warn().Str("request_id", header(r, "X-Request-Id")).Bytes("event_id", id).
			Bytes("api_app_id", app).Msg("dropped an event for another app")
		return
	}
	if team := v.GetStringBytes("team_id"); s.teamID != "" && string(team) != s.teamID && !s.authorized(v) {
		s.stats.dropped.Add(1)
		s.log.Warn().Str("request_id", header(r, "X-Request-Id")).Bytes("event_id", id).
			Bytes("team_id", team).Msg("dropped an event of another workspace")
		return
	}

	kind := route(evType, channelType)
	if kind == "" {
		s.stats.dropped.Add(1)
		s.log.Debug().Str("request_id", header(r, "X-Request-Id")).Bytes("event_id", id).
			Bytes("event_type", evType).Bytes("channel_type", channelType).
			Msg("dropped an event kind we do not handle")
		return
	}

	e := workqueue.Event{ID: string(id), Kind: kind, Body: body}
	retry := header(r, "X-Slack-Retry-Num")
	// No deadline of our own: the queue bounds a publish (and the Redis
	// client its reads and writes), and a per-request timer costs more
	// than the rest of the routing on the hot path.
	added, err := s.queue.Publish(r.Context(), e)
	if err != nil {
		s.stats.unavailable.Add(1)
		s.log.Error().Err(err).Str("request_id", header(r, "X-Request-Id")).
			Str("event_id", e.ID).Str("kind", kind).Str("retry_num", retry).
			Str("retry_reason", header(r, "X-Slack-Retry-Reason")).
			Msg("could not store the event; answering 503 so that Slack retries")
		http.Error(w, "could not store the event, please retry", http.StatusServiceUnavailable)
		return
	}
	if !added {
		s.stats.duplicates.Add(1)
		s.log.Info().Str("request_id", header(r, "X-Request-Id")).
			Str("event_id", e.ID).Str("kind", kind).Str("retry_num", retry).
			Str("retry_reason", header(r, "X-Slack-Retry-Reason")).
			Msg("dropped a duplicate event")
		return
	}
	s.stats.enqueued.Add(1)
	var le *zerolog.Event
	if retry != "" {
		// A retry we had not stored: the first delivery failed on our side.
		le = s.log.Info().Str("retry_num", retry).Str("retry_reason", header(r, "X-Slack-Retry-Reason"))
	} else {
		le = s.log.Debug()
	}
	if le != nil { // nil when the level is off: skip the lookups
		le.Str("request_id", header(r, "X-Request-Id")).Str("event_id", e.ID).Str("kind", kind).
			Bytes("subtype", ev.GetStringBytes("subtype")).Msg("enqueued")
	}
}

// authorized reports whether the installation an event is delivered for is
// in the workspace (or, for an org-wide install, the Enterprise Grid
// organization) s.teamID. In a channel another workspace shared with ours,
// the outer team_id is theirs (the channel's origin), while authorizations
// names the installation the event was delivered for: ours. Slack's Bolt
// SDKs read the installation from authorizations for the same reason.
func (s *Server) authorized(v *fastjson.Value) bool {
	for _, a := range v.GetArray("authorizations") {
		if string(a.GetStringBytes("team_id")) == s.teamID || string(a.GetStringBytes("enterprise_id")) == s.teamID {
			return true
		}
	}
	return false
}

// route returns the stream of an event, or "" when the bot does not handle it.
func route(evType, channelType []byte) string {
	switch string(evType) {
	case "message":
		switch string(channelType) {
		case "channel":
			return slackevent.MessageChannel
		case "im", "mpim", "group", "app_home":
			return slackevent.MessagePrivate
		}
	case "app_mention":
		return slackevent.AppMention
	case "team_join":
		return slackevent.TeamJoin
	case "member_joined_channel":
		return slackevent.MemberJoinedChannel
	}
	return ""
}

// preallocMax is the largest Content-Length readBody allocates for before
// the body arrives. Events are a few kilobytes; a larger body is read into
// memory that grows as its bytes come, so that a client claiming 1 MiB and
// sending nothing costs little more than its headers.
const preallocMax = 64 << 10

// readBody reads a body of at most MaxBodySize bytes, or returns the status
// to answer: 413 when it is larger, 400 when it cannot be read.
func readBody(r *http.Request) ([]byte, int) {
	if r.ContentLength > MaxBodySize {
		return nil, http.StatusRequestEntityTooLarge
	}
	if r.ContentLength >= 0 && r.ContentLength <= preallocMax {
		// The usual case: one allocation of the right size. The body is
		// not pooled, as the queue may still hold it after a cancelled
		// Publish returns.
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, http.StatusBadRequest
		}
		return body, 0
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodySize+1))
	switch {
	case err != nil:
		return nil, http.StatusBadRequest
	case len(body) > MaxBodySize:
		return nil, http.StatusRequestEntityTooLarge
	case r.ContentLength >= 0 && int64(len(body)) != r.ContentLength:
		return nil, http.StatusBadRequest // shorter than it said
	}
	return body, 0
}

// reject answers a 4xx and logs why.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, status int, why string) {
	s.stats.rejected.Add(1)
	s.log.Warn().Str("request_id", header(r, "X-Request-Id")).Int("status", status).
		Str("remote", r.RemoteAddr).Str("retry_num", header(r, "X-Slack-Retry-Num")).
		Str("reason", why).Msg("rejected a request")
	http.Error(w, why, status)
}

func serveHealthz(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "ok\n")
}

func serveRUOK(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "imok")
}

// serveReadyz answers 200 when Redis takes a small write: a gateway that
// cannot store events should be taken out of rotation.
func (s *Server) serveReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	// A write, not a PING: a Redis at its memory limit answers PING but
	// refuses every write, and storing events is the gateway's job.
	if err := s.rdb.Set(ctx, readyKey, 1, 10*time.Second).Err(); err != nil {
		if _, refused := errors.AsType[redis.Error](err); refused {
			s.log.Warn().Err(err).Str("request_id", header(r, "X-Request-Id")).Msg("not ready: Redis refuses writes")
			http.Error(w, "redis refuses writes", http.StatusServiceUnavailable)
			return
		}
		s.log.Warn().Err(err).Str("request_id", header(r, "X-Request-Id")).Msg("not ready: Redis does not answer")
		http.Error(w, "redis unreachable", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

// readyKey is the key /readyz writes to check that Redis takes writes.
const readyKey = "gopherbot:readyz"

// httpErrorLog sends net/http's own errors (TLS, bad requests) to zerolog.
type httpErrorLog struct{ log zerolog.Logger }

func (h httpErrorLog) Write(p []byte) (int, error) {
	n := len(p)
	if n > 0 && p[n-1] == '\n' {
		p = p[:n-1]
	}
	h.log.Warn().Str("component", "net/http").Msg(string(p))
	return n, nil
}
