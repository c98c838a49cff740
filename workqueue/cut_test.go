package workqueue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/logtest"
	"github.com/gophers/gopherbot/internal/redistest"
	"github.com/gophers/gopherbot/internal/slackevent"
)

// When the connection drops after Redis ran a script but before its reply
// came, go-redis sends the script again. The scripts that change an
// entry's delivery count or move it must give the same outcome the second
// time, not count twice or report what the first run did as not done.

// cutQueue starts a Redis behind a proxy that can cut a reply, and returns
// the proxy, a client that talks through it, and a queue with opts on that
// client. script is loaded, so that its runs are EVALSHAs, which p.Arm can
// match by the script's hash.
func cutQueue(t *testing.T, opts Options, script *redis.Script) (p *redistest.CutProxy, rdb *redis.Client, q *Queue, lb *logtest.Buffer) {
	t.Helper()
	p = redistest.Start(t).NewCutProxy(t)
	rdb = p.Client()
	q, lb = newQueue(t, rdb, opts)
	if err := script.Load(context.Background(), rdb).Err(); err != nil {
		t.Fatal(err)
	}
	return p, rdb, q, lb
}

// readPending publishes ev to q and reads it as consumer "c", which leaves
// it pending. It returns the entry's stream key and ID, and a consumer of q
// to settle it with.
func readPending(t *testing.T, rdb *redis.Client, q *Queue, ev Event) (key, id string, c *consumer) {
	t.Helper()
	key = q.StreamKey(ev.Kind)
	mustPublish(t, q, ev)
	id = readOne(t, rdb, q, key, "c")
	return key, id, &consumer{q: q, log: q.log}
}

// A retry's claim whose reply is lost counts one delivery, not two: the
// entry's last attempt still runs instead of being dead-lettered as
// delivered too often.
func TestRetryClaimReplyLost(t *testing.T) {
	ctx := context.Background()
	kinds := []string{slackevent.TeamJoin}
	opts := fastOptions("c")
	opts.MaxDeliveries = 2
	p, rdb, q, _ := cutQueue(t, opts, ownClaimScript)
	var mu sync.Mutex
	var attempts []int
	rec := newRecorder(func(ctx context.Context, d *Delivery) error {
		mu.Lock()
		attempts = append(attempts, d.Attempt)
		mu.Unlock()
		if d.Attempt == 1 {
			p.Arm("evalsha", ownClaimScript.Hash(), "claim")
			return errors.New("slack answered 500")
		}
		return nil
	})
	consume(t, q, kinds, rec)
	mustPublish(t, q, Event{ID: "EvCut", Kind: kinds[0], Body: []byte("x")})
	waitUntil(t, "the entry is settled", func() bool {
		return rec.n() >= 2 || rdb.XLen(ctx, q.DeadLetterKey()).Val() > 0
	})
	waitIdle(t, q, kinds)
	if p.Cuts() != 1 {
		t.Fatalf("%d replies cut; want the retry's claim cut once", p.Cuts())
	}
	dl, _ := q.DeadLetters(ctx, 10)
	mu.Lock()
	defer mu.Unlock()
	if len(dl) != 0 || fmt.Sprint(attempts) != "[1 2]" {
		reason := ""
		if len(dl) > 0 {
			reason = dl[0].Reason
		}
		t.Errorf("ran with attempts %v, %d dead letters (%q); want attempts [1 2] and no dead letter",
			attempts, len(dl), reason)
	}
}

// Taking back a delivery for ErrNotAttempted, with its reply lost, takes
// back that one delivery only.
func TestUncountReplyLost(t *testing.T) {
	ctx := context.Background()
	kind := slackevent.TeamJoin
	p, rdb, q, _ := cutQueue(t, fastOptions("c"), ownClaimScript)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h := HandlerFunc(func(_ context.Context, d *Delivery) error {
		if d.Attempt == 1 {
			return errors.New("slack answered 500")
		}
		p.Arm("evalsha", ownClaimScript.Hash(), "uncount")
		cancel()
		return fmt.Errorf("slack: token rejected: %w", ErrNotAttempted)
	})
	mustPublish(t, q, Event{ID: "EvCut", Kind: kind, Body: []byte("x")})
	if err := q.Consume(cctx, []string{kind}, h); err != nil {
		t.Fatal(err)
	}
	if p.Cuts() != 1 {
		t.Fatalf("%d replies cut; want the uncount cut once", p.Cuts())
	}
	pend := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: q.StreamKey(kind), Group: q.opts.Group, Start: "-", End: "+", Count: 10}).Val()
	if len(pend) != 1 || pend[0].RetryCount != 1 {
		t.Errorf("pending %+v; want the entry pending with 1 delivery: the failed first attempt counts, the second is taken back", pend)
	}
}

// A dead letter whose reply is lost is counted and logged as moved, once.
func TestDeadLetterReplyLost(t *testing.T) {
	ctx := context.Background()
	p, rdb, q, lb := cutQueue(t, fastOptions("c"), deadLetterScript)
	ev := Event{ID: "EvPoison", Kind: slackevent.TeamJoin, Body: []byte(`{}`)}
	key, id, c := readPending(t, rdb, q, ev)
	p.Arm("evalsha", deadLetterScript.Hash())
	c.deadLetter(ctx, c.log, key, id, ev, 1, "permanent error: bad")
	if p.Cuts() != 1 {
		t.Fatalf("%d replies cut; want the dead-lettering cut once", p.Cuts())
	}
	if n := rdb.XLen(ctx, q.DeadLetterKey()).Val(); n != 1 {
		t.Fatalf("%d dead letters; want 1", n)
	}
	if got := q.deadLettered.Load(); got != 1 || !strings.Contains(lb.String(), "entry moved to the dead-letter stream") {
		t.Errorf("DeadLettered = %d, logs:\n%s\nwant 1 and a line saying the entry was moved", got, lb.String())
	}
}

// An acknowledgement whose reply is lost is counted once, and the log does
// not blame another consumer for finishing the entry.
func TestAckReplyLost(t *testing.T) {
	ctx := context.Background()
	p, rdb, q, lb := cutQueue(t, fastOptions("c"), ackScript)
	key, id, c := readPending(t, rdb, q, Event{ID: "EvDone", Kind: slackevent.TeamJoin, Body: []byte(`{}`)})
	p.Arm("evalsha", ackScript.Hash())
	c.ack(ctx, c.log, key, id)
	if p.Cuts() != 1 {
		t.Fatalf("%d replies cut; want the acknowledgement cut once", p.Cuts())
	}
	if n := rdb.XLen(ctx, key).Val(); n != 0 || q.acked.Load() != 1 {
		t.Fatalf("stream length %d, Acked %d; want the entry deleted and counted once", n, q.acked.Load())
	}
	if strings.Contains(lb.String(), "another consumer had already finished") {
		t.Errorf("the log says another consumer finished the entry, which only this one ran:\n%s", lb.String())
	}
}
