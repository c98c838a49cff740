package slackapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/gophers/gopherbot/handler"
	"github.com/gophers/gopherbot/workqueue"
)

// ErrTokenRejected is wrapped by the error of any call that Slack refused
// because it does not accept the token (invalid, revoked, expired, or its
// account deactivated): no call will work until the token is replaced.
var ErrTokenRejected = errors.New("the Slack bot token was rejected")

// tokenCodes are the error codes of a token Slack does not accept.
var tokenCodes = map[string]bool{
	"invalid_auth": true, "not_authed": true, "account_inactive": true,
	"token_revoked": true, "token_expired": true, "not_allowed_token_type": true,
}

// ErrTooLarge is wrapped by DownloadFile's error when the file is larger
// than asked.
var ErrTooLarge = errors.New("file too large")

// ErrOutcomeUnknown is wrapped by the error of a call Slack may have acted
// on: its request went out in full but no answer came (the connection
// broke, or the client or ctx gave up waiting), or Slack answered with a
// server error other than 503 (500, 502, 504, ...), or the error code
// internal_error or fatal_error. It is handler.ErrOutcomeUnknown, so that
// handlers can tell without knowing this package.
var ErrOutcomeUnknown = handler.ErrOutcomeUnknown

// Error is a failed Web API call, after the retries that could help.
// It unwraps to the underlying error and, when retrying cannot fix it, to
// workqueue.ErrPermanent, so the queue dead-letters the event at once.
type Error struct {
	Method     string
	Code       string        // Slack's error code, e.g. "channel_not_found"; "" when there was none
	Status     int           // HTTP status when not 200, else 0
	RetryAfter time.Duration // what a 429 asked for, or the wait that did not fit the deadline
	Permanent  bool          // retrying cannot fix it
	Unsure     bool          // Slack may have acted on the call (ErrOutcomeUnknown)
	Err        error
}

func (e *Error) Error() string {
	reason := e.Code
	if reason == "" {
		reason = e.Err.Error()
	}
	switch {
	case e.TokenRejected():
		return fmt.Sprintf("slack %s: %s (permanent): %s; check SLACK_BOT_TOKEN", e.Method, reason, ErrTokenRejected)
	case e.Permanent:
		return fmt.Sprintf("slack %s: %s (permanent)", e.Method, reason)
	case e.Unsure:
		return fmt.Sprintf("slack %s: %s (outcome unknown)", e.Method, reason)
	}
	return fmt.Sprintf("slack %s: %s", e.Method, reason)
}

// TokenRejected reports whether Slack refused the call for its token.
func (e *Error) TokenRejected() bool { return e.Permanent && tokenCodes[e.Code] }

// Unwrap returns the cause, workqueue.ErrPermanent when it is permanent,
// ErrTokenRejected when the token is why, and ErrOutcomeUnknown when Slack
// may have acted on the call.
func (e *Error) Unwrap() []error {
	errs := []error{e.Err}
	if e.Permanent {
		errs = append(errs, workqueue.ErrPermanent)
	}
	if e.TokenRejected() {
		errs = append(errs, ErrTokenRejected)
	}
	if e.Unsure {
		errs = append(errs, ErrOutcomeUnknown)
	}
	return errs
}

// Code returns Slack's error code of a failed call ("channel_not_found"),
// or "" when err carries none.
func Code(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return ""
}

// RetryAfter is how long Slack asked to wait (a 429), or the wait that did
// not fit the deadline, when err is a failed call's; else 0. A paged lister
// waits this long, then asks again with the same cursor.
func RetryAfter(err error) time.Duration {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.RetryAfter
	}
	return 0
}

// LongestRetryAfter is the longest RetryAfter of the failed calls anywhere
// in err's tree (errors.As would find only the first), or 0: how long a
// caller that made several calls should wait before trying them again.
func LongestRetryAfter(err error) time.Duration {
	var d time.Duration
	if e, ok := err.(*Error); ok {
		return e.RetryAfter
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if inner := u.Unwrap(); inner != nil {
			d = LongestRetryAfter(inner)
		}
	case interface{ Unwrap() []error }:
		for _, inner := range u.Unwrap() {
			if inner != nil {
				d = max(d, LongestRetryAfter(inner))
			}
		}
	}
	return d
}

// permanentCodes are Slack error codes that the same call will meet again,
// however often it is retried. Any other code is taken as transient: the
// queue retries, then dead-letters. (org_login_required and
// team_added_to_org are transient: Slack says they last while the
// workspace moves into an Enterprise organization.)
var permanentCodes = map[string]bool{
	// The token or the app.
	"invalid_auth": true, "not_authed": true, "account_inactive": true,
	"token_revoked": true, "token_expired": true, "no_permission": true,
	"missing_scope": true, "not_allowed_token_type": true, "ekm_access_denied": true,
	"team_access_not_granted": true, "access_denied": true, "accesslimited": true,
	"enterprise_is_restricted": true, "two_factor_setup_required": true, "is_bot": true,
	"method_deprecated": true, "deprecated_endpoint": true, "unknown_method": true,
	// Where.
	"channel_not_found": true, "not_in_channel": true, "is_archived": true,
	"user_not_found": true, "user_not_in_channel": true, "user_disabled": true,
	"cannot_dm_bot": true, "restricted_action": true, "restricted_action_read_only_channel": true,
	"restricted_action_thread_only_channel": true, "restricted_action_non_threadable_channel": true,
	"team_not_found": true, "message_not_found": true, "thread_not_found": true,
	"cannot_reply_to_message": true, "users_list_not_supplied": true,
	"user_not_visible": true, "invalid_user_combination": true, "not_enough_users": true,
	"too_many_users": true, "method_not_supported_for_channel_type": true,
	"messages_tab_disabled": true, "not_reactable": true, "file_not_found": true,
	"file_comment_not_found": true,
	// What.
	"msg_too_long": true, "no_text": true, "too_many_attachments": true,
	"invalid_blocks": true, "invalid_blocks_format": true, "invalid_attachments": true,
	"invalid_name": true, "bad_timestamp": true, "no_item_specified": true,
	"too_many_emoji": true, "too_many_reactions": true, "invalid_arguments": true,
	"invalid_arg_name": true, "invalid_array_arg": true, "invalid_charset": true,
	"invalid_form_data": true, "invalid_post_type": true, "missing_post_type": true,
	"invalid_cursor": true, "invalid_limit": true, "invalid_types": true,
	"duplicate_channel_not_found": true, "duplicate_message_not_found": true,
	"as_user_not_supported": true, "slack_connect_file_link_sharing_blocked": true,
	"markdown_text_conflict": true, "attachment_payload_limit_exceeded": true,
	"missing_argument": true, "limit_required": true,
}

// rateLimitCodes are the error codes Slack documents for a call turned
// away by a rate limit (chat.postMessage's rate_limited; ratelimited,
// which a 429's body also says).
var rateLimitCodes = map[string]bool{"ratelimited": true, "rate_limited": true}

// rateLimited reports whether Slack turned the call away for a rate limit.
func (e *Error) rateLimited() bool {
	return e.Status == http.StatusTooManyRequests || rateLimitCodes[e.Code]
}

// maybeActed reports whether Slack may have acted on a call it answered
// with this HTTP status or error code: a server error other than 503
// (unavailable: turned away), be it one Slack is known to send (500, 502,
// 504) or not (a 520 or 524 of an edge in front of it), and the codes
// Slack documents as possibly done in part.
func maybeActed(status int, code string) bool {
	if status >= 500 && status <= 599 && status != http.StatusServiceUnavailable {
		return true
	}
	return code == "internal_error" || code == "fatal_error"
}

// classify turns what slack-go (or the download) returned into an *Error.
func classify(method string, err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	e := &Error{Method: method, Err: err}
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		e.Status, e.Code, e.RetryAfter = http.StatusTooManyRequests, "ratelimited", rl.RetryAfter
		return e
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		e.Status = sc.Code
		e.Unsure = maybeActed(sc.Code, "")
		// The Web API answers its own errors with 200 and a code; another
		// 4xx (a wrong URL, a method gone) stays the same on a retry.
		e.Permanent = sc.Code >= 400 && sc.Code < 500 && sc.Code != http.StatusRequestTimeout && sc.Code != http.StatusTooManyRequests
		if sc.Code == http.StatusTooManyRequests {
			// A 429 without Retry-After (slack-go does not take it for a
			// rate limit) is one all the same; a second is Slack's
			// shortest window, where a backoff would only meet it again.
			e.Code, e.RetryAfter = "ratelimited", time.Second
		}
		return e
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		e.Code = se.Err
		e.Permanent = permanentCodes[se.Err]
		e.Unsure = maybeActed(0, se.Err)
		if rateLimitCodes[se.Err] {
			// Said with a 200, without the 429's Retry-After: a second,
			// as for a 429 without one.
			e.RetryAfter = time.Second
		}
		return e
	}
	// Network errors, context errors, a body that is not JSON: transient.
	return e
}

// reason is what the log says about a failure.
func (e *Error) reason() string {
	switch {
	case e.Code != "":
		return e.Code
	case e.Status != 0:
		return fmt.Sprintf("HTTP %d", e.Status)
	case errors.Is(e.Err, context.DeadlineExceeded):
		return "deadline exceeded"
	case errors.Is(e.Err, context.Canceled):
		return "canceled"
	}
	return e.Err.Error()
}
