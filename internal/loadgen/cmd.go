package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/gateway"
	"github.com/gophers/gopherbot/workqueue"
)

const usage = `usage: loadgen [flags] (-url URL | -baseline | -self -redis URL | -compare -redis URL | -e2e -redis URL)

Sends pre-signed Slack events over keep-alive connections and prints
throughput, latency percentiles and the answers by status.

  -url URL       measure a running gateway (its SLACK_SIGNING_SECRET from the environment)
  -baseline      measure an in-process bare net/http handler that only reads the body
  -self          measure the real gateway in-process, on the Redis given by -redis
  -compare       -baseline then -self in one run, and print their throughput ratio
  -e2e           end to end, in-process: the real gateway, one real consumer and the
                 fake Slack Web API on the Redis given by -redis (which must hold no
                 unhandled events). Every event is a DM ("d/example.com/e<n>") from one
                 of -users people; its answer is matched to it in the fake Slack.
                 -rate R (> 0): offer R events/s open loop for -d after -warmup events;
                 latency from each event's scheduled send time to its answer in Slack.
                 -rate 0: queue -n events through the gateway, then start the consumer;
                 its steady rate (10% to 90% answer) against a post-only baseline.

With -baseline, -self or -compare, -split pins the Redis server (which must
run on this machine) to the last CPU and this process to the others, for
both runs, as in production, where Redis has a host of its own. It puts the
CPUs back when it ends.

Targets must be on a loopback address.

`

// Command is the load tool's main: args are the command-line arguments
// without the program name, secret the signing secret of a -url target.
func Command(ctx context.Context, args []string, secret string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	var (
		target   = fs.String("url", "", "Events API URL of a running gateway")
		baseline = fs.Bool("baseline", false, "measure a bare in-process handler")
		self     = fs.Bool("self", false, "measure the gateway in-process")
		compare  = fs.Bool("compare", false, "baseline, then gateway, and their ratio")
		e2e      = fs.Bool("e2e", false, "gateway, Redis, one consumer and the fake Slack, end to end")
		redisURL = fs.String("redis", "", "redis:// URL for -self, -compare and -e2e (loopback)")
		rate     = fs.Float64("rate", 500, "-e2e: events offered per second; 0 measures the consumer's throughput")
		users    = fs.Int("users", 0, "-e2e: simulated people, one DM each (0: 2 × rate, at least 1000; 10000 for -rate 0)")
		handlers = fs.Int("handlers", 0, "-e2e: the consumer's handlers in flight (0: CONSUMER_CONCURRENCY's default)")
		grace    = fs.Duration("grace", 5*time.Second, "-e2e: wait this long without a new answer before counting the rest lost")
		conns    = fs.Int("c", 16, "concurrent keep-alive connections")
		count    = fs.Int("n", 100000, "events to send (after the warm-up)")
		dur      = fs.Duration("d", 20*time.Second, "stop after this long even if -n is not reached (-e2e: send for this long; default 10s)")
		warmup   = fs.Int("warmup", 2000, "events sent first and not measured")
		cpuprof  = fs.String("cpuprofile", "", "write a CPU profile of the measured runs to this file")
		logLevel = fs.String("log-level", "warn", "log level of the in-process gateway")
		split    = fs.Bool("split", false, "-baseline, -self, -compare: give Redis the last CPU and this process the others (Linux)")
	)
	fs.DurationVar(dur, "duration", *dur, "the same as -d")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	modes := 0
	for _, on := range []bool{*target != "", *baseline, *self, *compare, *e2e} {
		if on {
			modes++
		}
	}
	if modes != 1 || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("loadgen: give exactly one of -url, -baseline, -self, -compare, -e2e")
	}
	if *split && !*baseline && !*self && !*compare {
		return errors.New("loadgen: -split goes with -baseline, -self or -compare")
	}
	if (*self || *compare || *e2e) && *redisURL == "" {
		return errors.New("loadgen: -self, -compare and -e2e need -redis redis://127.0.0.1:PORT")
	}
	if *redisURL != "" {
		if err := CheckLoopback(*redisURL); err != nil {
			return err
		}
	}
	lvl, err := zerolog.ParseLevel(*logLevel)
	if err != nil {
		return fmt.Errorf("loadgen: -log-level: %w", err)
	}
	log := zerolog.New(stderr).Level(lvl).With().Timestamp().Logger()

	opts := Options{Conns: *conns, Count: *count, Duration: *dur, Warmup: *warmup, Secret: []byte(secret)}
	if *target == "" {
		// In-process targets get a fresh secret: nothing to configure.
		b := make([]byte, 16)
		rand.Read(b)
		opts.Secret = []byte(hex.EncodeToString(b))
	}

	// The profile covers the measured runs; -e2e starts it when its
	// measured phase starts, after the set-up.
	startProfile := func() {}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			return fmt.Errorf("loadgen: %w", err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile() // harmless when it did not start
		startProfile = func() {
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintf(stderr, "loadgen: no CPU profile: %v\n", err)
			}
		}
	}

	if *e2e {
		o := E2EOptions{
			RedisURL: *redisURL, Rate: *rate, Duration: 10 * time.Second, Count: 20000,
			Warmup: int(math.Round(*rate)), Users: *users, Conns: *conns, Grace: *grace,
			Concurrency: *handlers, Log: log.With().Str("proc", "e2e").Logger(),
			OnStart: startProfile,
		}
		if set["d"] || set["duration"] {
			o.Duration = *dur
		}
		if set["n"] {
			o.Count = *count
		}
		if set["warmup"] {
			o.Warmup = *warmup
		}
		return commandE2E(ctx, o, stdout)
	}

	var rdb *redis.Client
	if *redisURL != "" {
		ropts, err := redis.ParseURL(*redisURL)
		if err != nil {
			return errors.New("loadgen: -redis: cannot parse the URL")
		}
		rdb = redis.NewClient(ropts)
		defer rdb.Close()
	}

	placement := ""
	if *split {
		pid := 0
		if rdb != nil {
			if pid = redisPID(ctx, rdb); pid == 0 {
				return errors.New("loadgen: -split: cannot find the Redis server's process on this machine " +
					"(a local redis-server of this user whose process_id holds the listening socket of its tcp_port)")
			}
		}
		p, restore, err := SplitCores(pid)
		if err != nil {
			return err
		}
		defer func() {
			if err := restore(); err != nil {
				fmt.Fprintf(stderr, "loadgen: putting back the CPUs: %v\n", err)
			}
		}()
		placement = "; " + p
	}
	pinned := ""
	if !*split && rdb != nil {
		// A -split run killed by SIGKILL (or a crash) leaves Redis on
		// one CPU: then it does not share the cores, whatever the
		// verdict line would say.
		if pid := redisPID(ctx, rdb); pid > 0 {
			if pinned = pinnedNote(pid); pinned != "" {
				pinned += " (left pinned by an interrupted -split? taskset -a -p puts it back)"
				placement = "; " + pinned
			}
		}
	}

	if rdb != nil {
		// How fast this machine wakes an idle process: most of what one
		// batch's round trip costs beyond the script, and the figure that
		// differed most between machines of the same kind.
		if rtt, err := pingRoundTrip(ctx, rdb, 200); err == nil {
			fmt.Fprintf(stdout, "Redis PING round trip, one at a time: median %v\n", ms(rtt))
		}
	}
	startProfile()
	fmt.Fprintf(stdout, "GOMAXPROCS=%d, %d connections, %d events (+%d warm-up), at most %v%s\n",
		runtime.GOMAXPROCS(0), opts.Conns, opts.Count, opts.Warmup, opts.Duration, placement)
	// cpu/req is this process's CPU time (sender and in-process server) per
	// request; redis/req the Redis server's, for -self and -compare.
	const format = "%-8s %9v %6v %8v %7v %8v %8v %8v %8v %8v %9v  %v\n"
	fmt.Fprintf(stdout, format, "target", "requests", "errors", "elapsed", "req/s", "p50", "p90", "p99", "max", "cpu/req", "redis/req", "statuses")
	row := func(name string, r Result, redisPerReq time.Duration) {
		rp := "-"
		if redisPerReq > 0 {
			rp = ms(redisPerReq).String()
		}
		fmt.Fprintf(stdout, format, name, r.Requests, r.Errors, r.Elapsed.Round(time.Millisecond),
			int(r.Throughput()), ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max), ms(r.CPUPerRequest()), rp, statuses(r.Statuses))
	}

	var gwSrv *gateway.Server // set by gw
	var pubLine string        // the gateway's publish batches, printed last
	defer func() { fmt.Fprint(stdout, pubLine) }()
	measure := func(name string, start func() (string, func() error, error)) (r Result, err error) {
		onRedis := rdb != nil && name == "gateway"
		if onRedis {
			// Every run starts from an idle queue and leaves one.
			if err := checkIdle(ctx, rdb, log); err != nil {
				return Result{}, err
			}
			defer func() {
				if r.IDPrefix == "" {
					return // nothing was sent
				}
				if rerr := removeRun(context.WithoutCancel(ctx), rdb, r.IDPrefix); rerr != nil && err == nil {
					err = rerr
				}
			}()
		}
		u, stop, err := start()
		if err != nil {
			return Result{}, err
		}
		o := opts
		o.URL = u
		var redis0 time.Duration
		var pub0 workqueue.PublishStats
		var script0 time.Duration
		if onRedis {
			o.OnStart = func() {
				redis0 = redisCPU(ctx, rdb)
				script0 = scriptTime(ctx, rdb)
				pub0 = gwSrv.Stats().Publish
			}
		}
		r, err = Run(ctx, o)
		var redisPerReq time.Duration
		if onRedis && r.Requests > 0 {
			redisPerReq = (redisCPU(ctx, rdb) - redis0) / time.Duration(r.Requests)
			pub := gwSrv.Stats().Publish.Sub(pub0)
			// Where the gateway's latency goes: an event may wait for a
			// batch in flight, then for its own.
			pubLine = fmt.Sprintf("gateway publish: %.1f events a batch, %v mean round trip to Redis (%d batches)",
				pub.EventsPerBatch(), ms(pub.MeanRoundTrip()), pub.Batches)
			if d := scriptTime(ctx, rdb) - script0; d > 0 && pub.Batches > 0 {
				pubLine += fmt.Sprintf(", of which Redis ran the script %v", ms(d/time.Duration(pub.Batches)))
			}
			pubLine += "\n"
		}
		if serr := stop(); err == nil && serr != nil {
			err = fmt.Errorf("loadgen: stop %s: %w", name, serr)
		}
		if err != nil {
			return r, err
		}
		row(name, r, redisPerReq)
		return r, nil
	}
	bare := func() (string, func() error, error) { return StartBare(ctx) }
	gw := func() (string, func() error, error) {
		u, srv, stop, err := StartGateway(ctx, *redisURL, opts.Secret, log.With().Str("proc", "gateway").Logger())
		gwSrv = srv
		return u, stop, err
	}

	switch {
	case *target != "":
		_, err = measure("target", func() (string, func() error, error) { return *target, func() error { return nil }, nil })
	case *baseline:
		_, err = measure("baseline", bare)
	case *self:
		_, err = measure("gateway", gw)
	case *compare:
		var b, g Result
		if b, err = measure("baseline", bare); err != nil {
			break
		}
		if g, err = measure("gateway", gw); err != nil {
			break
		}
		ratio := g.Throughput() / b.Throughput()
		fmt.Fprintf(stdout, "gateway/baseline throughput: %.1f%%; gateway p99 %v\n", 100*ratio, ms(g.P99))
		met := "met"
		switch {
		case !allOK(b) || !allOK(g):
			// A refused or failed request is no throughput: the figures
			// above do not measure what the target is about.
			met = "NOT met (not every request was answered 200)"
		case ratio < 0.60 || g.P99 >= 5*time.Millisecond:
			met = "NOT met"
		}
		where := "Redis sharing these cores; -split gives it one of its own"
		if *split {
			where = "Redis on a core of its own"
		} else if pinned != "" {
			where = pinned
		}
		fmt.Fprintf(stdout, "target (>= 60%% of baseline, p99 < 5ms; %s): %s\n", where, met)
	}
	return err
}

// commandE2E runs -e2e and prints its report.
func commandE2E(ctx context.Context, o E2EOptions, stdout io.Writer) error {
	users := o.Users
	if users == 0 {
		users = DefaultUsers(o.Rate)
	}
	fmt.Fprintf(stdout, "GOMAXPROCS=%d; in-process gateway, one consumer and the fake Slack on Redis %s; %d people, one DM each\n",
		runtime.GOMAXPROCS(0), strings.TrimPrefix(o.RedisURL, "redis://"), users)
	if o.Rate > 0 {
		fmt.Fprintf(stdout, "offering %g events/s for %v (+%d warm-up events), open loop over %d connections\n",
			o.Rate, o.Duration, o.Warmup, max(o.Conns, 1))
	} else {
		fmt.Fprintf(stdout, "queueing %d events through the gateway, then starting the consumer\n", o.Count)
	}
	load0 := loadAverage()
	r, err := RunE2E(ctx, o)
	if err != nil {
		return err
	}
	if load0 != "" {
		// Other work on the machine shows in every figure below.
		fmt.Fprintf(stdout, "machine load (1-minute average, %d CPUs): %s before, %s after\n", runtime.NumCPU(), load0, loadAverage())
	}
	const format = "%-8s %7v %8v %8v %8v %8v\n"
	if o.Rate > 0 {
		// accept: the gateway's answer to the same requests, the baseline;
		// answer: the fake Slack receiving the bot's answer. Both from the
		// event's scheduled send time.
		fmt.Fprintf(stdout, format, "stage", "events", "p50", "p90", "p99", "max")
		for _, row := range []struct {
			name string
			d    Dist
		}{{"accept", r.Accept}, {"answer", r.Answer}} {
			fmt.Fprintf(stdout, format, row.name, row.d.N, ms(row.d.P50), ms(row.d.P90), ms(row.d.P99), ms(row.d.Max))
		}
	}
	fmt.Fprintf(stdout, "events %d, gateway %s, no answer from it %d; answered %d, lost %d, duplicates %d, unexpected posts %d\n",
		r.Events, statuses(r.Statuses), r.Errors, r.Answered, r.Lost, r.Duplicates, r.Unexpected)
	fmt.Fprintf(stdout, "cpu/event %v (this process), redis/event %v\n", ms(r.CPUPerEvent()), ms(r.RedisPerEvent()))
	if r.Waited > 0 || r.RedisWaited > 0 {
		// Time runnable but not running: other people's work on a shared
		// machine, or more threads than cores.
		fmt.Fprintf(stdout, "waited for a CPU while runnable, per event: this process %v, Redis %v\n",
			ms(per(r.Waited, r.Answered)), ms(per(r.RedisWaited, r.Answered)))
	}
	if o.Rate > 0 {
		fmt.Fprintf(stdout, "answers %.0f/s while measured (offered %g/s); answer/accept p99: %.1f×\n",
			r.Steady, o.Rate, ratio(r.Answer.P99, r.Accept.P99))
		met := "met"
		if r.Answer.P99 >= 25*time.Millisecond || r.Lost > 0 || r.Duplicates > 0 || !r.allStored() || r.Answer.N == 0 || o.Rate < 500 {
			met = "NOT met"
		}
		fmt.Fprintf(stdout, "target (p99 < 25ms at 500 events/s offered, none lost): %s\n", met)
		return nil
	}
	if r.Lost > 0 {
		fmt.Fprintln(stdout, "note: the consumer drops messages older than 30s when it gets to them; queue fewer (-n) if the lost ones were stale")
	}
	fmt.Fprintf(stdout, "queued in %v; post-only baseline %.0f posts/s\n", r.Queued.Round(time.Millisecond), r.PostOnly)
	fmt.Fprintf(stdout, "one consumer: %.0f events/s steady (10%%..90%%), all answered in %v; consumer/post-only %.1f%%\n",
		r.Steady, r.Elapsed.Round(time.Millisecond), 100*r.Steady/r.PostOnly)
	if cpu := r.CPUPerEvent() + r.RedisPerEvent(); cpu > 0 {
		// Not a measurement: what the CPU per event would allow if this
		// process (with the fake Slack) and Redis had the cores to themselves.
		fmt.Fprintf(stdout, "CPU-bound ceiling: %.0f events/s on %d cores at %v per event (this process + Redis)\n",
			float64(runtime.GOMAXPROCS(0))*float64(time.Second)/float64(cpu), runtime.GOMAXPROCS(0), ms(cpu))
	}
	met := "met"
	if r.Steady < 2000 || r.Lost > 0 || r.Duplicates > 0 || !r.allStored() {
		met = "NOT met"
	}
	fmt.Fprintf(stdout, "target (>= 2000 events/s, none lost): %s\n", met)
	return nil
}

// loadAverage is the machine's 1-minute load average, or "" where there is
// no /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ms rounds a latency for printing.
func ms(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d.Round(10 * time.Nanosecond)
}

func statuses(m map[int]int) string {
	var keys []int
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// serverTimeouts are the gateway's http.Server timeouts, given to the
// baseline too so that the comparison isolates the handler's work.
func serverTimeouts(s *http.Server) *http.Server {
	s.ReadHeaderTimeout = 5 * time.Second
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.IdleTimeout = 120 * time.Second
	return s
}

// allOK reports whether every request of r got an answer, and a 200.
func allOK(r Result) bool {
	return r.Requests > 0 && r.Errors == 0 && r.Statuses[http.StatusOK] == r.Requests
}

// StartBare serves BareHandler on a free loopback port and returns its
// URL and a function that stops it (calling it again is harmless).
func StartBare(ctx context.Context) (string, func() error, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("loadgen: %w", err)
	}
	srv := serverTimeouts(&http.Server{Handler: BareHandler()})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	stop := sync.OnceValue(func() error {
		err := srv.Shutdown(context.WithoutCancel(ctx))
		if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
			return serr
		}
		return err
	})
	return "http://" + ln.Addr().String() + "/slack/events", stop, nil
}

// StartGateway runs the real gateway on a free loopback port against the
// Redis at redisURL and returns its Events API URL, the gateway (for its
// Stats) and a function that stops it (calling it again is harmless).
func StartGateway(ctx context.Context, redisURL string, secret []byte, log zerolog.Logger) (string, *gateway.Server, func() error, error) {
	cfg := config.Config{
		RedisURL:           redisURL,
		SlackSigningSecret: string(secret),
		DedupTTL:           15 * time.Minute,
		StreamMaxLen:       100000,
		ShutdownTimeout:    5 * time.Second,
	}
	ropts, err := cfg.RedisOptions()
	if err != nil {
		return "", nil, nil, fmt.Errorf("loadgen: -redis: %w", err)
	}
	rdb := redis.NewClient(ropts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return "", nil, nil, fmt.Errorf("loadgen: Redis at %s: %w", ropts.Addr, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		rdb.Close()
		return "", nil, nil, fmt.Errorf("loadgen: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	srv := gateway.New(cfg, log, rdb)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(sctx, ln) }()
	stop := sync.OnceValue(func() error {
		cancel()
		err := <-errc
		rdb.Close()
		return err
	})
	return "http://" + ln.Addr().String() + "/slack/events", srv, stop, nil
}

// redisInfo returns the "key:value" lines of INFO section as a map, or nil
// when Redis does not answer.
func redisInfo(ctx context.Context, rdb *redis.Client, section string) map[string]string {
	info, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// pingRoundTrip is the median time of n PINGs sent one after another.
func pingRoundTrip(ctx context.Context, rdb *redis.Client, n int) (time.Duration, error) {
	d := make([]time.Duration, n)
	for i := range d {
		start := time.Now()
		if err := rdb.Ping(ctx).Err(); err != nil {
			return 0, err
		}
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	return d[n/2], nil
}

// redisPID is the process ID of the Redis server at rdb when it runs on
// this machine (it is on a loopback address) and /proc shows it, else 0.
func redisPID(ctx context.Context, rdb *redis.Client) int {
	info := redisInfo(ctx, rdb, "server")
	pid, _ := strconv.Atoi(info["process_id"])
	port, _ := strconv.Atoi(info["tcp_port"])
	if pid <= 0 || port <= 0 {
		return 0
	}
	// process_id is a number in Redis's own PID namespace (a container,
	// or another host behind a tunnel on a loopback port): here it may
	// be someone else's, even another Redis. Only the process that holds
	// Redis's listening socket in this network namespace is the one.
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err == nil && strings.Contains(string(comm), "redis") && listensOn(pid, port) {
		return pid
	}
	return 0
}

// scriptTime is the time Redis has spent running scripts called with
// EVALSHA (INFO commandstats), or 0.
func scriptTime(ctx context.Context, rdb *redis.Client) time.Duration {
	// cmdstat_evalsha:calls=9375,usec=618750,usec_per_call=66.00,...
	for f := range strings.SplitSeq(redisInfo(ctx, rdb, "commandstats")["cmdstat_evalsha"], ",") {
		if v, ok := strings.CutPrefix(f, "usec="); ok {
			us, _ := strconv.ParseInt(v, 10, 64)
			return time.Duration(us) * time.Microsecond
		}
	}
	return 0
}

// redisCPU is the CPU time the Redis server has used, from INFO cpu, or 0.
func redisCPU(ctx context.Context, rdb *redis.Client) time.Duration {
	info := redisInfo(ctx, rdb, "cpu")
	sys, _ := strconv.ParseFloat(info["used_cpu_sys"], 64)
	user, _ := strconv.ParseFloat(info["used_cpu_user"], 64)
	return time.Duration((sys + user) * float64(time.Second))
}
