package whip

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// links returns the Link header values announcing the ICE servers (RFC 9725 §4.6), TURN
// credentials issued for the session's participant id.
func (s *Server) links(user string) []string {
	servers, _ := s.cfg.ICEServers.Servers(user, time.Now())
	var out []string
	for _, sv := range servers {
		for _, u := range sv.URLs {
			l := "<" + u + `>; rel="ice-server"`
			if sv.Username != "" {
				l += "; username=" + strconv.Quote(sv.Username) + "; credential=" + strconv.Quote(sv.Credential) +
					`; credential-type="password"`
			}
			out = append(out, l)
		}
	}
	return out
}

// mixedLabel returns the view label of a mixed stream (info.label).
func mixedLabel(st protocol.StreamInfo) string {
	var info struct {
		Label string `json:"label"`
	}
	_ = json.Unmarshal(st.Info, &info)
	return info.Label
}
