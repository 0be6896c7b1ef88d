package turn

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/turncred"
	"github.com/pion/turn/v5"
)

// TestTURNAuthHandler checks the user ids and keys authenticate hands pion.
func TestTURNAuthHandler(t *testing.T) {
	s := &Server{cfg: testConfig().withDefaults(), log: testLogger(), quota: newQuota(1)}
	src := &net.UDPAddr{IP: loopback, Port: 5000}
	fresh := turncred.New(testSecret, "alice", time.Hour, time.Now())
	expiryOnly := turncred.New(testSecret, "", time.Hour, time.Now())
	expired := turncred.New(testSecret, "alice", -time.Hour, time.Now())
	for _, tc := range []struct {
		name, username, realm, wantUser string
		ok                              bool
	}{
		{"user", fresh.Username, DefaultRealm, "alice", true},
		{"expiry only", expiryOnly.Username, DefaultRealm, expiryOnly.Username, true},
		{"expired", expired.Username, DefaultRealm, "", false},
		{"malformed", "alice", DefaultRealm, "", false},
		{"other realm", fresh.Username, "elsewhere", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.stats.authFailures.Load()
			user, key, ok := s.authenticate(&turn.RequestAttributes{Username: tc.username, Realm: tc.realm, SrcAddr: src})
			if ok != tc.ok || user != tc.wantUser {
				t.Fatalf("authenticate = %q, %v; want %q, %v", user, ok, tc.wantUser, tc.ok)
			}
			if !ok {
				if s.stats.authFailures.Load() != before+1 {
					t.Fatal("refusal not counted")
				}
				return
			}
			want := turn.GenerateAuthKey(tc.username, tc.realm, turncred.Password(testSecret, tc.username))
			if !bytes.Equal(key, want) {
				t.Fatalf("key = %x, want %x", key, want)
			}
		})
	}
}

func TestTURNQuotaCounts(t *testing.T) {
	q := newQuota(2)
	if !q.allow("a") {
		t.Fatal("empty quota refuses")
	}
	q.created("a")
	q.created("a")
	q.created("b")
	if q.allow("a") || !q.allow("b") {
		t.Fatal("quota of 2 not applied per user")
	}
	if n, idle := q.allocations(); n != 3 || isClosed(idle) {
		t.Fatalf("allocations = %d, idle %v", n, isClosed(idle))
	}
	q.deleted("a")
	q.deleted("a")
	q.deleted("b")
	if n, idle := q.allocations(); n != 0 || !isClosed(idle) || len(q.users) != 0 {
		t.Fatalf("allocations = %d, idle %v, users %v", n, isClosed(idle), q.users)
	}
	q.deleted("a") // unpaired: ignored, no panic on the closed channel
	if !newQuota(-1).allow("a") {
		t.Fatal("negative quota limits")
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
