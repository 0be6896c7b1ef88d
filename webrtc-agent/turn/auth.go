package turn

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/common/turncred"
	"github.com/pion/turn/v5"
)

// Stats are the server's counters.
type Stats struct {
	// Allocations is the number of allocations now.
	Allocations int
	// AuthFailures counts requests refused for their credentials: malformed or expired
	// usernames, a wrong realm, a wrong password (MESSAGE-INTEGRITY).
	AuthFailures uint64
	// QuotaRefusals counts Allocate requests refused with 486 for the user's quota.
	QuotaRefusals uint64
	// PeerRefusals counts permissions and channel bindings refused for their peer, and
	// datagrams the relay sockets dropped for the peer's port.
	PeerRefusals uint64
}

type counters struct {
	authFailures, quotaRefusals, peerRefusals atomic.Uint64
}

// authenticate is pion's AuthHandler: the TURN REST API username is checked here, the password
// by pion through MESSAGE-INTEGRITY with the long-term key (RFC 8489 section 9.2) we return.
// The user id pion keeps for the allocation (and passes to the quota) is the user part of the
// name, or the whole name when it is expiry-only.
func (s *Server) authenticate(ra *turn.RequestAttributes) (userID string, key []byte, ok bool) {
	user, err := turncred.Check(s.cfg.Secret, ra.Username, time.Now())
	if err == nil && ra.Realm != s.cfg.Realm {
		err = errWrongRealm
	}
	if err != nil {
		s.stats.authFailures.Add(1)
		s.log.Debug("turn request refused", "username", ra.Username, "client", addrString(ra.SrcAddr),
			"method", ra.Method.String(), "err", err)
		return "", nil, false
	}
	if user == "" {
		user = ra.Username
	}
	return user, turn.GenerateAuthKey(ra.Username, ra.Realm, turncred.Password(s.cfg.Secret, ra.Username)), true
}

// onAuth is pion's auth event: a false verdict after authenticate accepted the username means
// the MESSAGE-INTEGRITY did not match, i.e. a wrong password.
func (s *Server) onAuth(src, _ net.Addr, _, username, _, method string, verdict bool) {
	if !verdict {
		s.stats.authFailures.Add(1)
		s.log.Debug("turn request refused", "username", username, "client", addrString(src),
			"method", method, "err", "wrong password")
	}
}

// quota counts each user's allocations from pion's allocation events. The QuotaHandler runs
// before the allocation exists, so concurrent Allocate requests of one user (over several
// client sockets) can each pass and overshoot the quota by the number in flight.
type quota struct {
	limit int // < 0: none
	mu    sync.Mutex
	users map[string]int
	total int
	idle  chan struct{} // closed while total is 0
}

func newQuota(limit int) *quota {
	idle := make(chan struct{})
	close(idle)
	return &quota{limit: limit, users: map[string]int{}, idle: idle}
}

func (q *quota) allow(user string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.limit < 0 || q.users[user] < q.limit
}

func (q *quota) created(user string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.users[user]++
	if q.total++; q.total == 1 {
		q.idle = make(chan struct{})
	}
}

func (q *quota) deleted(user string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.total == 0 {
		return // never counted: pion pairs the events, this only guards the channel
	}
	if q.users[user]--; q.users[user] <= 0 {
		delete(q.users, user)
	}
	if q.total--; q.total == 0 {
		close(q.idle)
	}
}

// allocations returns the current total and a channel closed once it is 0.
func (q *quota) allocations() (int, <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.total, q.idle
}

// allowAllocation is pion's QuotaHandler (userID from authenticate).
func (s *Server) allowAllocation(userID, _ string, src net.Addr) bool {
	if s.quota.allow(userID) {
		return true
	}
	s.stats.quotaRefusals.Add(1)
	s.log.Debug("turn allocation refused: quota", "user", userID, "client", addrString(src), "quota", s.cfg.UserQuota)
	return false
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
