package ffmpeg

import (
	"net/url"
	"regexp"
	"strings"
)

// userinfoRe finds "scheme://user[:password]@" inside free text (ffmpeg log lines).
var userinfoRe = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'"]*@`)

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
	return userinfoRe.ReplaceAllString(s, "${1}xxx@")
}
