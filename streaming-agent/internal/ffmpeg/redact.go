package ffmpeg

import (
	"net/url"
	"regexp"
	"strings"
)

// In free text (ffmpeg log lines, joined command lines), anything before "://" counts as a
// scheme, valid or not (hiding too much is the safe side): userinfoRe finds
// "scheme://user[:password]@" up to the last '@' before the path (a password may hold a raw
// '@'), queryRe a URL's query string, pathRe a URL's path after the host (up to white space,
// a quote or a query), which redactPath shortens.
var (
	userinfoRe = regexp.MustCompile(`([A-Za-z0-9+.-]*://)[^/\s'"]*@`)
	queryRe    = regexp.MustCompile(`([A-Za-z0-9+.-]*://[^\s'"?]*)\?[^\s'"]*`)
	pathRe     = regexp.MustCompile(`([A-Za-z0-9+.-]*://[^/\s'"?]+)(/[^\s'"?]*)`)
)

// redacted replaces what Redact hides.
const redacted = "xxx"

// Redact hides what a streaming URL may carry as a secret — credentials (userinfo), the
// query string, the fragment and the path after its first segment (an RTMP stream key:
// rtmp://host/app/<key>, or keys with more segments) — in s, which may be a URL or a log line
// containing URLs, so that they never reach a log, an event or an error answer.
// rtmp://u:p@host/app/key/x?t=1 becomes rtmp://xxx@host/app/xxx?xxx.
func Redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" && !strings.ContainsAny(s, " \t") {
		if u.User != nil {
			u.User = url.User(redacted)
		}
		if u.RawQuery != "" {
			u.RawQuery = redacted
		}
		if u.Fragment != "" {
			u.Fragment, u.RawFragment = redacted, ""
		}
		u.Path, u.RawPath = redactPath(u.Path), ""
		return u.String()
	}
	s = userinfoRe.ReplaceAllString(s, "${1}"+redacted+"@")
	s = queryRe.ReplaceAllString(s, "${1}?"+redacted)
	return pathRe.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.Index(m, "://")
		j := i + 3 + strings.IndexByte(m[i+3:], '/')
		// A colon ending the path belongs to the text ("rtsp://h/s: Connection refused").
		p := strings.TrimRight(m[j:], ":")
		return m[:j] + redactPath(p) + m[j+len(p):]
	})
}

// redactPath keeps a path's first segment when more follow (an RTMP application name) and
// replaces the rest, or the only segment, with redacted; trailing slashes stay.
func redactPath(p string) string {
	trimmed := strings.TrimRight(p, "/")
	if trimmed == "" {
		return p
	}
	suffix := p[len(trimmed):]
	rest := strings.TrimPrefix(trimmed, "/")
	if i := strings.IndexByte(rest, '/'); i > 0 {
		return "/" + rest[:i+1] + redacted + suffix
	}
	return "/" + redacted + suffix
}

// networkFailures are ffmpeg's (and the system's) words for a failed connection. Which one a
// target produces tells an open port from a closed or filtered one, so answers say only that
// the connection failed (the detail is logged).
var networkFailures = []string{"connection refused", "timed out", "timeout", "no route to host",
	"network is unreachable", "connection reset", "host is down", "broken pipe",
	"end of file", "i/o error", "input/output error", "server returned", "handshake"}

// PublicReason is an ffmpeg failure as a client may see it: redacted, and only "connection
// to the target failed" for anything that reveals how a connection attempt went.
func PublicReason(s string) string {
	lower := strings.ToLower(s)
	for _, w := range networkFailures {
		if strings.Contains(lower, w) {
			return "connection to the target failed"
		}
	}
	return Redact(s)
}
