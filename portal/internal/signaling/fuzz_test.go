package signaling

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// validTypes are the track kinds a decoded request may contain.
var validTypes = []string{"audio", "video"}

func FuzzLogin(f *testing.F) {
	f.Add(`{"token":"abc","userAgent":{"sdk":{"type":"JavaScript","version":"5.1"}},"protocol":"1.2"}`)
	f.Add(`{"protocol":"1.1","userAgent":{"sdk":{"type":"C++","version":"3.5"}}}`)
	f.Add(`{"protocol":null}`)
	f.Add(`[1,2]`)
	f.Fuzz(func(t *testing.T, in string) {
		l, err := DecodeLogin(json.RawMessage(in))
		if err == nil && (l.Token == "" || l.SDKType == "" || l.SDKVersion == "" || !slices.Contains([]string{"1.0", "1.1", "1.2"}, l.Protocol)) {
			t.Fatalf("accepted incomplete login %+v", l)
		}
	})
}

func FuzzPublish(f *testing.F) {
	f.Add(`{"media":{"tracks":[{"type":"audio","mid":"0","source":"mic"}]},"attributes":{},"transport":{"type":"webrtc","id":"x"}}`)
	f.Add(`{"media":null,"data":true}`)
	f.Add(`{"media":{"tracks":[{"type":"video"}]}}`)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := DecodePublish(json.RawMessage(in))
		if err != nil {
			return
		}
		for _, tr := range p.Tracks {
			if !slices.Contains(validTypes, tr.Type) || tr.Source == "" {
				t.Fatalf("accepted track %+v", tr)
			}
		}
	})
}

func FuzzSubscribe(f *testing.F) {
	f.Add(`{"media":{"tracks":[{"type":"video","mid":"1","from":"s","parameters":{"bitrate":"x0.8","resolution":{"width":1,"height":2}}}]}}`)
	f.Add(`{"media":{"tracks":[{"type":"audio","mid":"0","from":"s","format":{"codec":"opus"}}]},"transport":{"type":"webrtc"}}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := DecodeSubscribe(json.RawMessage(in))
		if err != nil {
			return
		}
		for _, tr := range s.Tracks {
			if !slices.Contains(validTypes, tr.Type) {
				t.Fatalf("accepted track %+v", tr)
			}
		}
	})
}

func FuzzControl(f *testing.F) {
	f.Add(`{"id":"a-1","operation":"pause","data":"av"}`)
	f.Add(`{"id":"a","operation":"update","data":{"video":{"from":"x"}}}`)
	f.Add(`{"id":"a b","operation":"mix"}`)
	f.Fuzz(func(t *testing.T, in string) {
		for _, decode := range []func(json.RawMessage) (Control, error){DecodeStreamControl, DecodeSubscriptionControl} {
			c, err := decode(json.RawMessage(in))
			if err == nil && (!idPattern.MatchString(c.ID) || c.Operation == "" || c.Data == nil) {
				t.Fatalf("accepted %+v", c)
			}
		}
		if id, err := DecodeID(json.RawMessage(in), MsgStreamID); err == nil && !idPattern.MatchString(id) {
			t.Fatalf("accepted id %q", id)
		}
	})
}

func FuzzSoac(f *testing.F) {
	f.Add(`{"id":"t","signaling":{"type":"offer","sdp":"v=0"}}`)
	f.Add(`{"id":"t","signaling":{"type":"removed-candidates","candidates":[{}]}}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := DecodeSoac(json.RawMessage(in))
		if err == nil && (s.TransportID == "" || !slices.Contains(signalingTypes, s.Signaling.Type)) {
			t.Fatalf("accepted %+v", s)
		}
	})
}

func FuzzText(f *testing.F) {
	f.Add(`{"to":"all","message":"hi"}`)
	f.Add(`{"to":"","message":1}`)
	f.Fuzz(func(t *testing.T, in string) {
		m, err := DecodeText(json.RawMessage(in))
		if err == nil && m.To == "" {
			t.Fatal("accepted empty receiver")
		}
	})
}

func FuzzTicket(f *testing.F) {
	tickets := NewTickets(time.Minute)
	now := time.Now()
	f.Add(encodedTicket(tickets, "participant-1", now))
	f.Add("eyJwYXJ0aWNpcGFudElkIjoieCJ9")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		tk, err := tickets.Check(in, now)
		if err != nil {
			return
		}
		if tk.ParticipantID == "" || tk.NotBefore > now.UnixMilli() || tk.NotAfter < now.UnixMilli() {
			t.Fatalf("accepted %+v", tk)
		}
	})
}

func TestSignalingTicketRoundTrip(t *testing.T) {
	tickets := NewTickets(10 * time.Minute)
	now := time.Now()
	enc := encodedTicket(tickets, "abc_-1", now)
	tk, err := tickets.Check(enc, now.Add(time.Minute))
	if err != nil || tk.ParticipantID != "abc_-1" || tk.NotAfter-tk.NotBefore != 600_000 || tk.TicketID == "" {
		t.Fatalf("ticket %+v err %v", tk, err)
	}
	if _, err := tickets.Check(enc, now.Add(11*time.Minute)); errText(err) != MsgTicketExpired {
		t.Fatalf("late: %v", err)
	}
}

func FuzzDecodeUpdateName(f *testing.F) {
	f.Add(`"Alice"`)
	f.Add(`{"name":" Bob "}`)
	f.Add(`"\u0000"`)
	f.Fuzz(func(t *testing.T, in string) {
		name, err := DecodeUpdateName(json.RawMessage(in))
		if err == nil && (name == "" || name != strings.TrimSpace(name) || utf8.RuneCountInString(name) > MaxDisplayName ||
			strings.IndexFunc(name, unicode.IsControl) >= 0) {
			t.Fatalf("accepted name %q", name)
		}
	})
}
