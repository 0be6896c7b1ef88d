package room

import (
	"strings"

	"github.com/conclave-rtc/conclave/common/errs"
)

// MaxPathLen bounds a room path, in bytes.
const MaxPathLen = 128

// CheckPath validates a room path, a Conclave extension that makes a room addressable by a
// URL path such as "team/standup" (the "urlPath" of an app server's getRoomId/claimRoom flow).
// A path is 1 to MaxPathLen bytes of segments separated by "/"; a segment is made of the
// characters RFC 3986 §2.3 leaves unreserved except upper-case letters — a-z, 0-9, ".", "_",
// "~", "-" — so a path needs no escaping in a URL and is written one way only (paths are
// compared exactly; upper case is refused, not folded). Empty segments (a leading, trailing
// or doubled "/") and the segments "." and ".." (which browsers resolve away) are refused.
// The error is a 400/1301 naming field.
func CheckPath(field, p string) error {
	if p == "" {
		return bad(field, "must not be empty")
	}
	if len(p) > MaxPathLen {
		return bad(field, "must be at most %d bytes", MaxPathLen)
	}
	for _, c := range p {
		if !pathRune(c) {
			return bad(field, `may only contain a-z, 0-9, ".", "_", "~", "-" and "/" (found %q)`, c)
		}
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
			return bad(field, `must not start or end with "/" or contain "//"`)
		case ".", "..":
			return bad(field, `must not have a "." or ".." segment`)
		}
	}
	return nil
}

// pathRune reports whether c may appear in a room path.
func pathRune(c rune) bool {
	switch {
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return strings.ContainsRune("._~-/", c)
}

// extension is the Conclave part of a create or update body: the room's path and pool flag,
// each with whether the body gave it.
type extension struct {
	path             string
	pool             bool
	hasPath, hasPool bool
}

// apply sets the path and pool flag the body gave on r.
func (ext extension) apply(r *Room) {
	if ext.hasPath {
		r.Path = ext.path
	}
	if ext.hasPool {
		r.Pool = ext.pool
	}
}

// takeExtension removes "path" and "pool" from obj and returns them. prefix names where obj is
// in error messages ("" or "options.").
func takeExtension(obj map[string]any, prefix string) (extension, error) {
	var ext extension
	if v, ok := obj["path"]; ok {
		delete(obj, "path")
		if ext.path, ok = v.(string); !ok {
			return ext, errs.BadRequestf("%spath must be a string", prefix)
		}
		ext.hasPath = true
	}
	if v, ok := obj["pool"]; ok {
		delete(obj, "pool")
		b, ok := v.(bool)
		if !ok {
			return ext, errs.BadRequestf("%spool must be a boolean", prefix)
		}
		ext.pool, ext.hasPool = b, true
	}
	return ext, nil
}
