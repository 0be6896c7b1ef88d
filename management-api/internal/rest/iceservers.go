package rest

import (
	"fmt"
	"math"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/iceconfig"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/management-api/internal/respond"
)

// maxICEUser bounds the user name put into TURN credentials.
const maxICEUser = 128

// iceServersAnswer is the body of GET /v1/iceservers: an RTCConfiguration fragment an
// application passes to its clients (browsers take it as it is: new RTCPeerConnection(answer)).
type iceServersAnswer struct {
	ICEServers []iceconfig.Server `json:"iceServers"`
	// Expires is when the TURN credentials stop working (absent without TURN); TTL is the
	// same in seconds from now.
	Expires *time.Time `json:"expires,omitempty"`
	TTL     int64      `json:"ttl,omitempty"`
}

// iceServers serves GET /v1/iceservers?user=<id>: the deployment's STUN and TURN servers with
// TURN credentials for that user (a Conclave extension, docs/networks.md). user is the id the
// application gives the participant (as in a token request); it ends up in the TURN
// username "<expiry>:<user>" and in the relay's logs and quota.
func (a *API) iceServers(c *gin.Context) {
	user := c.Query("user")
	switch {
	case user == "":
		respond.Error(c, errs.BadRequest("user is required"))
		return
	case len(user) > maxICEUser:
		respond.Error(c, errs.BadRequest(fmt.Sprintf("user is longer than %d bytes", maxICEUser)))
		return
	}
	if err := room.CheckText("user", user); err != nil {
		respond.Error(c, err)
		return
	}
	now := a.deps.Now()
	servers, expires := a.cfg.ICEServers.Servers(user, now)
	answer := iceServersAnswer{ICEServers: servers}
	if !expires.IsZero() {
		exp := expires.UTC()
		// Credentials expire on a whole second: rounded up, the TTL is the configured
		// lifetime rather than one second less half of the time.
		answer.Expires, answer.TTL = &exp, int64(math.Ceil(expires.Sub(now).Seconds()))
	}
	respond.JSON(c, answer)
}
