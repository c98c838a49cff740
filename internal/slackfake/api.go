package slackfake

import (
	"cmp"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxTextLen is Slack's limit on a message text, in characters (not bytes):
// a longer text is posted cut to it, with a message_truncated warning.
const maxTextLen = 40000

// textTooLong reports whether a message text is over maxTextLen characters.
func textTooLong(text string) bool {
	return len(text) > maxTextLen && utf8.RuneCountInString(text) > maxTextLen
}

// truncateText cuts text to its first maxTextLen characters, as Slack does
// to a message's text, and reports whether it did.
func truncateText(text string) (string, bool) {
	if !textTooLong(text) {
		return text, false
	}
	n := 0
	for i := range text {
		if n == maxTextLen {
			return text[:i], true
		}
		n++
	}
	return text, false
}

// warningMessages are the response_metadata.messages that go with Slack's
// warnings, in our words.
var warningMessages = map[string]string{
	"message_truncated": "[WARN] The message was posted cut short: its text may hold at most 40,000 characters.",
}

// reply is what a method answers: ok with fields, or an error code.
type reply struct {
	status   int
	code     string         // Slack error code; "" is ok
	fields   map[string]any // merged into the JSON object
	result   map[string]string
	warnings []string // Slack's warnings of a success
}

func okReply(fields map[string]any) reply { return reply{status: 200, fields: fields} }
func errReply(code string) reply          { return reply{status: 200, code: code} }

type methodFunc func(s *Server, p map[string]string) reply

var methods = map[string]methodFunc{
	"auth.test":          (*Server).authTest,
	"chat.postMessage":   (*Server).postMessage,
	"chat.postEphemeral": (*Server).postEphemeral,
	"reactions.add":      (*Server).reactionsAdd,
	"conversations.open": (*Server).conversationsOpen,
	"conversations.info": (*Server).conversationsInfo,
	"conversations.list": (*Server).conversationsList,
	"users.info":         (*Server).usersInfo,
	"users.list":         (*Server).usersList,
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	call := Call{Method: method, Time: s.now()}
	params, token, err := readParams(r)
	call.Params = params

	var rep reply
	s.mu.Lock()
	f, faulted := s.takeFaultLocked(method)
	fn, known := methods[method]
	switch {
	case err != nil:
		rep = errReply("invalid_form_data")
	case !known:
		rep = errReply("unknown_method")
	case faulted:
		rep = faultReply(f)
	case token == "":
		rep = errReply("not_authed")
	case token != s.token:
		rep = errReply("invalid_auth")
	case s.revoked != "":
		rep = errReply(s.revoked)
	default:
		rep = fn(s, params)
	}
	s.mu.Unlock()
	if faulted && f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}

	call.Status, call.Error, call.Result, call.Warnings = rep.status, rep.code, rep.result, rep.warnings
	if faulted && f.Status == http.StatusTooManyRequests {
		call.RetryAfter = f.retryAfter()
	}
	// Record before answering, so a client that makes its next call as soon
	// as it has this answer always finds this one recorded first.
	s.rec.add(call)

	if faulted && f.Status == http.StatusTooManyRequests && f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	if rep.status >= 500 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(rep.status)
		io.WriteString(w, "<html><body>fake Slack is having a bad day</body></html>\n")
		return
	}
	body := map[string]any{"ok": rep.code == ""}
	if rep.code != "" {
		body["error"] = rep.code
	}
	for k, v := range rep.fields {
		body[k] = v
	}
	if len(rep.warnings) > 0 {
		// Slack says it twice: in warning, comma-separated, and in
		// response_metadata, with a sentence for each.
		body["warning"] = strings.Join(rep.warnings, ",")
		meta, _ := body["response_metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			body["response_metadata"] = meta
		}
		msgs := make([]string, len(rep.warnings))
		for i, w := range rep.warnings {
			msgs[i] = warningMessages[w]
		}
		meta["warnings"], meta["messages"] = rep.warnings, msgs
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(rep.status)
	_ = json.NewEncoder(w).Encode(body)
}

func faultReply(f Fault) reply {
	switch {
	case f.Status == http.StatusTooManyRequests:
		return reply{status: f.Status, code: "ratelimited"}
	case f.Status != 0 && f.Status != http.StatusOK:
		return reply{status: f.Status, code: http.StatusText(f.Status)}
	case f.Error != "":
		return errReply(f.Error)
	}
	return errReply("internal_error")
}

// readParams flattens the query and the form or JSON body into strings and
// takes the token out of them: from a form body, or else from an
// Authorization: Bearer header.
func readParams(r *http.Request) (map[string]string, string, error) {
	params := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&m); err != nil && err != io.EOF {
			return params, "", err
		}
		for k, v := range m {
			params[k] = flattenJSON(v)
		}
		for k, v := range r.URL.Query() {
			params[k] = strings.Join(v, ",")
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return params, "", err
		}
		for k, v := range r.Form {
			params[k] = strings.Join(v, ",")
		}
	default:
		if err := r.ParseForm(); err != nil {
			return params, "", err
		}
		for k, v := range r.Form {
			params[k] = strings.Join(v, ",")
		}
	}
	// Slack reads the token from a form body or the Authorization header;
	// not from a JSON body, nor (for apps created since February 2021)
	// from the query string. A token is never recorded.
	token := r.PostForm.Get("token")
	delete(params, "token")
	if token == "" {
		token, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	return params, token, nil
}

func flattenJSON(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: "files.download", Time: s.now(),
		Params: map[string]string{"id": r.PathValue("id"), "name": r.PathValue("name")}}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")

	s.mu.Lock()
	f, faulted := s.takeFaultLocked(call.Method)
	file, found := s.files[r.PathValue("id")]
	var content []byte
	switch {
	case faulted:
		call.Status = f.Status
		if call.Status == 0 {
			call.Status = http.StatusInternalServerError
		}
		if call.Status == http.StatusTooManyRequests {
			call.RetryAfter = f.retryAfter()
		}
	case token != s.token || s.revoked != "":
		// Slack sends those without access to the workspace's sign-in
		// page: a redirect, then a 200 web page, not the file.
		call.Status = http.StatusFound
	case !found || file.Name != r.PathValue("name"):
		call.Status = http.StatusNotFound
	default:
		call.Status = http.StatusOK
		content = slices.Clone(file.Content)
	}
	s.mu.Unlock()
	if call.Status != http.StatusOK {
		call.Error = http.StatusText(call.Status)
	}
	s.rec.add(call)

	if call.Status == http.StatusFound {
		http.Redirect(w, r, "/?redir="+url.QueryEscape(r.URL.Path), http.StatusFound)
		return
	}
	if call.Status != http.StatusOK {
		if call.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		http.Error(w, call.Error, call.Status)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	w.Write(content)
}

// serveSignIn is the workspace's sign-in page, where Slack sends a file
// download that lacks the right token.
func (s *Server) serveSignIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!DOCTYPE html><html><head><title>Sign in | Slack</title></head>"+
		"<body><p>You need to sign in to see this page.</p></body></html>\n")
}

func (s *Server) authTest(map[string]string) reply {
	return okReply(map[string]any{
		"url":     "https://" + strings.ToLower(s.team) + ".slack.com/",
		"team":    s.team,
		"user":    s.bot.Name,
		"team_id": s.teamID,
		"user_id": s.bot.ID,
		"bot_id":  s.botID,
	})
}

// targetLocked resolves where a message goes: a conversation ID, or a user
// ID for the bot's DM with that user.
func (s *Server) targetLocked(id string) (*Channel, string) {
	if c, ok := s.chansByID[id]; ok {
		member := c.IsIM || slices.Contains(c.Members, s.bot.ID)
		switch {
		case c.IsPrivate && !member:
			return nil, "channel_not_found"
		case c.IsArchived:
			return nil, "is_archived"
		case !member && !s.chatWritePublic:
			return nil, "not_in_channel"
		}
		return c, ""
	}
	if _, ok := s.usersByID[id]; ok {
		c, _, code := s.openIMLocked(id)
		return c, code
	}
	return nil, "channel_not_found"
}

func hasContent(p map[string]string) bool {
	return p["text"] != "" || (p["blocks"] != "" && p["blocks"] != "[]") || (p["attachments"] != "" && p["attachments"] != "[]")
}

func (s *Server) postMessage(p map[string]string) reply {
	c, code := s.targetLocked(p["channel"])
	switch {
	case code != "":
		return errReply(code)
	case !hasContent(p):
		return errReply("no_text")
	}
	text, cut := truncateText(p["text"])
	ts := s.newTSLocked()
	s.addMessageLocked(c.ID, ts)
	msg := map[string]any{"type": "message", "user": s.bot.ID, "bot_id": s.botID, "text": text, "ts": ts}
	if p["thread_ts"] != "" {
		msg["thread_ts"] = p["thread_ts"]
	}
	rep := okReply(map[string]any{"channel": c.ID, "ts": ts, "message": msg})
	rep.result = map[string]string{"channel": c.ID, "ts": ts}
	if cut {
		rep.warnings = []string{"message_truncated"}
	}
	return rep
}

func (s *Server) postEphemeral(p map[string]string) reply {
	c, code := s.targetLocked(p["channel"])
	if code != "" {
		return errReply(code)
	}
	u, ok := s.usersByID[p["user"]]
	switch {
	case !ok:
		return errReply("user_not_found")
	case !slices.Contains(c.Members, u.ID):
		return errReply("user_not_in_channel")
	case !hasContent(p):
		return errReply("no_text")
	}
	ts := s.newTSLocked()
	rep := okReply(map[string]any{"message_ts": ts})
	rep.result = map[string]string{"channel": c.ID, "ts": ts}
	if textTooLong(p["text"]) {
		rep.warnings = []string{"message_truncated"}
	}
	return rep
}

var (
	// emojiName is what an emoji name may look like: Slack's own names
	// (thumbsup, +1, e-mail, flag-us) and custom ones, with an optional
	// skin tone (wave::skin-tone-3). Slack also refuses a well-formed name
	// it has no emoji for; the fake cannot know those.
	emojiName = regexp.MustCompile(`^[\p{L}\p{N}_+\-'.]+(::skin-tone-[2-6])?$`)
	// messageTS is what a message timestamp looks like.
	messageTS = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
)

func (s *Server) reactionsAdd(p map[string]string) reply {
	name := strings.Trim(p["name"], ":")
	switch {
	case p["timestamp"] == "" || p["channel"] == "":
		return errReply("no_item_specified")
	case !emojiName.MatchString(name):
		return errReply("invalid_name")
	case !messageTS.MatchString(p["timestamp"]):
		return errReply("bad_timestamp")
	}
	// The message is in a conversation: a user ID names none (unlike a
	// post, whose channel may be a user ID for the DM).
	c, ok := s.chansByID[p["channel"]]
	switch {
	case !ok || !s.visibleLocked(c):
		return errReply("channel_not_found")
	case c.IsArchived:
		return errReply("is_archived")
	case s.knownMessages && !s.messages[c.ID+"/"+p["timestamp"]]:
		return errReply("message_not_found")
	case s.emoji != nil && !s.emoji[strings.SplitN(name, "::", 2)[0]]:
		return errReply("invalid_name")
	}
	key := c.ID + "/" + p["timestamp"] + "/" + name
	if s.reactions[key] {
		return errReply("already_reacted")
	}
	s.reactions[key] = true
	return okReply(nil)
}

func (s *Server) conversationsOpen(p map[string]string) reply {
	if id := p["channel"]; id != "" {
		c, ok := s.chansByID[id]
		if !ok || !c.IsIM {
			return errReply("channel_not_found")
		}
		return okReply(map[string]any{"channel": s.channelJSON(c), "no_op": true, "already_open": true})
	}
	users := strings.Split(p["users"], ",")
	switch {
	case p["users"] == "":
		return errReply("users_list_not_supplied")
	case len(users) > 1:
		// Group DMs: the bot never opens one.
		return errReply("not_supported_by_fake")
	}
	c, already, code := s.openIMLocked(users[0])
	if code != "" {
		return errReply(code)
	}
	var ch map[string]any
	if p["return_im"] == "true" || p["return_im"] == "1" {
		ch = s.channelJSON(c)
	} else {
		ch = map[string]any{"id": c.ID}
	}
	fields := map[string]any{"channel": ch}
	if already {
		// Slack says so only when the DM was open already.
		fields["no_op"], fields["already_open"] = true, true
	}
	rep := okReply(fields)
	rep.result = map[string]string{"channel": c.ID}
	return rep
}

func (s *Server) visibleLocked(c *Channel) bool {
	return !c.IsPrivate || c.IsIM || slices.Contains(c.Members, s.bot.ID)
}

func (s *Server) conversationsInfo(p map[string]string) reply {
	c, ok := s.chansByID[p["channel"]]
	if !ok || !s.visibleLocked(c) {
		return errReply("channel_not_found")
	}
	return okReply(map[string]any{"channel": s.channelJSON(c)})
}

func (s *Server) channelJSON(c *Channel) map[string]any {
	if c.IsIM {
		return map[string]any{"id": c.ID, "is_im": true, "is_private": true, "user": c.User, "created": 1700000000, "is_open": true}
	}
	return map[string]any{
		"id":              c.ID,
		"name":            c.Name,
		"name_normalized": c.Name,
		"is_channel":      !c.IsPrivate,
		"is_group":        c.IsPrivate,
		"is_private":      c.IsPrivate,
		"is_im":           false,
		"is_archived":     c.IsArchived,
		"is_member":       slices.Contains(c.Members, s.bot.ID),
		"num_members":     len(c.Members),
		"created":         1700000000,
	}
}

func (s *Server) userJSON(u *User) map[string]any {
	return map[string]any{
		"id":                  u.ID,
		"team_id":             s.teamID,
		"name":                u.Name,
		"real_name":           u.RealName,
		"deleted":             u.Deleted,
		"is_bot":              u.IsBot,
		"is_restricted":       u.IsRestricted,
		"is_ultra_restricted": u.IsUltraRestricted,
		"is_app_user":         u.IsAppUser,
		"profile":             map[string]any{"real_name": u.RealName, "display_name": u.Name},
	}
}

// pageLimit is how many items a page holds: the caller's limit (def when
// there is none, 0 meaning all; at most 1000), capped by the server's page
// size. 0 is no limit.
func (s *Server) pageLimit(p map[string]string, def int) (int, bool) {
	n := def
	if v := p["limit"]; v != "" && v != "0" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			return 0, false
		}
		n = min(n, 1000)
	}
	if s.pageSize > 0 && (n == 0 || n > s.pageSize) {
		n = s.pageSize
	}
	return n, true
}

// page returns one virtual page of list: the next n items of the
// collection (those in says are in it; n 0 is all of them), starting at the
// item the cursor names, of which it keeps only those keep accepts, and the
// cursor of the next page ("" at the end). As in Slack, keep is applied
// after the page is cut, so a page may hold fewer than n items, even none,
// before the end.
func page[T any](list []T, in, keep func(T) bool, id func(T) string, kind, cursor string, n int) (out []T, next string, code string) {
	start := 0
	if cursor != "" {
		want, ok := decodeCursor(kind, cursor)
		i := slices.IndexFunc(list, func(t T) bool { return id(t) == want })
		if !ok || i < 0 {
			return nil, "", "invalid_cursor"
		}
		start = i
	}
	taken := 0
	for _, t := range list[start:] {
		if !in(t) {
			continue
		}
		if n > 0 && taken == n {
			return out, encodeCursor(kind, id(t)), ""
		}
		taken++
		if keep(t) {
			out = append(out, t)
		}
	}
	return out, "", ""
}

func (s *Server) conversationsList(p map[string]string) reply {
	n, ok := s.pageLimit(p, 100)
	if !ok {
		return errReply("invalid_limit")
	}
	types := map[string]bool{}
	for _, t := range strings.Split(cmp.Or(p["types"], "public_channel"), ",") {
		switch t = strings.TrimSpace(t); t {
		case "public_channel", "private_channel", "im", "mpim":
			types[t] = true
		default:
			return errReply("invalid_types")
		}
	}
	exclArchived := p["exclude_archived"] == "true" || p["exclude_archived"] == "1"
	in := func(c *Channel) bool {
		switch {
		case c.IsIM:
			return types["im"]
		case c.IsPrivate:
			return types["private_channel"] && slices.Contains(c.Members, s.bot.ID)
		}
		return types["public_channel"]
	}
	keep := func(c *Channel) bool { return !exclArchived || !c.IsArchived }
	chans, next, code := page(s.chans, in, keep, func(c *Channel) string { return c.ID }, "channel", p["cursor"], n)
	if code != "" {
		return errReply(code)
	}
	out := make([]map[string]any, len(chans))
	for i, c := range chans {
		out[i] = s.channelJSON(c)
	}
	rep := okReply(map[string]any{"channels": out, "response_metadata": map[string]any{"next_cursor": next}})
	rep.result = map[string]string{"count": strconv.Itoa(len(out)), "next_cursor": next}
	return rep
}

func (s *Server) usersInfo(p map[string]string) reply {
	u, ok := s.usersByID[p["user"]]
	if !ok {
		return errReply("user_not_found")
	}
	return okReply(map[string]any{"user": s.userJSON(u)})
}

func (s *Server) usersList(p map[string]string) reply {
	// Without a limit Slack tries to list everyone at once.
	n, ok := s.pageLimit(p, 0)
	if !ok {
		return errReply("invalid_limit")
	}
	all := func(*User) bool { return true }
	users, next, code := page(s.users, all, all, func(u *User) string { return u.ID }, "user", p["cursor"], n)
	if code != "" {
		return errReply(code)
	}
	out := make([]map[string]any, len(users))
	for i, u := range users {
		out[i] = s.userJSON(u)
	}
	rep := okReply(map[string]any{"members": out, "response_metadata": map[string]any{"next_cursor": next}})
	rep.result = map[string]string{"count": strconv.Itoa(len(out)), "next_cursor": next}
	return rep
}
