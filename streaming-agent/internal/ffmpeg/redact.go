package ffmpeg

import (
	"net/url"
	"regexp"
	"strings"
)

// In free text (ffmpeg log lines, joined command lines): userinfoRe finds
// "scheme://user[:password]@" up to the last '@' before the path (a password may hold a raw
// '@'), queryRe a URL's query string.
var (
	userinfoRe = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/\s'"]*@`)
	queryRe    = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s'"?]*)\?[^\s'"]*`)
)

// Redact removes URL credentials (userinfo) and query strings that may hold tokens from
// s, which may be a URL or a log line containing URLs, so they never reach a log or event.
func Redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && !strings.ContainsAny(s, " \t") {
		if u.User != nil {
			u.User = url.User("xxx")
		}
		if u.RawQuery != "" {
			u.RawQuery = "xxx"
		}
		return u.String()
	}
	s = userinfoRe.ReplaceAllString(s, "${1}xxx@")
	return queryRe.ReplaceAllString(s, "${1}?xxx")
}
