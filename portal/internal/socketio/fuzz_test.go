package socketio

import "testing"

// FuzzDecodePayloadV3 checks that v3 payload decoding never panics and that whatever it
// accepts re-encodes to an equivalent payload.
func FuzzDecodePayloadV3(f *testing.F) {
	for _, seed := range []string{
		"1:2", "2:40", "8:42[\"🎉\"]", "0:1:2", "10:42[\"héllo\"]", "6:42[\"🎉\"]",
		"9999999999:2", ":", "1:", "0:", "6:b4AQID", "3:2pr", "\xff\xfe", "1:\xff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		packets, err := decodePayloadV3(payload)
		if err != nil || len(packets) == 0 {
			return
		}
		enc := make([]string, len(packets))
		for i, p := range packets {
			enc[i] = encodeEnginePacket(p.typ, p.data)
		}
		again, err := decodePayloadV3(encodePayloadV3(enc))
		if err != nil || len(again) != len(packets) {
			t.Fatalf("re-decode of %q: %v (%d vs %d packets)", payload, err, len(again), len(packets))
		}
		for i := range again {
			if again[i] != packets[i] {
				t.Fatalf("packet %d changed: %+v vs %+v", i, again[i], packets[i])
			}
		}
	})
}

// FuzzDecodePayloadV4 checks that v4 payload decoding never panics and round-trips.
func FuzzDecodePayloadV4(f *testing.F) {
	for _, seed := range []string{
		"2", "40", "3\x1e42[\"x\"]\x1e1", "\x1e", "bAQID", "42[\"👍🏽\"]", "7", "\xff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		packets, err := decodePayloadV4(payload)
		if err != nil {
			return
		}
		enc := make([]string, len(packets))
		for i, p := range packets {
			enc[i] = encodeEnginePacket(p.typ, p.data)
		}
		if got := encodePayloadV4(enc); got != payload {
			t.Fatalf("round trip %q -> %q", payload, got)
		}
	})
}

// FuzzDecodeSocketPacket checks that Socket.IO packet decoding never panics and that
// accepted events carry a name and valid JSON arguments.
func FuzzDecodeSocketPacket(f *testing.F) {
	for _, seed := range []string{
		"0", `0{"token":"x"}`, "0/admin,", "0/a?b=c,", "1", `2["login",{"token":"t"}]`,
		`212["soac",{"id":"a"},null]`, `2/x,7["e"]`, `33["ok"]`, `51-["a",{"_placeholder":true,"num":0}]`,
		`21234567890123456["a"]`, `2[1]`, `2["a"`, "", "4", `2 ["a"]`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := decodeSocketPacket(in)
		if err != nil {
			return
		}
		if p.typ == sioEvent {
			if p.hasID && p.id < 0 {
				t.Fatalf("negative ack id from %q", in)
			}
		}
		out := encodeSocketPacket(p)
		if _, err := decodeSocketPacket(out); err != nil {
			t.Fatalf("re-encoded %q as %q which fails: %v", in, out, err)
		}
	})
}
