package signaling

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// maxTicketLen bounds the ticket strings decoded.
const maxTicketLen = 2048

// Ticket is an OWT reconnection ticket (owt-protocol.md §4.3): base64 of this JSON.
type Ticket struct {
	ParticipantID string `json:"participantId"`
	TicketID      string `json:"ticketId"`
	NotBefore     int64  `json:"notBefore"` // ms since the epoch
	NotAfter      int64  `json:"notAfter"`
	Signature     string `json:"signature"`
}

// Tickets issues and checks reconnection tickets with a portal-local key, so a relogin
// must reach the portal that issued the ticket (as in OWT).
type Tickets struct {
	key      string // hex of 64 random bytes, used as the HMAC key text as OWT does
	lifetime time.Duration
}

// NewTickets returns a ticket authority with a fresh random key.
func NewTickets(lifetime time.Duration) *Tickets {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	return &Tickets{key: hex.EncodeToString(b), lifetime: lifetime}
}

// sign computes base64(hex(HMAC_SHA256(key, participantId,notBefore,notAfter))).
func (t *Tickets) sign(participantID string, notBefore, notAfter int64) string {
	mac := hmac.New(sha256.New, []byte(t.key))
	mac.Write([]byte(participantID + "," + strconv.FormatInt(notBefore, 10) + "," + strconv.FormatInt(notAfter, 10)))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(mac.Sum(nil))))
}

// Issue returns a new ticket for participantID valid from now for the lifetime, but expiring
// no earlier than minNotAfter (ms), encoded and decoded. The signature (OWT's format signs
// participantId, notBefore and notAfter, not ticketId) is what identifies a ticket for
// one-time use, so a caller issuing several tickets to one participant passes a minNotAfter
// past the previous one's to keep their signatures distinct.
func (t *Tickets) Issue(participantID string, now time.Time, minNotAfter int64) (string, Ticket) {
	nb := now.UnixMilli()
	na := max(nb+t.lifetime.Milliseconds(), minNotAfter)
	tk := Ticket{ParticipantID: participantID, TicketID: randomBase36(), NotBefore: nb, NotAfter: na,
		Signature: t.sign(participantID, nb, na)}
	b, _ := json.Marshal(tk) // plain strings and integers always encode
	return base64.StdEncoding.EncodeToString(b), tk
}

// Check decodes an encoded ticket and verifies its window and signature, answering OWT's
// messages as Failures.
func (t *Tickets) Check(encoded string, now time.Time) (Ticket, error) {
	tk, err := ParseTicket(encoded)
	if err != nil {
		return Ticket{}, err
	}
	ms := now.UnixMilli()
	if ms < tk.NotBefore || ms > tk.NotAfter {
		return Ticket{}, Failure(MsgTicketExpired)
	}
	want := t.sign(tk.ParticipantID, tk.NotBefore, tk.NotAfter)
	if !hmac.Equal([]byte(want), []byte(tk.Signature)) {
		return Ticket{}, Failure(MsgTicketSignature)
	}
	return tk, nil
}

// ParseTicket decodes a ticket without verifying it; malformed input is MsgIllegal.
func ParseTicket(encoded string) (Ticket, error) {
	if len(encoded) == 0 || len(encoded) > maxTicketLen {
		return Ticket{}, Failure(MsgIllegal)
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(encoded, "="))
	if err != nil {
		return Ticket{}, Failure(MsgIllegal)
	}
	var tk Ticket
	if err := json.Unmarshal(raw, &tk); err != nil || tk.ParticipantID == "" {
		return Ticket{}, Failure(MsgIllegal)
	}
	return tk, nil
}

// randomBase36 mimics OWT's Math.random().toString(36).substring(2): a short random id.
func randomBase36() string {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 56))
	if err != nil {
		return "0"
	}
	return n.Text(36)
}
