// Package slackapi is gopherbot's client of the Slack Web API, over slack-go.
//
// It adds what every caller would otherwise get wrong on its own:
//
//   - Retries. A 429 waits its Retry-After and tries again; a 5xx or a
//     network error tries again after an exponential backoff with jitter.
//     All of it within ctx's deadline: when the next wait, plus another
//     try as slow as the last, would pass the deadline, the call fails at
//     once with a transient error, and the work queue's own retry takes
//     over later. A post (chat.postMessage, chat.postEphemeral) that
//     Slack may have made is not repeated: one whose request went out but
//     whose answer was lost (a broken connection, a timeout), or that Slack
//     answered with a server error (500, 502, 504: any 5xx but 503) or with
//     internal_error or fatal_error, which Slack documents as possibly done
//     in part. Its error wraps ErrOutcomeUnknown. A 503 or a 429 is Slack
//     turning the call away, and is retried. A 429 without a usable
//     Retry-After, or with 0, waits a second; so does the error code
//     ratelimited or rate_limited in an answer with a 200. Slack's rate
//     limits are per method: after a 429 the other calls of that method in
//     this process wait it out too (posts are held per channel, below).
//     The wait for a post's slot does not count as part of its call.
//   - Long texts. Slack posts a text over MaxTextLen characters cut at the
//     limit wherever it falls, with only a warning in its answer. Posts
//     (chat.postMessage, chat.postEphemeral) cut such a text first, at a
//     line end near the limit when there is one, never inside a link, a
//     mention, an entity (&amp;) or a character (an emoji sequence, a
//     letter and its accent), closing a code block left open, and end it
//     with a note that it was cut; the log says so, with the method and
//     the channel.
//   - Answers. Slack's warnings (ok true, but message_truncated,
//     missing_charset, ...) are logged; an answer that is not JSON (a
//     proxy's page) fails the call with an error that says so.
//   - Error classes. A Slack error that retrying cannot fix
//     (channel_not_found, not_in_channel, is_archived, invalid_auth,
//     msg_too_long, ...) is returned as an *Error wrapping
//     workqueue.ErrPermanent, so the queue dead-letters the event instead of
//     retrying it. Anything else is transient. A token Slack does not
//     accept (invalid_auth, token_revoked, account_inactive, ...) fails
//     any call with an error wrapping ErrTokenRejected, logged as an error.
//   - chat.postMessage pacing. Slack allows about one message per second
//     per channel. The budget is shared by every process through Redis: a
//     Lua script reserves the next free slot of the channel
//     (gopherbot:ratelimit:post:<channel>) and says how long to wait for it.
//     A 429 on a post moves the channel's next slot past its Retry-After,
//     for every process.
//     Without Redis (a nil client) there is no pacing; when Redis fails the
//     post goes ahead unpaced, as a 429 is handled anyway.
//   - Logging. Every failed attempt is logged with the method and the
//     reason; never the token.
//
// Paged listings (ListChannels, ListUsers) return one page and the next
// cursor. A 429 in the middle of a listing is retried inside the call with
// the same cursor; if the wait does not fit the deadline, the *Error says
// RetryAfter and the caller resumes later from the cursor it passed.
package slackapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
)

// Client calls the Slack Web API. It is safe for concurrent use.
type Client struct {
	api    *slack.Client
	token  string
	apiURL *url.URL
	http   *http.Client
	rdb    redis.UniversalClient
	log    zerolog.Logger

	// holds maps a method to the time (*atomic.Int64, Unix ns) until which
	// Slack asked, with a 429, that it not be called.
	holds sync.Map

	postInterval time.Duration
	backoffBase  time.Duration
	backoffMax   time.Duration
	maxAttempts  int
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one with a 30s timeout, a
// guard for calls whose ctx has no deadline, that keeps up to 100 idle
// connections to Slack).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithPostInterval sets the shared per-channel spacing of chat.postMessage
// (default 1s, Slack's limit); 0 turns pacing off.
func WithPostInterval(d time.Duration) Option { return func(c *Client) { c.postInterval = d } }

// WithBackoff sets the first and the longest wait between retries of a 5xx
// or a network error (default 250ms and 5s).
func WithBackoff(first, max time.Duration) Option {
	return func(c *Client) { c.backoffBase, c.backoffMax = first, max }
}

// WithMaxAttempts bounds the attempts of one call, for a ctx without a
// deadline (default 5).
func WithMaxAttempts(n int) Option { return func(c *Client) { c.maxAttempts = max(n, 1) } }

// New returns a client that calls the Web API at apiURL (with its trailing
// slash, as config.Config.SlackAPIURL) with token. rdb holds the shared
// posting budget; nil turns pacing off.
func New(token, apiURL string, rdb redis.UniversalClient, log zerolog.Logger, opts ...Option) *Client {
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	// Many handlers post at once; the default transport keeps only two idle
	// connections per host and would open and close the rest each time.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 100
	c := &Client{
		token:        token,
		http:         &http.Client{Timeout: 30 * time.Second, Transport: tr},
		rdb:          rdb,
		log:          log.With().Str("component", "slackapi").Logger(),
		postInterval: time.Second,
		backoffBase:  250 * time.Millisecond,
		backoffMax:   5 * time.Second,
		maxAttempts:  5,
	}
	for _, o := range opts {
		o(c)
	}
	c.apiURL, _ = url.Parse(apiURL)
	c.api = slack.New(token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(webAPI{c}))
	return c
}

// Identity is who the token is: auth.test's answer.
type Identity struct {
	UserID string // the bot's user ID, as mentions carry it
	BotID  string
	TeamID string
	User   string // the bot's user name
	Team   string
	URL    string
}

// AuthTest asks Slack who the token is. A rejected token gives an error
// wrapping ErrTokenRejected (and workqueue.ErrPermanent) that says so, as
// every other call does.
func (c *Client) AuthTest(ctx context.Context) (Identity, error) {
	var id Identity
	err := c.do(ctx, "auth.test", func(ctx context.Context) error {
		r, err := c.api.AuthTestContext(ctx)
		if err != nil {
			return err
		}
		id = Identity{UserID: r.UserID, BotID: r.BotID, TeamID: r.TeamID, User: r.User, Team: r.Team, URL: r.URL}
		return nil
	})
	if err != nil {
		return Identity{}, err
	}
	return id, nil
}

// PostOptions are the optional parts of a message.
type PostOptions struct {
	ThreadTS string // reply in this thread
	Unfurl   bool   // let Slack preview the links; off by default
}

// PostMessage posts text to a channel (an ID, or a DM's ID) and returns the
// message's ts. It waits for the channel's shared posting slot first. A
// text over MaxTextLen is cut short, with a note at its end (see fitText).
func (c *Client) PostMessage(ctx context.Context, channel, text string, o PostOptions) (string, error) {
	const method = "chat.postMessage"
	msg := []slack.MsgOption{slack.MsgOptionText(c.fit(method, channel, text), false)}
	if o.ThreadTS != "" {
		msg = append(msg, slack.MsgOptionTS(o.ThreadTS))
	}
	if o.Unfurl {
		msg = append(msg, slack.MsgOptionEnableLinkUnfurl())
	} else {
		msg = append(msg, slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl())
	}
	var ts string
	slot := func(ctx context.Context) error { return c.waitPostSlot(ctx, channel) }
	err := c.doAfter(ctx, method, slot, func(ctx context.Context) error {
		_, t, err := c.api.PostMessageContext(ctx, channel, msg...)
		ts = t
		if err != nil {
			if e := classify(method, err); e.rateLimited() {
				c.holdPosts(ctx, channel, e.RetryAfter)
			}
		}
		return err
	})
	return ts, err
}

// PostEphemeral posts text to channel that only user sees (in the thread
// threadTS, when not empty). A text over MaxTextLen is cut short, as by
// PostMessage.
func (c *Client) PostEphemeral(ctx context.Context, channel, user, text, threadTS string) error {
	const method = "chat.postEphemeral"
	msg := []slack.MsgOption{slack.MsgOptionText(c.fit(method, channel, text), false)}
	if threadTS != "" {
		msg = append(msg, slack.MsgOptionTS(threadTS))
	}
	return c.do(ctx, method, func(ctx context.Context) error {
		_, err := c.api.PostEphemeralContext(ctx, channel, user, msg...)
		return err
	})
}

// AddReaction adds the emoji (a name, colons optional) to the message ts of
// channel. A reaction that is already there is a success: redelivered
// events add it once.
func (c *Client) AddReaction(ctx context.Context, channel, ts, emoji string) error {
	name := strings.Trim(emoji, ":")
	err := c.do(ctx, "reactions.add", func(ctx context.Context) error {
		err := c.api.AddReactionContext(ctx, name, slack.NewRefToMessage(channel, ts))
		if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok && se.Err == "already_reacted" {
			return nil
		}
		return err
	})
	return err
}

// OpenDM opens (or finds) the bot's DM with user and returns its channel ID.
func (c *Client) OpenDM(ctx context.Context, user string) (string, error) {
	var id string
	err := c.do(ctx, "conversations.open", func(ctx context.Context) error {
		ch, _, _, err := c.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
		if err == nil && ch != nil {
			id = ch.ID
		}
		return err
	})
	return id, err
}

// Channel is a conversation as the bot sees it.
type Channel struct {
	ID         string
	Name       string // empty for a DM
	IsPrivate  bool
	IsIM       bool
	IsArchived bool
	IsMember   bool   // the bot is in it
	User       string // a DM's other member
}

func toChannel(ch *slack.Channel) Channel {
	return Channel{
		ID:         ch.ID,
		Name:       ch.Name,
		IsPrivate:  ch.IsPrivate || ch.IsGroup,
		IsIM:       ch.IsIM,
		IsArchived: ch.IsArchived,
		IsMember:   ch.IsMember,
		User:       ch.User,
	}
}

// ChannelInfo asks conversations.info about a channel ID.
func (c *Client) ChannelInfo(ctx context.Context, id string) (Channel, error) {
	var out Channel
	err := c.do(ctx, "conversations.info", func(ctx context.Context) error {
		ch, err := c.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
		if err == nil && ch != nil {
			out = toChannel(ch)
		}
		return err
	})
	return out, err
}

// ListChannels returns one page of the public and private channels the bot
// can see, archived ones left out, starting at cursor ("" for the first),
// and the cursor of the next page ("" after the last). limit is the most
// a page holds (Slack's default when 0, at most 1000).
func (c *Client) ListChannels(ctx context.Context, cursor string, limit int) ([]Channel, string, error) {
	var (
		out  []Channel
		next string
	)
	err := c.do(ctx, "conversations.list", func(ctx context.Context) error {
		chans, n, err := c.api.GetConversationsContext(ctx, &slack.GetConversationsParameters{
			Cursor:          cursor,
			Limit:           limit,
			Types:           []string{"public_channel", "private_channel"},
			ExcludeArchived: true,
		})
		if err != nil {
			return err
		}
		out = make([]Channel, len(chans))
		for i := range chans {
			out[i] = toChannel(&chans[i])
		}
		next = n
		return nil
	})
	return out, next, err
}

// User is a member of the workspace.
type User struct {
	ID          string
	Name        string
	RealName    string
	DisplayName string
	IsBot       bool
	Deleted     bool
	TZ          string
	// Guests: multi-channel (restricted) and single-channel (ultra restricted).
	IsRestricted, IsUltraRestricted bool
	IsAppUser                       bool
}

func toUser(u *slack.User) User {
	return User{
		ID:          u.ID,
		Name:        u.Name,
		RealName:    u.RealName,
		DisplayName: u.Profile.DisplayName,
		IsBot:       u.IsBot,
		Deleted:     u.Deleted,
		TZ:          u.TZ,

		IsRestricted:      u.IsRestricted,
		IsUltraRestricted: u.IsUltraRestricted,
		IsAppUser:         u.IsAppUser,
	}
}

// UserInfo asks users.info about a user ID.
func (c *Client) UserInfo(ctx context.Context, id string) (User, error) {
	var out User
	err := c.do(ctx, "users.info", func(ctx context.Context) error {
		u, err := c.api.GetUserInfoContext(ctx, id)
		if err == nil && u != nil {
			out = toUser(u)
		}
		return err
	})
	return out, err
}

// ListUsers returns one page of users.list from cursor ("" for the first)
// and the cursor of the next page ("" after the last).
func (c *Client) ListUsers(ctx context.Context, cursor string, limit int) ([]User, string, error) {
	if limit <= 0 {
		limit = 200
	}
	var (
		out  []User
		next string
	)
	err := c.do(ctx, "users.list", func(ctx context.Context) error {
		p, err := c.api.GetUsersPaginated(slack.GetUsersOptionLimit(limit), slack.GetUsersOptionCursor(cursor)).Next(ctx)
		if err != nil {
			return err
		}
		out = make([]User, len(p.Users))
		for i := range p.Users {
			out[i] = toUser(&p.Users[i])
		}
		next = p.Cursor
		return nil
	})
	return out, next, err
}

// DownloadFile fetches a file's url_private with the token, and fails with
// ErrTooLarge (permanent) past maxBytes. The token is sent only to Slack's
// own https hosts or to the host of the API URL (a fake in tests and
// locally); any other URL is refused.
func (c *Client) DownloadFile(ctx context.Context, fileURL string, maxBytes int64) ([]byte, error) {
	const method = "files.download"
	if err := c.mayReceiveToken(fileURL); err != nil {
		e := &Error{Method: method, Permanent: true, Err: err}
		c.log.Warn().Str("method", method).Str("reason", err.Error()).Msg("slack call refused")
		return nil, e
	}
	var out []byte
	err := c.do(ctx, method, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fileURL, nil)
		if err != nil {
			return &Error{Method: method, Permanent: true, Err: err}
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := c.http.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			// As for the Web API: whole seconds, and a second when the
			// header is missing or unreadable.
			fixRetryAfter(resp.Header, time.Now())
			secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil {
				secs = 1
			}
			return &Error{Method: method, Status: resp.StatusCode, Code: "ratelimited",
				RetryAfter: time.Duration(secs) * time.Second, Err: errors.New(resp.Status)}
		case resp.StatusCode >= 500:
			return &Error{Method: method, Status: resp.StatusCode, Err: errors.New(resp.Status)}
		case resp.StatusCode != http.StatusOK:
			return &Error{Method: method, Status: resp.StatusCode, Permanent: true, Err: errors.New(resp.Status)}
		}
		if resp.ContentLength > maxBytes {
			return &Error{Method: method, Permanent: true, Err: fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, resp.ContentLength, maxBytes)}
		}
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" {
			// Slack sends a token that may not read the file to its sign-in
			// page, with a 200.
			return &Error{Method: method, Permanent: true, Err: errors.New("a web page came back, not the file: the token may not read it (files:read)")}
		}
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(resp.Body, maxBytes+1))
		if err != nil {
			return err
		}
		if n > maxBytes {
			return &Error{Method: method, Permanent: true, Err: fmt.Errorf("%w: over %d bytes", ErrTooLarge, maxBytes)}
		}
		out = buf.Bytes()
		return nil
	})
	return out, err
}

func (c *Client) mayReceiveToken(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad file URL: %w", err)
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case u.Scheme == "https" && (host == "slack.com" || strings.HasSuffix(host, ".slack.com") ||
		host == "slack-gov.com" || strings.HasSuffix(host, ".slack-gov.com")):
		return nil
	case c.apiURL != nil && u.Scheme == c.apiURL.Scheme && strings.EqualFold(u.Host, c.apiURL.Host):
		return nil
	}
	return fmt.Errorf("refusing to send the token to %s://%s: not Slack", u.Scheme, u.Host)
}

// do runs one Web API call with the retry policy of the package doc.
func (c *Client) do(ctx context.Context, method string, call func(context.Context) error) error {
	return c.doAfter(ctx, method, nil, call)
}

// doAfter is do, with before (when not nil) run ahead of each attempt: a
// wait that is not part of the call (a post's slot), so that it does not
// count in how long a retry needs. Its error ends the call as the call's
// would.
func (c *Client) doAfter(ctx context.Context, method string, before, call func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		if err := c.waitHold(ctx, method); err != nil {
			return err
		}
		var err error
		if before != nil {
			err = before(ctx)
		}
		// Whether the request went out in full: if it did and no answer
		// came, Slack may have acted on it.
		var wrote atomic.Bool
		tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) },
		})
		started := time.Now()
		made := err == nil
		if made {
			err = call(tctx)
		}
		if err == nil {
			return nil
		}
		took := time.Since(started)
		e := classify(method, err)
		if e.rateLimited() && method != "chat.postMessage" {
			// Posts are held per channel, through the post budget.
			c.hold(method, e.RetryAfter)
		}
		e.Unsure = e.Unsure || e.Status == 0 && e.Code == "" && wrote.Load()
		level := zerolog.WarnLevel
		if e.TokenRejected() {
			level = zerolog.ErrorLevel
		}
		ev := c.log.WithLevel(level).Str("method", method).Str("reason", e.reason()).Int("attempt", attempt)
		if e.Status != 0 {
			ev = ev.Int("status", e.Status)
		}
		switch {
		case e.TokenRejected():
			ev.Msg("Slack rejected the bot token: every call fails until SLACK_BOT_TOKEN is replaced")
			return e
		case e.Permanent:
			ev.Msg("slack call failed; retrying cannot fix it")
			return e
		case e.Unsure && !repeatable[method]:
			ev.Msg("slack call failed after Slack got it, which may have acted on it; not repeating it")
			return e
		case errors.Is(e.Err, errNoSlot):
			// Waiting here for a later slot would leave the post as little
			// time as the one refused.
			ev.Dur("retry_in", e.RetryAfter).Msg("slack call not made; the queue retries it later")
			return e
		case ctx.Err() != nil && !made:
			ev.Msg("slack call not made: given up while waiting for the channel's posting slot")
			return e
		case ctx.Err() != nil:
			ev.Msg("slack call failed; out of time")
			return e
		case attempt >= c.maxAttempts:
			ev.Msg("slack call failed; giving up after the last attempt")
			return e
		}
		wait := e.RetryAfter
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		// Retry only when the wait and another call as long as this one
		// fit before the deadline: a call cut off by the deadline only
		// adds load on Slack.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+took {
			if e.RetryAfter == 0 {
				e.RetryAfter = wait
			}
			ev.Dur("retry_in", wait).Dur("call_took", took).Msg("slack call failed; no time left to wait and try again")
			return e
		}
		ev.Dur("retry_in", wait).Msg("slack call failed; retrying")
		if err := sleep(ctx, wait); err != nil {
			// What Slack answered stays the error (its code, its
			// Retry-After, whether it may have acted); ctx's error joins it.
			e.Err = fmt.Errorf("%w; then %w while waiting to retry", e.Err, err)
			c.log.Warn().Str("method", method).Str("reason", e.reason()).Int("attempt", attempt).Err(err).
				Msg("slack call given up while waiting to retry")
			return e
		}
	}
}

// sleep waits d, or returns ctx's error when ctx is done first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hold makes this process's calls of method wait d from now: Slack's rate
// limits are per method, and a call made meanwhile would meet the 429 again.
func (c *Client) hold(method string, d time.Duration) {
	if d <= 0 {
		return
	}
	v, _ := c.holds.LoadOrStore(method, new(atomic.Int64))
	until := v.(*atomic.Int64)
	t := time.Now().Add(d).UnixNano()
	for {
		old := until.Load()
		if old >= t || until.CompareAndSwap(old, t) {
			return
		}
	}
}

// waitHold waits out a hold of method, or fails at once, with a transient
// *Error whose RetryAfter is the wait, when the hold is past ctx's deadline.
func (c *Client) waitHold(ctx context.Context, method string) error {
	v, ok := c.holds.Load(method)
	if !ok {
		return nil
	}
	until := time.Unix(0, v.(*atomic.Int64).Load())
	wait := time.Until(until)
	if wait <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		e := &Error{Method: method, Code: "ratelimited", RetryAfter: wait, Err: errHeld}
		c.log.Warn().Str("method", method).Str("reason", e.reason()).Dur("retry_in", wait).
			Msg("slack call not made: Slack rate-limited the method until past the deadline")
		return e
	}
	if err := sleep(ctx, wait); err != nil {
		// Still a rate limit, with the wait that was left, for the
		// caller who retries later.
		e := &Error{Method: method, Code: "ratelimited", RetryAfter: max(time.Until(until), time.Millisecond),
			Err: fmt.Errorf("%w while waiting out a rate limit", err)}
		c.log.Warn().Str("method", method).Str("reason", e.reason()).Err(err).
			Msg("slack call not made: given up while waiting out a rate limit")
		return e
	}
	return nil
}

// errHeld is wrapped when a call is not made because Slack rate-limited its
// method until past the deadline.
var errHeld = errors.New("the method is rate-limited until past the deadline")

// repeatable lists the methods that are safe to call again when Slack may
// have acted on the first call: reads, and writes whose repeat changes
// nothing (an open DM is opened again, a reaction already there answers
// already_reacted, taken as success). A post repeated would show twice.
var repeatable = map[string]bool{
	"auth.test": true, "conversations.open": true, "conversations.info": true,
	"conversations.list": true, "users.info": true, "users.list": true,
	"reactions.add": true, "files.download": true,
}

// backoff is the wait before attempt+1: doubling from backoffBase up to
// backoffMax, the upper half of it at random so that processes that failed
// together do not retry together.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.backoffBase
	for i := 1; i < attempt && d < c.backoffMax; i++ {
		d *= 2
	}
	d = min(d, c.backoffMax)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}
