package medialink

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultTicketTTL is how long a ticket stays valid: long enough for one rtc.export round
// trip and a TCP connect, short enough that a leaked ticket is useless soon.
const DefaultTicketTTL = 30 * time.Second

const (
	ticketVersion = "v1"
	nonceSize     = 16
	maxTicketLen  = 1024
)

// b64 is strict so every ticket has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// Ticket is a parsed, not yet verified, ticket: "v1.<b64url trackId>.<expiry unix s>.
// <b64url nonce>.<b64url mac>".
type Ticket struct {
	TrackID string
	Expiry  time.Time
	Nonce   []byte
	MAC     []byte
}

// ParseTicket parses the structure of a ticket. It does not verify the MAC.
func ParseTicket(s string) (Ticket, error) {
	if len(s) > maxTicketLen {
		return Ticket{}, fmt.Errorf("%w: too long", ErrBadTicket)
	}
	parts := strings.Split(s, ".")
	if len(parts) != 5 || parts[0] != ticketVersion {
		return Ticket{}, fmt.Errorf("%w: bad structure", ErrBadTicket)
	}
	track, err1 := b64.DecodeString(parts[1])
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	nonce, err3 := b64.DecodeString(parts[3])
	mac, err4 := b64.DecodeString(parts[4])
	switch {
	case err1 != nil || err2 != nil || err3 != nil || err4 != nil:
		return Ticket{}, fmt.Errorf("%w: bad encoding", ErrBadTicket)
	case strconv.FormatInt(exp, 10) != parts[2]:
		return Ticket{}, fmt.Errorf("%w: non-canonical expiry", ErrBadTicket)
	case len(track) == 0 || len(nonce) != nonceSize || len(mac) != sha256.Size || exp <= 0:
		return Ticket{}, fmt.Errorf("%w: bad field sizes", ErrBadTicket)
	}
	return Ticket{TrackID: string(track), Expiry: time.Unix(exp, 0), Nonce: nonce, MAC: mac}, nil
}

// String encodes the ticket.
func (t Ticket) String() string {
	return strings.Join([]string{ticketVersion, b64.EncodeToString([]byte(t.TrackID)),
		strconv.FormatInt(t.Expiry.Unix(), 10), b64.EncodeToString(t.Nonce),
		b64.EncodeToString(t.MAC)}, ".")
}

// Ticketer issues and redeems tickets under one key.
type Ticketer struct {
	key []byte
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	used map[string]time.Time // nonce → expiry, kept until expiry for one-use checks
}

// NewTicketer returns a ticketer keyed with secret (at least 16 bytes). ttl <= 0 means
// DefaultTicketTTL; now nil means time.Now.
func NewTicketer(secret []byte, ttl time.Duration, now func() time.Time) (*Ticketer, error) {
	if len(secret) < 16 {
		return nil, fmt.Errorf("%w: secret must be at least 16 bytes", ErrConfig)
	}
	if ttl <= 0 {
		ttl = DefaultTicketTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Ticketer{key: append([]byte(nil), secret...), ttl: ttl, now: now, used: map[string]time.Time{}}, nil
}

// Issue returns a fresh ticket for trackID.
func (tk *Ticketer) Issue(trackID string) (string, error) {
	if trackID == "" {
		return "", fmt.Errorf("%w: empty track id", ErrBadTicket)
	}
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("medialink: nonce: %w", err)
	}
	// Round the expiry up so a ticket is never shorter-lived than ttl.
	t := Ticket{TrackID: trackID, Expiry: tk.now().Add(tk.ttl + time.Second).Truncate(time.Second), Nonce: nonce}
	t.MAC = tk.mac(t)
	return t.String(), nil
}

// Redeem verifies a ticket and consumes it, returning its track id.
func (tk *Ticketer) Redeem(s string) (string, error) {
	t, err := ParseTicket(s)
	if err != nil {
		return "", err
	}
	if !hmac.Equal(t.MAC, tk.mac(t)) {
		return "", fmt.Errorf("%w: signature mismatch", ErrBadTicket)
	}
	now := tk.now()
	if !now.Before(t.Expiry) {
		return "", ErrTicketExpired
	}
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.prune(now)
	if _, ok := tk.used[string(t.Nonce)]; ok {
		return "", ErrTicketReused
	}
	tk.used[string(t.Nonce)] = t.Expiry
	return t.TrackID, nil
}

// prune forgets nonces of expired tickets; those tickets fail the expiry check anyway.
func (tk *Ticketer) prune(now time.Time) {
	for n, exp := range tk.used {
		if !now.Before(exp) {
			delete(tk.used, n)
		}
	}
}

// mac computes HMAC-SHA256 over the version, track id, expiry and nonce, each
// length-delimited so no two field combinations share an encoding.
func (tk *Ticketer) mac(t Ticket) []byte {
	h := hmac.New(sha256.New, tk.key)
	for _, field := range [][]byte{[]byte(ticketVersion), []byte(t.TrackID),
		[]byte(strconv.FormatInt(t.Expiry.Unix(), 10)), t.Nonce} {
		var l [4]byte
		l[0], l[1], l[2], l[3] = byte(len(field)>>24), byte(len(field)>>16), byte(len(field)>>8), byte(len(field))
		h.Write(l[:])
		h.Write(field)
	}
	return h.Sum(nil)
}
