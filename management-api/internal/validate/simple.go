package validate

import (
	"regexp"
	"strconv"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/common/store"
)

// Limits on free strings taken from bodies.
const (
	maxNameLen = 256
	maxKeyLen  = 1024
	// MaxPerPage caps ?per_page: larger values are lowered to it.
	MaxPerPage = 1000
	// maxPage bounds ?page so that (page-1)*per_page cannot overflow.
	maxPage = 1_000_000_000
)

// idPattern is OWT's rule for ids in paths (owt-protocol.md §5.2).
var idPattern = regexp.MustCompile(`^[0-9a-zA-Z\-_]+$`)

// PathID reports whether id is acceptable as a path id.
func PathID(id string) bool { return len(id) <= maxIDLen && idPattern.MatchString(id) }

// TokenRequest is a validated POST /rooms/{id}/tokens body. User and Role may be empty here;
// the handler applies the MAuth override before checking them against the room.
type TokenRequest struct {
	User       string            `json:"user"`
	Role       string            `json:"role"`
	Preference *store.Preference `json:"preference"`
	Domain     string            `json:"domain"`
}

// Token validates the body of a token request.
func Token(data []byte) (TokenRequest, error) {
	var t TokenRequest
	if err := strict(data, &t, ""); err != nil {
		return TokenRequest{}, err
	}
	if len(t.User) > maxNameLen || len(t.Role) > maxNameLen || len(t.Domain) > maxNameLen {
		return TokenRequest{}, errs.BadRequest("Name or role not valid")
	}
	if p := t.Preference; p != nil && (len(p.ISP) > maxNameLen || len(p.Region) > maxNameLen) {
		return TokenRequest{}, invalid("preference", "isp and region are strings up to 256 bytes")
	}
	fields := []struct{ name, value string }{{"user", t.User}, {"role", t.Role}, {"domain", t.Domain}}
	if p := t.Preference; p != nil {
		fields = append(fields, struct{ name, value string }{"preference.isp", p.ISP}, struct{ name, value string }{"preference.region", p.Region})
	}
	for _, f := range fields {
		if err := room.CheckText(f.name, f.value); err != nil {
			return TokenRequest{}, err
		}
	}
	return t, nil
}

// Claim validates the body of a room claim (POST /v1/rooms/claim, a Conclave extension):
// {"path": string}, a room path (room.CheckPath). It returns the path.
func Claim(data []byte) (string, error) {
	var in struct {
		Path *string `json:"path"`
	}
	if err := strict(data, &in, ""); err != nil {
		return "", err
	}
	if in.Path == nil {
		return "", required("path")
	}
	if err := room.CheckPath("path", *in.Path); err != nil {
		return "", err
	}
	return *in.Path, nil
}

// ServiceRequest is a validated POST /services body.
type ServiceRequest struct {
	Name string
	Key  string
}

// Service validates the body of a service creation: {name: string, key: string}, both
// non-empty.
func Service(data []byte) (ServiceRequest, error) {
	var in struct {
		Name *string `json:"name"`
		Key  *string `json:"key"`
	}
	if err := strict(data, &in, ""); err != nil {
		return ServiceRequest{}, err
	}
	if in.Name == nil || *in.Name == "" || len(*in.Name) > maxNameLen {
		return ServiceRequest{}, invalid("name", "a non-empty string up to 256 bytes")
	}
	if in.Key == nil || *in.Key == "" || len(*in.Key) > maxKeyLen {
		return ServiceRequest{}, invalid("key", "a non-empty string up to 1024 bytes")
	}
	if err := room.CheckText("name", *in.Name); err != nil {
		return ServiceRequest{}, err
	}
	if err := room.CheckText("key", *in.Key); err != nil {
		return ServiceRequest{}, err
	}
	return ServiceRequest{Name: *in.Name, Key: *in.Key}, nil
}

// Page turns ?page and ?per_page into skip and limit as OWT's roomInterface.list does:
// per_page > 0 sets the limit, page > 0 (with per_page) skips (page-1)*per_page, page without
// per_page is ignored, 0 means unset. Values that are not non-negative integers are a
// 400/1301 (OWT silently ignored them); per_page is capped at MaxPerPage.
func Page(page, perPage string) (skip, limit int, err error) {
	p, err := queryInt(page, "page", maxPage)
	if err != nil {
		return 0, 0, err
	}
	pp, err := queryInt(perPage, "per_page", maxPage)
	if err != nil {
		return 0, 0, err
	}
	if pp == 0 {
		return 0, 0, nil
	}
	limit = min(pp, MaxPerPage)
	if p > 0 {
		skip = (p - 1) * limit
	}
	return skip, limit, nil
}

func queryInt(s, name string, maxValue int) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, invalid(name, "a non-negative integer")
	}
	if n > maxValue {
		return 0, invalid(name, "too large")
	}
	return n, nil
}
