package devtokens

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"

	"github.com/conclave-rtc/conclave/common/room"
)

// PathFor maps a room name typed on the demo page, or the part of a /r/<path> link after /r/,
// to a room path (room.CheckPath). A name that is a valid path once lower-cased is that path.
// Otherwise "/" separates segments; within a segment, every run of characters other than
// a-z, 0-9, ".", "_", "~" and "-" becomes one "-", and "-" is trimmed from both ends; empty,
// "." and ".." segments are dropped. So "Team Standup" and "team-standup" name the same room.
// A name with other letters (e.g. "Café", "会議") would lose them: a short hash of the name is
// appended so that such names do not collide, and a name left with nothing (or too long) gets
// one too.
func PathFor(name string) string {
	lower := strings.ToLower(name)
	if room.CheckPath("path", lower) == nil {
		return lower
	}
	p := slug(lower)
	if len(p) > room.MaxPathLen {
		p = strings.TrimRight(p[:room.MaxPathLen-9], "-/") + "-" + nameHash(lower)
	}
	if room.CheckPath("path", p) != nil { // nothing left, or cut into a "." segment
		return "room-" + nameHash(lower)
	}
	return p
}

// slug is the segment-wise mapping of PathFor, with the hash for names that lose letters.
func slug(name string) string {
	var segs []string
	ascii := true
	for seg := range strings.SplitSeq(name, "/") {
		var b strings.Builder
		for _, c := range seg {
			switch {
			case c > unicode.MaxASCII:
				ascii = false
				b.WriteByte('-')
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', strings.ContainsRune("._~-", c):
				b.WriteRune(c)
			default:
				b.WriteByte('-')
			}
		}
		s := strings.Trim(collapseDashes(b.String()), "-")
		if s != "" && s != "." && s != ".." {
			segs = append(segs, s)
		}
	}
	if len(segs) == 0 {
		return ""
	}
	if !ascii {
		segs[len(segs)-1] += "-" + nameHash(name)
	}
	return strings.Join(segs, "/")
}

// collapseDashes turns every run of "-" into one.
func collapseDashes(s string) string {
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	return s
}

// nameHash is 8 hex characters of the name's SHA-256.
func nameHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:4])
}
