package consumer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gophers/gopherbot/handler"
)

// errUndecodable is wrapped by decode's errors: the body is not an event
// this consumer can read, and retrying will not change that.
var errUndecodable = errors.New("undecodable event")

// envelope is the event_callback body Slack posts and the gateway queues.
type envelope struct {
	Type      string          `json:"type"`
	TeamID    string          `json:"team_id"`
	EventID   string          `json:"event_id"`
	EventTime int64           `json:"event_time"`
	Event     json.RawMessage `json:"event"`
}

// event holds the fields of every event kind the consumer reads. User is a
// string in message events and an object in team_join.
type event struct {
	Type        string          `json:"type"`
	Subtype     string          `json:"subtype"`
	Hidden      bool            `json:"hidden"`
	Channel     string          `json:"channel"`
	ChannelType string          `json:"channel_type"`
	User        json.RawMessage `json:"user"`
	BotID       string          `json:"bot_id"`
	Text        string          `json:"text"`
	TS          string          `json:"ts"`
	ThreadTS    string          `json:"thread_ts"`
	EventTS     string          `json:"event_ts"`
	Edited      json.RawMessage `json:"edited"`
	Files       []struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Filetype   string `json:"filetype"`
		URLPrivate string `json:"url_private"`
		Preview    string `json:"preview"`
		Lines      int    `json:"lines"`
	} `json:"files"`
}

// member is the user object of team_join.
type member struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	RealName string `json:"real_name"`
	Deleted  bool   `json:"deleted"`
	IsBot    bool   `json:"is_bot"`
	IsApp    bool   `json:"is_app_user"`
	// Guests: they see only the channels they were invited to.
	IsRestricted      bool `json:"is_restricted"`
	IsUltraRestricted bool `json:"is_ultra_restricted"`
	Profile           struct {
		DisplayName string `json:"display_name"`
		RealName    string `json:"real_name"`
	} `json:"profile"`
}

// identity is who the bot is, from auth.test.
type identity struct {
	UserID string // the bot user, as mentioned in messages: U...
	BotID  string // the bot, as in the bot_id of its messages: B...
}

// Kinds of event in the envelope.
const (
	eventMessage             = "message"
	eventAppMention          = "app_mention"
	eventTeamJoin            = "team_join"
	eventMemberJoinedChannel = "member_joined_channel"
)

// decode reads a queued body into a Message. A non-empty skip says why the
// event gets no handling at all (the bot's own message, an edit, ...); err
// wraps errUndecodable when the body cannot be read.
func decode(body []byte, me identity) (m *handler.Message, skip string, err error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, "", fmt.Errorf("%w: %v", errUndecodable, err)
	}
	if env.Type != "event_callback" {
		return nil, "", fmt.Errorf("%w: envelope type %q, want event_callback", errUndecodable, env.Type)
	}
	if len(env.Event) == 0 {
		return nil, "", fmt.Errorf("%w: no event", errUndecodable)
	}
	var ev event
	if err := json.Unmarshal(env.Event, &ev); err != nil {
		return nil, "", fmt.Errorf("%w: event: %v", errUndecodable, err)
	}
	m = &handler.Message{
		EventID: env.EventID,
		Channel: ev.Channel,
		TS:      ev.TS,
		BotID:   me.UserID,
	}
	if env.EventTime > 0 {
		m.Time = time.Unix(env.EventTime, 0)
	}
	switch ev.Type {
	case eventMessage, eventAppMention:
		return decodeMessage(m, &ev, me)
	case eventTeamJoin:
		var u member
		if err := json.Unmarshal(ev.User, &u); err != nil || u.ID == "" {
			return nil, "", fmt.Errorf("%w: team_join without a user object", errUndecodable)
		}
		m.Kind = handler.KindTeamJoin
		m.User = u.ID
		m.UserName = firstNonEmpty(u.Profile.DisplayName, u.Profile.RealName, u.RealName, u.Name)
		switch {
		case u.ID == me.UserID:
			return m, "the bot itself joined", nil
		case u.IsBot || u.IsApp || u.ID == "USLACKBOT":
			return m, "a bot joined", nil
		case u.Deleted:
			return m, "a deactivated member", nil
		case u.IsRestricted || u.IsUltraRestricted:
			// As the bgtasks sweep: a list of channels to join is no use
			// to a guest, who sees only the channels they were invited to.
			return m, "a guest joined", nil
		}
		return m, "", nil
	case eventMemberJoinedChannel:
		user, err := userID(ev.User)
		if err != nil || user == "" || ev.Channel == "" {
			return nil, "", fmt.Errorf("%w: member_joined_channel without user or channel", errUndecodable)
		}
		m.Kind = handler.KindMemberJoinedChannel
		m.User = user
		m.ChannelType = joinChannelType(ev.ChannelType, ev.Channel)
		if t, ok := parseTS(ev.EventTS); ok && m.Time.IsZero() {
			m.Time = t
		}
		if user == me.UserID {
			return m, "the bot itself joined the channel", nil
		}
		return m, "", nil
	}
	return nil, "", fmt.Errorf("%w: event type %q", errUndecodable, ev.Type)
}

func decodeMessage(m *handler.Message, ev *event, me identity) (*handler.Message, string, error) {
	user, err := userID(ev.User)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s: user: %v", errUndecodable, ev.Type, err)
	}
	if ev.Channel == "" || ev.TS == "" {
		return nil, "", fmt.Errorf("%w: %s without channel or ts", errUndecodable, ev.Type)
	}
	m.Kind = handler.KindMessage
	m.User = user
	m.ChannelType = ev.ChannelType
	if m.ChannelType == "" {
		// app_mention carries no channel_type; the ID's first letter tells.
		m.ChannelType = channelTypeOf(ev.Channel)
	}
	m.ThreadTS = ev.ThreadTS
	if m.ThreadTS == m.TS {
		// A thread's parent carries its own ts as thread_ts: it is not in a thread.
		m.ThreadTS = ""
	}
	// ts says when it was written, to the microsecond; event_time only to
	// the second.
	if t, ok := parseTS(ev.TS); ok {
		m.Time = t
	}
	m.RawText = ev.Text
	m.Text, m.Mentions, m.Mentioned = handler.Parse(ev.Text, me.UserID)
	for _, f := range ev.Files {
		m.Files = append(m.Files, handler.File{
			ID: f.ID, Name: f.Name, Filetype: f.Filetype,
			URLPrivate: f.URLPrivate, Preview: f.Preview, Lines: f.Lines,
		})
	}

	if me.BotID != "" && ev.BotID == me.BotID {
		return m, "the bot's own message", nil
	}
	if reason, skip := handler.Skip(ev.Subtype, user, ev.BotID, me.UserID); skip {
		return m, reason, nil
	}
	if ev.Hidden {
		return m, "hidden message", nil
	}
	if len(ev.Edited) > 0 && string(ev.Edited) != "null" {
		// Editing a message that mentions the bot makes Slack send an
		// app_mention again, with the message's own ts (so it is not
		// stale) and an "edited" field. The message was answered when it
		// was sent; a typo fixed must not get a second answer.
		return m, "an edited message, answered when it was sent", nil
	}

	// Slack sends a mention in a channel twice: as an app_mention and as a
	// message in the channel (when the bot is a member). Answer the
	// app_mention, which also comes for channels the bot is not in. A DM
	// comes as a message in the im channel only; answer that one. A group
	// DM is neither: its message (channel_type mpim) comes for certain,
	// and Slack does not document whether an app_mention comes too. Both
	// are handled, and the one handled first answers (see mayHaveTwin).
	if ev.Type == eventAppMention {
		m.Mentioned = true
		if m.DM() {
			return m, "app_mention in a DM, handled as the DM message", nil
		}
	} else if m.Mentioned && !m.DM() && m.ChannelType != "mpim" {
		return m, "mentions the bot, handled as the app_mention", nil
	}
	return m, "", nil
}

// mayHaveTwin reports whether another event may carry the same message as
// m: an app_mention outside a DM (its ID does not tell a group DM from a
// channel), or a group DM message that mentions the bot. decode skips
// every other message event that mentions the bot outside a DM, so those
// two are the Mentioned messages outside a DM that reach the handlers.
func mayHaveTwin(m *handler.Message) bool {
	return m.Kind == handler.KindMessage && m.Mentioned && !m.DM()
}

// userID reads the user of a message event: a string, or absent.
func userID(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// channelTypeOf guesses a channel's type from its ID: D is a DM, G a
// private channel or group DM (older IDs), C a channel.
func channelTypeOf(id string) string {
	switch {
	case strings.HasPrefix(id, "D"):
		return "im"
	case strings.HasPrefix(id, "G"):
		return "group"
	}
	return "channel"
}

// joinChannelType maps member_joined_channel's one-letter channel_type.
func joinChannelType(t, id string) string {
	switch t {
	case "C":
		return "channel"
	case "G":
		return "group"
	case "":
		return channelTypeOf(id)
	}
	return t
}

// parseTS reads a Slack timestamp, "1700000000.123456".
func parseTS(ts string) (time.Time, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s <= 0 {
		return time.Time{}, false
	}
	var ns int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		ns = n
	}
	return time.Unix(s, ns), true
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
