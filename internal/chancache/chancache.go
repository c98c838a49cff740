// Package chancache maps channel names to IDs and back, through Redis, for
// every consumer process.
//
// Settings name channels (the newbies channel, the welcome list, the
// playground deny-list) while Slack's events and methods speak IDs. The
// bgtasks process fills the cache with a full conversations.list on an
// interval (Refresh); consumers read it, and on a miss ask Slack themselves
// (conversations.list by name, conversations.info by ID) and cache the
// answer, so a channel created since the last refresh works at once.
//
// Keys: the hash gopherbot:channels:byname maps name to ID;
// gopherbot:channels:byid maps ID to the JSON {"id","name","is_private"}.
// A name that a full listing did not find is remembered as missing for
// missTTL (gopherbot:channels:missing:<name>), so a misspelt setting does not
// page through the whole workspace on every event. A channel created since is
// found all the same once a refresh or another listing has cached its name:
// the names are looked at before the marker.
//
// A process runs one such listing at a time, and every name that misses
// meanwhile waits for it rather than starting its own: conversations.list is
// a tier 2 method, and a big workspace takes dozens of pages. The listing
// goes on when the caller that started it gives up (a handler's deadline is
// shorter than a big workspace's listing under rate limits), so that what it
// finds is cached for the caller's retry instead of being started over.
package chancache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/gophers/gopherbot/internal/slackapi"
)

// Redis keys.
const (
	KeyByName     = "gopherbot:channels:byname"
	KeyByID       = "gopherbot:channels:byid"
	keyMissPrefix = "gopherbot:channels:missing:"
)

// PageLimit is the page size asked of conversations.list: Slack's
// recommendation for tier 2 methods.
const PageLimit = 200

// ErrNotFound is wrapped when Slack has no channel of that name or ID that
// the bot can see.
var ErrNotFound = errors.New("channel not found")

// Lister is what the cache needs of Slack; *slackapi.Client has it.
type Lister interface {
	ListChannels(ctx context.Context, cursor string, limit int) ([]slackapi.Channel, string, error)
	ChannelInfo(ctx context.Context, id string) (slackapi.Channel, error)
}

var _ Lister = (*slackapi.Client)(nil)

// Channel is a cached channel.
type Channel struct {
	ID        string `json:"id"`
	Name      string `json:"name"` // empty for a DM
	IsPrivate bool   `json:"is_private"`
}

// listTimeout bounds a listing made for a name that missed: long enough
// for a workspace of ten thousand channels paged at tier 2 rate limits.
const listTimeout = 5 * time.Minute

// missTTL is how long a name a listing did not find is remembered as
// missing. It outlives the longest listing: a shorter marker would lapse
// while a big workspace is listed again for the same misspelt setting, and
// the process would list over and over.
const missTTL = 2 * listTimeout

// Cache is the channel cache. It is safe for concurrent use.
type Cache struct {
	rdb redis.UniversalClient
	api Lister
	log zerolog.Logger

	mu       sync.Mutex
	listing  *listing       // the listing for names that missed, while it runs
	listings sync.WaitGroup // the listings' goroutines
}

// listing is a full conversations.list that names that missed wait on.
type listing struct {
	// wanted counts the callers still owed an answer (under Cache.mu): one
	// that found its name is answered, one that gave up is not (its retry
	// will look). With none left the listing stops early, as a look-up
	// that finds its name on the first page need not list the rest.
	wanted int
	// cancel stops the listing (Close).
	cancel context.CancelFunc

	mu      sync.Mutex
	seen    map[string]string // name -> ID, of the pages listed so far
	changed chan struct{}     // closed, and replaced, at each page and at the end
	done    bool
	err     error
}

// New returns a cache in rdb that asks api on a miss.
func New(rdb redis.UniversalClient, api Lister, log zerolog.Logger) *Cache {
	return &Cache{rdb: rdb, api: api, log: log.With().Str("component", "chancache").Logger()}
}

// normalize turns "#General" into "general": Slack's names are lower case.
func normalize(name string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(name), "#"))
}

// channelID matches a conversation ID. Slack's names are lower case, but a
// setting may give one in capitals (GENERAL), which this matches too: ID
// looks at the cached names first.
var channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{6,}$`)

// Store replaces the cache with chans, the result of a full listing: names
// that are no longer there (renamed, archived, deleted) go. DMs and archived
// channels are left out.
func (c *Cache) Store(ctx context.Context, chans []slackapi.Channel) error {
	byName, byID := map[string]any{}, map[string]any{}
	for _, ch := range chans {
		if ch.IsIM || ch.IsArchived || ch.Name == "" {
			continue
		}
		b, err := json.Marshal(Channel{ID: ch.ID, Name: ch.Name, IsPrivate: ch.IsPrivate})
		if err != nil {
			return fmt.Errorf("chancache: store: %w", err)
		}
		byName[ch.Name] = ch.ID
		byID[ch.ID] = b
	}
	// One transaction: readers see the old cache or the new one, never
	// an empty one in between.
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, KeyByName, KeyByID)
		if len(byName) > 0 {
			p.HSet(ctx, KeyByName, byName)
			p.HSet(ctx, KeyByID, byID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("chancache: store: %w", err)
	}
	return nil
}

// add caches channels seen on the way, without dropping others.
func (c *Cache) add(ctx context.Context, chans ...slackapi.Channel) error {
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, ch := range chans {
			if ch.IsArchived || ch.ID == "" {
				continue
			}
			b, err := json.Marshal(Channel{ID: ch.ID, Name: ch.Name, IsPrivate: ch.IsPrivate})
			if err != nil {
				return err
			}
			p.HSet(ctx, KeyByID, ch.ID, b)
			if ch.Name != "" && !ch.IsIM {
				p.HSet(ctx, KeyByName, ch.Name, ch.ID)
			}
		}
		return nil
	})
	return err
}

// Refresh lists every channel the bot can see, page by page, and replaces
// the cache with them. A 429 in the middle of the listing is waited out and
// the listing resumes from the same cursor (inside slackapi); if the listing
// fails, the cache is left as it was. It returns how many channels it found.
func (c *Cache) Refresh(ctx context.Context) (int, error) {
	var all []slackapi.Channel
	pages := 0
	for cursor := ""; ; {
		chans, next, err := c.api.ListChannels(ctx, cursor, PageLimit)
		if err != nil {
			return 0, fmt.Errorf("chancache: refresh, page %d: %w", pages+1, err)
		}
		pages++
		all = append(all, chans...)
		if next == "" {
			break
		}
		cursor = next
	}
	if err := c.Store(ctx, all); err != nil {
		return 0, err
	}
	c.log.Info().Int("channels", len(all)).Int("pages", pages).Msg("channel cache refreshed")
	return len(all), nil
}

// ID returns the ID of the channel with the name ('#' optional, any case).
// On a miss it waits for a listing of conversations.list (the one in
// progress, or a new one) until the name shows up; the listing caches what
// it sees. A name Slack does not have is ErrNotFound. A channel ID is
// returned as it is once Slack knows it, so settings may name channels
// either way. A name in capitals that looks like an ID (GENERAL) is a name
// when the cache knows it as one or Slack has no such ID; the cache is
// asked before Slack, so a known name or ID costs no call to Slack.
func (c *Cache) ID(ctx context.Context, name string) (string, error) {
	raw := strings.TrimSpace(name)
	isID := channelID.MatchString(raw)
	name = normalize(name)
	if name == "" {
		return "", fmt.Errorf("chancache: empty channel name: %w", ErrNotFound)
	}
	// The cache first: an ID, a name, or a name known to be missing.
	pipe := c.rdb.Pipeline()
	byName := pipe.HGet(ctx, KeyByName, name)
	missing := pipe.Exists(ctx, keyMissPrefix+name)
	byID := redis.NewBoolResult(false, nil)
	if isID {
		byID = pipe.HExists(ctx, KeyByID, raw)
	}
	// A name that is not cached is redis.Nil; each command's error is
	// looked at instead of the first.
	_, _ = pipe.Exec(ctx)
	for _, cmd := range []redis.Cmder{byName, missing, byID} {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return "", fmt.Errorf("chancache: %w", err)
		}
	}
	switch {
	case byID.Val():
		return raw, nil
	case byName.Err() == nil:
		return byName.Val(), nil
	case missing.Val() > 0:
		return "", fmt.Errorf("chancache: #%s: %w", name, ErrNotFound)
	}
	if isID {
		_, err := c.Get(ctx, raw)
		if err == nil {
			return raw, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return "", err
		}
	}

	l := c.list(ctx)
	for {
		l.mu.Lock()
		id, found := l.seen[name]
		done, lerr, changed := l.done, l.err, l.changed
		l.mu.Unlock()
		switch {
		case found:
			c.mu.Lock()
			l.wanted--
			c.mu.Unlock()
			return id, nil
		case done && lerr != nil:
			return "", fmt.Errorf("chancache: look up #%s: %w", name, lerr)
		case done:
			if err := c.rdb.Set(ctx, keyMissPrefix+name, 1, missTTL).Err(); err != nil {
				c.log.Warn().Err(err).Msg("cannot remember a missing channel")
			}
			c.log.Warn().Str("name", name).Msg("no channel of that name")
			return "", fmt.Errorf("chancache: #%s: %w", name, ErrNotFound)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", fmt.Errorf("chancache: look up #%s (the listing goes on): %w", name, ctx.Err())
		}
	}
}

// list returns the listing in progress, or starts one. It runs apart from
// ctx, so that it finishes (and caches what it saw) after a caller whose
// deadline came first.
func (c *Cache) list(ctx context.Context) *listing {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.listing; l != nil {
		l.wanted++
		return l
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listTimeout)
	l := &listing{wanted: 1, cancel: cancel, seen: map[string]string{}, changed: make(chan struct{})}
	c.listing = l
	c.log.Debug().Msg("channel cache miss; listing channels")
	c.listings.Go(func() {
		defer cancel()
		err := c.listAll(lctx, l)
		c.mu.Lock()
		if c.listing == l {
			c.listing = nil
		}
		c.mu.Unlock()
		l.mu.Lock()
		l.done, l.err = true, err
		close(l.changed)
		l.mu.Unlock()
	})
	return l
}

// Close stops the listing in progress, if any, and waits for it to end: a
// listing outlives the caller that started it, but not the consumer or the
// background tasks that own the Cache (it would go on calling Slack, and
// writing to a Redis client about to be closed, for up to five minutes).
// The callers waiting for it fail with context.Canceled. The Cache stays
// usable: a later miss starts a listing again.
func (c *Cache) Close() {
	c.mu.Lock()
	l := c.listing
	c.listing = nil
	c.mu.Unlock()
	if l != nil {
		l.cancel()
	}
	c.listings.Wait()
}

// listAll pages through conversations.list into l and the cache, until the
// last page or until nobody waits for it any more.
func (c *Cache) listAll(ctx context.Context, l *listing) error {
	for cursor := ""; ; {
		chans, next, err := c.api.ListChannels(ctx, cursor, PageLimit)
		if err != nil {
			return err
		}
		if err := c.add(ctx, chans...); err != nil {
			c.log.Warn().Err(err).Msg("cannot cache listed channels")
		}
		l.mu.Lock()
		for _, ch := range chans {
			if ch.Name != "" && !ch.IsArchived && !ch.IsIM {
				l.seen[ch.Name] = ch.ID
			}
		}
		if next != "" {
			close(l.changed)
			l.changed = make(chan struct{})
		}
		l.mu.Unlock()
		if next == "" {
			return nil
		}
		// Whoever joins from now on starts a listing of their own.
		c.mu.Lock()
		stop := l.wanted <= 0
		if stop {
			c.listing = nil
		}
		c.mu.Unlock()
		if stop {
			return nil
		}
		cursor = next
	}
}

// Get returns the cached channel with the ID, asking conversations.info on
// a miss. A channel Slack does not show the bot is ErrNotFound.
func (c *Cache) Get(ctx context.Context, id string) (Channel, error) {
	b, err := c.rdb.HGet(ctx, KeyByID, id).Bytes()
	switch {
	case err == nil:
		var ch Channel
		if err := json.Unmarshal(b, &ch); err == nil {
			return ch, nil
		}
		// A damaged entry is replaced by Slack's answer below.
	case !errors.Is(err, redis.Nil):
		return Channel{}, fmt.Errorf("chancache: %w", err)
	}
	info, err := c.api.ChannelInfo(ctx, id)
	if err != nil {
		if slackapi.Code(err) == "channel_not_found" {
			return Channel{}, fmt.Errorf("chancache: %s: %w: %w", id, ErrNotFound, err)
		}
		return Channel{}, fmt.Errorf("chancache: look up %s: %w", id, err)
	}
	if err := c.add(ctx, info); err != nil {
		c.log.Warn().Err(err).Msg("cannot cache a channel")
	}
	return Channel{ID: info.ID, Name: info.Name, IsPrivate: info.IsPrivate}, nil
}

// Name returns the name of the channel with the ID ("" for a DM), asking
// conversations.info on a miss.
func (c *Cache) Name(ctx context.Context, id string) (string, error) {
	ch, err := c.Get(ctx, id)
	return ch.Name, err
}
