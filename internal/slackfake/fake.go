// Package slackfake is an in-process fake of the Slack Web API: a real HTTP
// server (on a loopback port) that keeps the state of a small workspace,
// answers the methods gopherbot uses the way Slack does, and records every
// call it receives.
//
// It serves the tests, the local console of the all-in-one binary and the
// benchmarks alike, so nothing here imports package testing. Point a
// slack-go client (or gopherbot's slackapi) at [Server.APIURL].
//
// # State
//
// A workspace of users, channels and direct-message channels, the bot user
// (what auth.test answers), one accepted token (any other gets invalid_auth,
// none gets not_authed), reactions already added, and files served to the
// holder of the token at their url_private. Add to it with [Server.AddUser],
// [Server.AddChannel], [Server.JoinChannel], [Server.AddFile],
// [Server.AddMessage]; [Server.Seed] lays out the default workspace of the
// all-in-one binary. [Server.RevokeToken] revokes the token: every call
// then answers token_revoked, as Slack does after the app is removed.
//
// Methods: auth.test, chat.postMessage, chat.postEphemeral, reactions.add,
// conversations.open, conversations.info, conversations.list, users.info and
// users.list. Each accepts form-encoded, JSON and query parameters, and the
// token in the body or in an Authorization: Bearer header, as slack-go sends
// them. Any other method answers {"ok":false,"error":"unknown_method"}.
//
// As in Slack:
//   - Posting (chat.postMessage, chat.postEphemeral) to a public channel
//     the bot is not a member of is not_in_channel, as for an app without
//     the chat:write.public scope (gopherbot's manifest does not ask for
//     it; see [WithChatWritePublic]); a private channel it is not in is
//     channel_not_found; an archived one is is_archived. Add the bot to a
//     channel with JoinChannel or with the channel's Members.
//   - chat.postEphemeral to someone who is not a member of the channel is
//     user_not_in_channel. Join people with JoinChannel.
//   - A text longer than 40,000 characters (not bytes) is posted cut to
//     40,000, with a message_truncated warning in the answer (in warning
//     and in response_metadata) and in the recorded call's Warnings.
//     msg_too_long, which Slack has been seen to answer for shorter texts,
//     comes only from [Server.Inject].
//   - conversations.open with a bot (the bot itself included) is
//     cannot_dm_bot, with a deactivated user user_disabled.
//   - conversations.list applies exclude_archived after cutting the page,
//     as Slack documents: a page may hold fewer items than the limit, even
//     none, while next_cursor says there is more.
//   - users.list without a limit lists everyone (in pages of the page
//     size, when one is set).
//   - A url_private fetched without the right token is redirected to the
//     workspace's sign-in page, a 200 text/html answer, not the file.
//   - A JSON body's token is not read: with JSON the token must come in
//     the Authorization header. Nor is a token in the query string, as for
//     apps created since February 2021: the call is not_authed.
//
// Where the fake is stricter or simpler than Slack, on purpose:
//   - chat.postMessage wants a channel ID (or a user ID, which posts to the
//     bot's DM with that user, as Slack does), never a channel name, so a bot
//     that forgot to resolve a name fails in tests instead of in production.
//   - reactions.add checks that the message exists (message_not_found)
//     only with [WithKnownMessages], and that the workspace has the emoji
//     (invalid_name) only with [WithEmoji]; by default any well-formed ts
//     and name are taken, for tests that make up their messages. A name
//     with spaces or colons in it is invalid_name, a malformed timestamp
//     bad_timestamp, and a second identical reaction already_reacted.
//   - conversations.list and users.list page with opaque cursors; a page
//     holds at most min(limit, page size) items (see [WithPageSize]).
//
// # Recording
//
// Every request is recorded as a [Call], failures included: [Server.Calls],
// [Server.Reset], [Server.WaitCalls], [Server.WaitFor], [Server.Subscribe]
// and [Server.OnCall] for live consumers such as the console.
//
// # Faults
//
// [Server.Inject] makes a method answer 429 with Retry-After, a 5xx, or a
// Slack error code for its next calls, optionally after letting some through
// (to fail page 2 of a listing only).
//
// # Rendering
//
// [Server.Render] prints a call as one line (plus indented lines for a
// multi-line text); the console and the transcript tests use exactly this
// format:
//
//	chat.postMessage #general: text
//	chat.postMessage #general (thread 1712345678.000100): text
//	chat.postMessage @alice: text                  a DM with alice
//	chat.postMessage #general (unfurl): text       link previews asked for
//	chat.postEphemeral #newbies to @alice: text
//	reactions.add #general :gopher:
//	conversations.open @alice
//	conversations.info #general
//	users.info @alice
//	conversations.list cursor=… limit=200 types=public_channel
//	chat.postMessage #general [error 429 retry after 1s]: text
//	chat.postMessage #general [warning message_truncated]: text
//
// Where is #name for a channel, @name for a DM with that person, or the raw
// ID when the fake does not know it. A thread is noted as (thread TS). A
// failed call carries [error CODE] or [error STATUS ...] after where and the
// notes (so before the colon of a text, after the emoji of a reaction), and
// a call Slack did with a warning [warning CODE] in the same place.
// In the text, mentions are shown by name: <@U123> as <@alice>, <#C123> and
// <#C123|x> as <#general>; everything else is verbatim. A text of more than
// one line is printed below the header, which then ends with ":", each line
// indented by four spaces; empty lines in it stay empty, so a call's block
// ends where a line starts with a non-space character. Methods without a
// special form print their parameters as sorted key=value pairs.
package slackfake

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of a new Server.
const (
	DefaultToken   = "xoxb-0000-fake-gopherbot"
	DefaultTeamID  = "T0GOPHERS"
	DefaultTeam    = "Gophers"
	DefaultBotID   = "B0GOPHBOT"
	DefaultBotUser = "U0GOPHBOT"
	DefaultBotName = "gopherbot"
)

// User is a member of the workspace.
type User struct {
	ID       string
	Name     string // handle, e.g. "alice"
	RealName string
	IsBot    bool
	Deleted  bool
	// Guests (single- and multi-channel) and app users, as Slack flags them.
	IsRestricted, IsUltraRestricted, IsAppUser bool
}

// Channel is a conversation: a channel, a private channel or a DM.
type Channel struct {
	ID         string
	Name       string // empty for a DM
	IsPrivate  bool
	IsIM       bool
	IsArchived bool
	User       string   // a DM's other member
	Members    []string // user IDs
}

// File is a file shared in the workspace, downloadable at URLPrivate with the
// token.
type File struct {
	ID         string
	Name       string
	URLPrivate string
	Content    []byte
}

// Server is a fake Slack Web API. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	token    string
	teamID   string
	team     string
	bot      User
	botID    string
	pageSize int
	now      func() time.Time
	// chatWritePublic lets the bot post to public channels it is not in.
	chatWritePublic bool
	// revoked is the error code of every call once the token is revoked.
	revoked string

	// messages holds the channel/ts of every message the fake knows, when
	// knownMessages is set (WithKnownMessages).
	knownMessages bool
	messages      map[string]bool
	// emoji is the workspace's emoji when set (WithEmoji); nil takes any
	// well-formed name.
	emoji map[string]bool

	users     []*User
	usersByID map[string]*User
	chans     []*Channel
	chansByID map[string]*Channel
	ims       map[string]string // user ID -> DM channel ID
	files     map[string]*File
	reactions map[string]bool // channel/ts/name
	lastTS    int64           // microseconds of the last ts handed out
	nextID    int

	faults map[string][]*fault

	rec recorder
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the one token the server accepts.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithPageSize caps the items of one page of conversations.list and
// users.list, whatever limit the caller asks (0: no cap beyond the limit).
func WithPageSize(n int) Option { return func(s *Server) { s.pageSize = n } }

// WithChatWritePublic gives the bot the chat:write.public scope: it may
// post to public channels it is not a member of. Without it (the default,
// as in gopherbot's app manifest) such a post is not_in_channel.
func WithChatWritePublic() Option { return func(s *Server) { s.chatWritePublic = true } }

// WithKnownMessages makes reactions.add want a message that exists, as
// Slack does (message_not_found otherwise): one the bot posted with
// chat.postMessage, or one added with [Server.AddMessage]. Without it any
// well-formed ts is taken, for tests that make up their messages.
func WithKnownMessages() Option {
	return func(s *Server) { s.knownMessages = true }
}

// WithEmoji sets the emoji of the workspace, standard and custom: a reaction
// with any other name is invalid_name, as Slack answers for an emoji the
// workspace does not have. Without it any well-formed name is taken.
func WithEmoji(names ...string) Option {
	return func(s *Server) {
		if s.emoji == nil {
			s.emoji = map[string]bool{}
		}
		for _, n := range names {
			s.emoji[strings.Trim(n, ":")] = true
		}
	}
}

// WithClock sets where the time of calls and message timestamps comes from.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithRecordLimit bounds the memory of a long-running fake (the console,
// benchmarks): past n recorded calls, the older half is forgotten. Seq keeps
// counting; Calls and the Wait methods see the calls still kept. 0, the
// default, keeps every call.
func WithRecordLimit(n int) Option { return func(s *Server) { s.rec.limit = n } }

// WithBot sets the bot's user ID and name (auth.test's user_id and user).
func WithBot(userID, name string) Option {
	return func(s *Server) { s.bot.ID, s.bot.Name, s.bot.RealName = userID, name, name }
}

// New starts a fake Slack Web API on a loopback port. Close it when done.
func New(opts ...Option) *Server {
	s := &Server{
		token:     DefaultToken,
		teamID:    DefaultTeamID,
		team:      DefaultTeam,
		bot:       User{ID: DefaultBotUser, Name: DefaultBotName, RealName: DefaultBotName, IsBot: true},
		botID:     DefaultBotID,
		now:       time.Now,
		usersByID: map[string]*User{},
		chansByID: map[string]*Channel{},
		ims:       map[string]string{},
		files:     map[string]*File{},
		reactions: map[string]bool{},
		messages:  map[string]bool{},
		faults:    map[string][]*fault{},
	}
	for _, o := range opts {
		o(s)
	}
	s.rec.init()
	bot := s.bot
	s.addUserLocked(&bot)
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("GET /files/{id}/{name}", s.serveFile)
	mux.HandleFunc("GET /{$}", s.serveSignIn)
	s.srv = httptest.NewServer(mux)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the server's base URL, without a trailing slash.
func (s *Server) URL() string { return s.srv.URL }

// APIURL is the Web API base for slack.OptionAPIURL and SLACK_API_URL, with
// its trailing slash.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// Token is the token the server accepts.
func (s *Server) Token() string { return s.token }

// TeamID is the workspace's ID.
func (s *Server) TeamID() string { return s.teamID }

// Bot is the bot's user.
func (s *Server) Bot() User { return s.bot }

// BotID is the bot's bot ID (auth.test's bot_id), not its user ID.
func (s *Server) BotID() string { return s.botID }

// SetPageSize changes the page size cap (see WithPageSize).
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

func (s *Server) newID(prefix string) string {
	s.nextID++
	return fmt.Sprintf("%s%08d", prefix, s.nextID)
}

// AddUser adds u to the workspace and returns it; an empty ID is assigned.
// A name already taken by a live user is an error, as in Slack.
func (s *Server) AddUser(u User) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.Name == "" {
		return User{}, fmt.Errorf("slackfake: a user needs a name")
	}
	for _, o := range s.users {
		if o.Name == u.Name && !o.Deleted {
			return User{}, fmt.Errorf("slackfake: user name %q is taken by %s", u.Name, o.ID)
		}
	}
	if u.ID == "" {
		u.ID = s.newID("U")
	} else if _, ok := s.usersByID[u.ID]; ok {
		return User{}, fmt.Errorf("slackfake: user ID %s exists", u.ID)
	}
	if u.RealName == "" {
		u.RealName = u.Name
	}
	s.addUserLocked(&u)
	return u, nil
}

func (s *Server) addUserLocked(u *User) {
	s.users = append(s.users, u)
	s.usersByID[u.ID] = u
}

// User returns the user with the ID.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.usersByID[id]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// UserByName returns the live user with the name.
func (s *Server) UserByName(name string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Name == name && !u.Deleted {
			return *u, true
		}
	}
	return User{}, false
}

// Users returns every user, the bot included, in the order they were added.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, len(s.users))
	for i, u := range s.users {
		out[i] = *u
	}
	return out
}

// AddChannel adds a channel and returns it; an empty ID is assigned (C… for
// channels, G… for private ones). For a DM use OpenIM.
func (s *Server) AddChannel(c Channel) (Channel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Name = strings.TrimPrefix(c.Name, "#")
	if c.IsIM {
		return Channel{}, fmt.Errorf("slackfake: open DMs with OpenIM")
	}
	if c.Name == "" {
		return Channel{}, fmt.Errorf("slackfake: a channel needs a name")
	}
	for _, o := range s.chans {
		if o.Name == c.Name {
			return Channel{}, fmt.Errorf("slackfake: channel name %q is taken by %s", c.Name, o.ID)
		}
	}
	if c.ID == "" {
		p := "C"
		if c.IsPrivate {
			p = "G"
		}
		c.ID = s.newID(p)
	} else if _, ok := s.chansByID[c.ID]; ok {
		return Channel{}, fmt.Errorf("slackfake: channel ID %s exists", c.ID)
	}
	c.Members = slices.Clone(c.Members)
	s.chans = append(s.chans, &c)
	s.chansByID[c.ID] = &c
	return cloneChannel(&c), nil
}

func cloneChannel(c *Channel) Channel {
	out := *c
	out.Members = slices.Clone(c.Members)
	return out
}

// Channel returns the channel (or DM) with the ID.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chansByID[id]
	if !ok {
		return Channel{}, false
	}
	return cloneChannel(c), true
}

// ChannelByName returns the channel with the name ('#' optional).
func (s *Server) ChannelByName(name string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chanByNameLocked(name)
	if c == nil {
		return Channel{}, false
	}
	return cloneChannel(c), true
}

func (s *Server) chanByNameLocked(name string) *Channel {
	name = strings.TrimPrefix(name, "#")
	for _, c := range s.chans {
		if !c.IsIM && c.Name == name {
			return c
		}
	}
	return nil
}

// Channels returns every conversation, DMs included, in the order added.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Channel, len(s.chans))
	for i, c := range s.chans {
		out[i] = cloneChannel(c)
	}
	return out
}

// JoinChannel makes the user a member of the channel; joining twice is fine.
func (s *Server) JoinChannel(channelID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chansByID[channelID]
	if !ok {
		return fmt.Errorf("slackfake: no channel %s", channelID)
	}
	if _, ok := s.usersByID[userID]; !ok {
		return fmt.Errorf("slackfake: no user %s", userID)
	}
	if !slices.Contains(c.Members, userID) {
		c.Members = append(c.Members, userID)
	}
	return nil
}

// RenameChannel renames a channel, as people do in Slack.
func (s *Server) RenameChannel(channelID, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chansByID[channelID]
	if !ok || c.IsIM {
		return fmt.Errorf("slackfake: no channel %s", channelID)
	}
	if o := s.chanByNameLocked(name); o != nil && o != c {
		return fmt.Errorf("slackfake: channel name %q is taken by %s", name, o.ID)
	}
	c.Name = strings.TrimPrefix(name, "#")
	return nil
}

// ArchiveChannel archives a channel: posting to it is is_archived.
func (s *Server) ArchiveChannel(channelID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chansByID[channelID]
	if !ok {
		return fmt.Errorf("slackfake: no channel %s", channelID)
	}
	c.IsArchived = true
	return nil
}

// OpenIM returns the ID of the bot's DM with the user, opening it on first
// use, as conversations.open does (without recording a call). already tells
// whether it was open.
func (s *Server) OpenIM(userID string) (id string, already bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, already, code := s.openIMLocked(userID)
	if code != "" {
		return "", false, fmt.Errorf("slackfake: open a DM with %s: %s", userID, code)
	}
	return c.ID, already, nil
}

func (s *Server) openIMLocked(userID string) (c *Channel, already bool, code string) {
	u, ok := s.usersByID[userID]
	if !ok {
		return nil, false, "user_not_found"
	}
	if u.Deleted {
		return nil, false, "user_disabled"
	}
	if u.ID == s.bot.ID || u.IsBot {
		// A bot token cannot open a DM with a bot, itself or another.
		return nil, false, "cannot_dm_bot"
	}
	if id, ok := s.ims[userID]; ok {
		return s.chansByID[id], true, ""
	}
	c = &Channel{ID: s.newID("D"), IsIM: true, IsPrivate: true, User: userID, Members: []string{userID, s.bot.ID}}
	s.chans = append(s.chans, c)
	s.chansByID[c.ID] = c
	s.ims[userID] = c.ID
	return c, false, ""
}

// AddFile stores a file served at its URLPrivate to requests carrying the
// token, as uploaded snippets are.
func (s *Server) AddFile(name string, content []byte) File {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &File{ID: s.newID("F"), Name: name, Content: slices.Clone(content)}
	f.URLPrivate = s.srv.URL + "/files/" + f.ID + "/" + name
	s.files[f.ID] = f
	out := *f
	out.Content = slices.Clone(f.Content)
	return out
}

// AddMessage adds a message someone wrote to a channel (or to the bot's DM
// with them, when channel is a user ID) and returns its ts: a message
// reactions.add may name under WithKnownMessages. Nothing is recorded.
func (s *Server) AddMessage(channel, user, text string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.usersByID[user]; !ok {
		return "", fmt.Errorf("slackfake: no user %s", user)
	}
	c, ok := s.chansByID[channel]
	if !ok {
		if _, isUser := s.usersByID[channel]; !isUser {
			return "", fmt.Errorf("slackfake: no channel %s", channel)
		}
		var code string
		if c, _, code = s.openIMLocked(channel); code != "" {
			return "", fmt.Errorf("slackfake: open a DM with %s: %s", channel, code)
		}
	}
	ts := s.newTSLocked()
	s.addMessageLocked(c.ID, ts)
	return ts, nil
}

func (s *Server) addMessageLocked(channel, ts string) {
	if s.knownMessages {
		s.messages[channel+"/"+ts] = true
	}
}

// RevokeToken revokes the token, as an admin who removes the app does:
// every call from now on answers token_revoked, and a file download lands
// on the sign-in page.
func (s *Server) RevokeToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = "token_revoked"
}

// NewTS returns a fresh message timestamp, later than every one handed out
// before: what Slack gives a message. The console uses it for the messages
// people type.
func (s *Server) NewTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newTSLocked()
}

func (s *Server) newTSLocked() string {
	us := s.now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

// cursor encodes the ID of the first item of the next page.
func encodeCursor(kind, id string) string {
	return base64.StdEncoding.EncodeToString([]byte(kind + ":" + id))
}

func decodeCursor(kind, cur string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(cur)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(b), kind+":")
}
