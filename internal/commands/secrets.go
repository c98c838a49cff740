package commands

import (
	"net"
	"regexp"
	"strings"
)

// secretNote tells the poster why their code got no Playground link. It is
// ephemeral: a reply in the channel would point everyone at the secret.
const secretNote = "I did not put your code on the Go Playground: it seems to hold a secret, such as an access token, " +
	"a private key or a password in a connection string, and snippets there are public and cannot be deleted. " +
	"If the secret is a real one, delete your message and revoke the secret."

// secretPatterns are shapes of credentials that only a real secret has:
// the fixed prefixes of issued tokens, and key blocks. Each has a name for
// the log, which never holds the match itself.
var secretPatterns = []struct {
	name string
	re   *regexp.Regexp
}{
	{"private key", regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`)},
	{"Slack token", regexp.MustCompile(`\bxox[abposre]-\d{6,}-[0-9A-Za-z-]{10,}|\bxapp-\d-[0-9A-Z]{6,}-\d+-[0-9a-f]{16,}`)},
	{"Slack webhook", regexp.MustCompile(`hooks\.slack\.com/(?:services|workflows|triggers)/T[0-9A-Z]{6,}/`)},
	{"GitHub token", regexp.MustCompile(`\bgh[pousr]_[0-9A-Za-z]{36,}|\bgithub_pat_[0-9A-Za-z_]{22,}`)},
	{"GitLab token", regexp.MustCompile(`\bglpat-[0-9A-Za-z_-]{20,}`)},
	{"AWS access key", regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{"Google API key", regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`)},
	{"Stripe key", regexp.MustCompile(`\b[rs]k_live_[0-9A-Za-z]{16,}`)},
	{"API key", regexp.MustCompile(`\bsk-(?:proj-|ant-[a-z0-9]+-)?[0-9A-Za-z_-]{32,}`)},
	{"JSON web token", regexp.MustCompile(`\beyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{8,}`)},
}

var (
	// urlCredentials is user:password@host in a URL (postgres://, amqp://,
	// https://...); the groups are the password and the host.
	urlCredentials = regexp.MustCompile(`\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@"'` + "`" + `]*:([^\s/@"'` + "`" + `]+)@(\[[^\]\s]+\]|[^\s/:?#"'` + "`" + `]+)`)
	// dsnCredentials is the MySQL driver's user:password@tcp(host:port).
	dsnCredentials = regexp.MustCompile(`[\w.-]*:([^\s/@"'` + "`" + `(]+)@(?:tcp|unix)\(([^)\s:]*)`)
	// keyLiteral is a string literal given to a name that says it holds a
	// credential: apiKey := "...", Token: "...".
	keyLiteral = regexp.MustCompile(`(?i)\b\w*(?:api_?key|secret|token|passw(?:or)?d|credential|private_?key|access_?key)\w*"?\s*(?::=|=|:)\s*"([^"\s]{16,})"`)
	// placeholderValue is a value that stands for a credential rather
	// than being one: a template, an example, a run of x.
	placeholderValue = regexp.MustCompile(`(?i)^[$%{<]|your|example|placeholder|changeme|redacted|^x+$|^\*+$|^(?:password|passwd|pass|secret|pwd)$`)
)

// secretIn returns the kind of credential code seems to hold, or "" when
// none. A snippet on the Playground is public and stays there, so a guess
// errs on the side of not sharing; still, what only names a credential (an
// environment variable, a placeholder, the password of a database on
// localhost or a compose service) is no secret.
func secretIn(code string) string {
	for _, p := range secretPatterns {
		if p.re.MatchString(code) {
			return p.name
		}
	}
	for _, re := range []*regexp.Regexp{urlCredentials, dsnCredentials} {
		for _, m := range re.FindAllStringSubmatch(code, -1) {
			if !placeholderValue.MatchString(m[1]) && !localHost(m[2]) {
				return "password in a connection string"
			}
		}
	}
	for _, m := range keyLiteral.FindAllStringSubmatch(code, -1) {
		if v := m[1]; !placeholderValue.MatchString(v) && strings.ContainsAny(v, "0123456789") && strings.IndexFunc(v, isLetter) >= 0 {
			return "credential in a string literal"
		}
	}
	return ""
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// localHost reports whether host is one whose password means nothing
// outside the poster's machine: a loopback address, a unix socket, a name
// without a dot (a compose service such as "db"), a reserved example or
// test domain, or a template.
func localHost(host string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	if strings.HasPrefix(host, "/") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || ip.IsUnspecified()
	}
	if !strings.Contains(host, ".") || strings.ContainsAny(host, "%${<") {
		return true
	}
	for _, suffix := range []string{".localhost", ".local", ".test", ".example", ".invalid", "example.com", "example.org", "example.net"} {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
}
