// Package slackevent names the kinds of Slack events gopherbot queues. The
// gateway routes each verified event to the stream of its kind; the consumer
// reads those streams.
package slackevent

// Kinds of queued events; each is one Redis stream.
const (
	// MessageChannel is a message in a public channel (channel_type "channel").
	MessageChannel = "message.channel"
	// MessagePrivate is a message in a DM, group DM, private channel or the
	// app home (channel_type im, mpim, group, app_home).
	MessagePrivate = "message.private"
	// AppMention is an app_mention event.
	AppMention = "app_mention"
	// TeamJoin is a team_join event: someone joined the workspace.
	TeamJoin = "team_join"
	// MemberJoinedChannel is a member_joined_channel event.
	MemberJoinedChannel = "member_joined_channel"
)

// All lists every kind, in the order consumers read them.
var All = []string{MessagePrivate, AppMention, MessageChannel, TeamJoin, MemberJoinedChannel}
