package sio

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestSIODecodePacket(t *testing.T) {
	tests := []struct {
		in    string
		typ   byte
		nsp   string
		id    int64
		event string
		nargs int
		err   bool
	}{
		{in: `2["ev",1,{"a":2}]`, typ: packetEvent, id: -1, event: "ev", nargs: 2},
		{in: `212["ev"]`, typ: packetEvent, id: 12, event: "ev"},
		{in: `2/admin,3["x",null]`, typ: packetEvent, nsp: "/admin", id: 3, event: "x", nargs: 1},
		{in: `37["ok",{"id":"a"}]`, typ: packetAck, id: 7, nargs: 2},
		{in: `30[]`, typ: packetAck, id: 0},
		{in: `0{"sid":"x"}`, typ: packetConnect, id: -1},
		{in: `1`, typ: packetDisconnect, id: -1},
		{in: `4{"message":"no"}`, typ: packetConnectError, id: -1},
		{in: ``, err: true},
		{in: `5[]`, err: true},
		{in: `2{}`, err: true},
		{in: `2[1]`, err: true},
		{in: `2[]`, err: true},
		{in: `3`, err: true},
		{in: `2["a"`, err: true},
		{in: `29999999999999999999["a"]`, err: true},
		{in: `0"s"`, err: true},
	}
	for _, tt := range tests {
		p, err := decodePacket(tt.in)
		if tt.err {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("decodePacket(%q) err = %v, want ErrMalformed", tt.in, err)
			}
			continue
		}
		if err != nil || p.typ != tt.typ || p.nsp != tt.nsp || p.id != tt.id || p.event != tt.event || len(p.args) != tt.nargs {
			t.Errorf("decodePacket(%q) = %+v, %v", tt.in, p, err)
		}
	}
}

func TestSIOEncodeEvent(t *testing.T) {
	s, err := encodeEvent(5, "soac", []any{map[string]string{"id": "t"}})
	if err != nil || s != `425["soac",{"id":"t"}]` {
		t.Fatalf("encodeEvent = %q, %v", s, err)
	}
	s, err = encodeEvent(-1, "x", nil)
	if err != nil || s != `42["x"]` {
		t.Fatalf("encodeEvent = %q, %v", s, err)
	}
	if _, err := encodeEvent(1, "x", []any{func() {}}); err == nil {
		t.Fatal("unencodable argument accepted")
	}
	if c, err := encodeConnect(map[string]string{"token": "a"}); err != nil || c != `40{"token":"a"}` {
		t.Fatalf("encodeConnect = %q, %v", c, err)
	}
	if _, err := encodeConnect([]int{1}); err == nil {
		t.Fatal("non-object auth accepted")
	}
}

func FuzzSIODecodePacket(f *testing.F) {
	for _, s := range []string{`2["ev",1]`, `212["ev"]`, `2/a,3["x"]`, `37["ok"]`, `0{"sid":"x"}`, `1`, `4"e"`, `2[`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := decodePacket(s)
		if err != nil {
			return
		}
		if p.typ == packetEvent {
			// A decoded event re-encodes to a packet that decodes to the same event.
			args := make([]any, len(p.args))
			for i, a := range p.args {
				args[i] = a
			}
			enc, err := encodeEvent(p.id, p.event, args)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			q, err := decodePacket(enc[1:])
			if err != nil || q.event != p.event || q.id != p.id || len(q.args) != len(p.args) {
				t.Fatalf("round trip %q → %q: %+v %v", s, enc, q, err)
			}
		}
		_ = json.Valid(p.data)
	})
}
