package socketio

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestSocketPacketDecode(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		typ   byte
		nsp   string
		id    int64
		hasID bool
		event string
		nargs int
		err   error
	}{
		{name: "connect", in: "0", typ: sioConnect, nsp: "/"},
		{name: "connect auth", in: `0{"token":"x"}`, typ: sioConnect, nsp: "/"},
		{name: "connect nsp", in: "0/admin,", typ: sioConnect, nsp: "/admin"},
		{name: "connect nsp no comma", in: "0/admin", typ: sioConnect, nsp: "/admin"},
		{name: "connect nsp query", in: "0/admin?x=1,", typ: sioConnect, nsp: "/admin"},
		{name: "disconnect", in: "1", typ: sioDisconnect, nsp: "/"},
		{name: "event", in: `2["login",{"token":"t"}]`, typ: sioEvent, nsp: "/", event: "login", nargs: 1},
		{name: "event ack", in: `212["soac",{"id":"a"},null]`, typ: sioEvent, nsp: "/", id: 12, hasID: true, event: "soac", nargs: 2},
		{name: "event nsp ack", in: `2/x,7["e"]`, typ: sioEvent, nsp: "/x", id: 7, hasID: true, event: "e"},
		{name: "event unicode", in: `2["t","🎉 你好"]`, typ: sioEvent, nsp: "/", event: "t", nargs: 1},
		{name: "ack", in: `33["ok"]`, typ: sioAck, nsp: "/", id: 3, hasID: true},
		{name: "event not array", in: `2{"a":1}`, err: ErrMalformedPacket},
		{name: "event empty array", in: `2[]`, err: ErrMalformedPacket},
		{name: "event name not string", in: `2[1,2]`, err: ErrMalformedPacket},
		{name: "event no payload", in: `2`, err: ErrMalformedPacket},
		{name: "bad json", in: `2["a"`, err: ErrMalformedPacket},
		{name: "disconnect payload", in: `1{}`, err: ErrMalformedPacket},
		{name: "connect array", in: `0[1]`, err: ErrMalformedPacket},
		{name: "ack not array", in: `31"x"`, err: ErrMalformedPacket},
		{name: "id overflow", in: `21234567890123456["a"]`, err: ErrMalformedPacket},
		{name: "binary event", in: `51-["a",{"_placeholder":true,"num":0}]`, err: ErrBinaryUnsupported},
		{name: "binary ack", in: `61-1[{"_placeholder":true,"num":0}]`, err: ErrBinaryUnsupported},
		{name: "unknown type", in: `7`, err: ErrMalformedPacket},
		{name: "empty", in: ``, err: ErrMalformedPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := decodeSocketPacket(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			if p.typ != tt.typ || p.namespace != tt.nsp || p.hasID != tt.hasID || p.id != tt.id {
				t.Errorf("got type %c nsp %q id %v/%d", p.typ, p.namespace, p.hasID, p.id)
			}
			if p.event != tt.event || len(p.args) != tt.nargs {
				t.Errorf("got event %q with %d args, want %q/%d", p.event, len(p.args), tt.event, tt.nargs)
			}
		})
	}
}

func TestSocketPacketTrailingNullPassThrough(t *testing.T) {
	p, err := decodeSocketPacket(`25["refreshReconnectionTicket",null]`)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.args) != 1 || string(p.args[0]) != "null" || !p.hasID || p.id != 5 {
		t.Fatalf("args %q id %v/%d", p.args, p.hasID, p.id)
	}
}

func TestSocketPacketEncode(t *testing.T) {
	tests := []struct {
		name string
		p    socketPacket
		want string
	}{
		{"connect v3", socketPacket{typ: sioConnect}, "0"},
		{"connect v4", socketPacket{typ: sioConnect, data: json.RawMessage(`{"sid":"abc"}`)}, `0{"sid":"abc"}`},
		{"default nsp omitted", socketPacket{typ: sioDisconnect, namespace: "/"}, "1"},
		{"connect error nsp", socketPacket{typ: sioConnectError, namespace: "/admin", data: json.RawMessage(`{"message":"Invalid namespace"}`)}, `4/admin,{"message":"Invalid namespace"}`},
		{"event", socketPacket{typ: sioEvent, data: json.RawMessage(`["a",1]`)}, `2["a",1]`},
		{"ack", socketPacket{typ: sioAck, hasID: true, id: 42, data: json.RawMessage(`["ok"]`)}, `342["ok"]`},
		{"ack id zero", socketPacket{typ: sioAck, hasID: true, id: 0, data: json.RawMessage(`[]`)}, `30[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := encodeSocketPacket(tt.p); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSocketMarshalArgs(t *testing.T) {
	got, err := marshalArgs([]any{"ev"}, []any{"<b>&🎉", json.RawMessage(`{"raw":true}`), nil})
	if err != nil {
		t.Fatal(err)
	}
	if want := `["ev","<b>&🎉",{"raw":true},null]`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, err := marshalArgs(nil, []any{func() {}}); err == nil {
		t.Error("marshalling a func should fail")
	}
}

func TestSocketReservedEvents(t *testing.T) {
	for _, name := range []string{"connect", "disconnect", "connect_error"} {
		if !reservedEvent(name) {
			t.Errorf("%q should be reserved", name)
		}
	}
	if reservedEvent("login") {
		t.Error("login is not reserved")
	}
}
