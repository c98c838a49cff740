package slackfake

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Render prints a call in the console's format (see the package doc): the
// method, where, notes, and the text, with mentions shown by name.
func (s *Server) Render(c Call) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := c.Params
	var head strings.Builder
	head.WriteString(c.Method)
	text, hasText := "", false
	switch c.Method {
	case "chat.postMessage", "chat.postEphemeral":
		head.WriteString(" " + s.whereLocked(p["channel"]))
		if ts := p["thread_ts"]; ts != "" {
			head.WriteString(" (thread " + ts + ")")
		}
		if p["unfurl_links"] == "true" {
			head.WriteString(" (unfurl)")
		}
		if c.Method == "chat.postEphemeral" {
			head.WriteString(" to " + s.personLocked(p["user"]))
		}
		text, hasText = p["text"], true
		if text == "" && hasContent(p) {
			text = "(blocks)"
		}
	case "reactions.add":
		head.WriteString(" " + s.whereLocked(p["channel"]) + " :" + strings.Trim(p["name"], ":") + ":")
	case "conversations.open":
		if p["users"] != "" {
			var who []string
			for _, u := range strings.Split(p["users"], ",") {
				who = append(who, s.personLocked(u))
			}
			head.WriteString(" " + strings.Join(who, " "))
		} else {
			head.WriteString(" " + s.whereLocked(p["channel"]))
		}
	case "conversations.info":
		head.WriteString(" " + s.whereLocked(p["channel"]))
	case "users.info":
		head.WriteString(" " + s.personLocked(p["user"]))
	case "files.download":
		head.WriteString(" " + p["name"])
	default:
		for _, k := range slices.Sorted(maps.Keys(p)) {
			v := p[k]
			if v == "" || strings.ContainsAny(v, " \t\n\"") {
				v = strconv.Quote(v)
			}
			head.WriteString(" " + k + "=" + v)
		}
	}
	switch {
	case c.Status == 429:
		fmt.Fprintf(&head, " [error 429 retry after %s]", c.RetryAfter)
	case c.Status != 200 && c.Status != 0:
		fmt.Fprintf(&head, " [error %d]", c.Status)
	case c.Error != "":
		head.WriteString(" [error " + c.Error + "]")
	}
	for _, w := range c.Warnings {
		head.WriteString(" [warning " + w + "]")
	}
	if !hasText {
		return head.String()
	}
	text = strings.TrimRight(s.namesLocked(text), "\n")
	if !strings.Contains(text, "\n") {
		return head.String() + ": " + text
	}
	head.WriteString(":")
	for _, line := range strings.Split(text, "\n") {
		head.WriteString("\n")
		if line != "" {
			head.WriteString("    " + line)
		}
	}
	return head.String()
}

// RenderCalls renders calls one after the other, each ending in a newline.
func (s *Server) RenderCalls(calls []Call) string {
	var b strings.Builder
	for _, c := range calls {
		b.WriteString(s.Render(c))
		b.WriteString("\n")
	}
	return b.String()
}

// whereLocked names a conversation: #name, @name for a DM, else the ID.
func (s *Server) whereLocked(id string) string {
	if c, ok := s.chansByID[id]; ok {
		if c.IsIM {
			return s.personLocked(c.User)
		}
		return "#" + c.Name
	}
	if _, ok := s.usersByID[id]; ok {
		return s.personLocked(id)
	}
	return id
}

func (s *Server) personLocked(id string) string {
	if u, ok := s.usersByID[id]; ok {
		return "@" + u.Name
	}
	return id
}

var (
	userMention    = regexp.MustCompile(`<@([UW][A-Z0-9]+)(?:\|[^>]*)?>`)
	channelMention = regexp.MustCompile(`<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>`)
)

// namesLocked shows mentions by name: <@U123> as <@alice>, <#C123|x> as
// <#general>. Unknown IDs stay as they are.
func (s *Server) namesLocked(text string) string {
	text = userMention.ReplaceAllStringFunc(text, func(m string) string {
		if u, ok := s.usersByID[userMention.FindStringSubmatch(m)[1]]; ok {
			return "<@" + u.Name + ">"
		}
		return m
	})
	return channelMention.ReplaceAllStringFunc(text, func(m string) string {
		if c, ok := s.chansByID[channelMention.FindStringSubmatch(m)[1]]; ok && !c.IsIM {
			return "<#" + c.Name + ">"
		}
		return m
	})
}
