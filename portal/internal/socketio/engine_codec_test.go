package socketio

import (
	"errors"
	"reflect"
	"testing"
)

func TestEngineUTF16Len(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"é", 1},            // 2 UTF-8 bytes, 1 unit
		{"你好", 2},           // 3 bytes each
		{"🎉", 2},            // non-BMP: surrogate pair
		{"👍🏽", 4},           // two non-BMP code points
		{"e\u0301", 2},      // combining mark is its own unit
		{"\xff", 1},         // invalid byte counts as U+FFFD
		{"a\U0010FFFFb", 4}, // highest code point
	}
	for _, tt := range tests {
		if got := utf16Len(tt.in); got != tt.want {
			t.Errorf("utf16Len(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestEnginePayloadV3Encode(t *testing.T) {
	tests := []struct {
		name    string
		packets []string
		want    string
	}{
		{"single", []string{"40"}, "2:40"},
		{"two", []string{"3", "42[\"a\"]"}, "1:37:42[\"a\"]"},
		{"emoji", []string{"42[\"🎉\"]"}, "8:42[\"🎉\"]"},
		{"cjk", []string{"42[\"你好\"]"}, "8:42[\"你好\"]"},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := encodePayloadV3(tt.packets); got != tt.want {
				t.Errorf("encodePayloadV3 = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnginePayloadV3Decode(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    []enginePacket
		err     error
	}{
		{"ping", "1:2", []enginePacket{{enginePing, ""}}, nil},
		{"two", "1:27:42[\"a\"]", []enginePacket{{enginePing, ""}, {engineMessage, "2[\"a\"]"}}, nil},
		{"emoji", "8:42[\"🎉\"]1:6", []enginePacket{{engineMessage, "2[\"🎉\"]"}, {engineNoop, ""}}, nil},
		{"non-ascii", "11:42[\"héllo\"]", []enginePacket{{engineMessage, "2[\"héllo\"]"}}, nil},
		{"zero length skipped", "0:1:2", []enginePacket{{enginePing, ""}}, nil},
		{"byte length is wrong", "10:42[\"🎉\"]", nil, ErrMalformedPayload},
		{"splits surrogate pair", "6:42[\"🎉\"]", nil, ErrMalformedPayload},
		{"too short", "5:42", nil, ErrMalformedPayload},
		{"no colon", "12", nil, ErrMalformedPayload},
		{"empty length", ":2", nil, ErrMalformedPayload},
		{"non digit", "1a:2", nil, ErrMalformedPayload},
		{"huge length", "9999999999:2", nil, ErrMalformedPayload},
		{"empty", "", nil, ErrMalformedPayload},
		{"binary", "6:b4AQID", nil, ErrBinaryUnsupported},
		{"bad type", "1:9", nil, ErrMalformedPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodePayloadV3(tt.payload)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEnginePayloadV4(t *testing.T) {
	if got := encodePayloadV4([]string{"2", "42[\"a\",\"🎉\"]"}); got != "2\x1e42[\"a\",\"🎉\"]" {
		t.Errorf("encodePayloadV4 = %q", got)
	}
	tests := []struct {
		name    string
		payload string
		want    []enginePacket
		err     error
	}{
		{"single", "40", []enginePacket{{engineMessage, "0"}}, nil},
		{"batch", "3\x1e42[\"x\"]\x1e1", []enginePacket{{enginePong, ""}, {engineMessage, "2[\"x\"]"}, {engineClose, ""}}, nil},
		{"unicode", "42[\"👍🏽\"]", []enginePacket{{engineMessage, "2[\"👍🏽\"]"}}, nil},
		{"empty", "", nil, ErrMalformedPayload},
		{"empty packet", "3\x1e", nil, ErrMalformedPacket},
		{"binary", "bAQID", nil, ErrBinaryUnsupported},
		{"bad type", "7", nil, ErrMalformedPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodePayloadV4(tt.payload)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEnginePayloadRoundTrip(t *testing.T) {
	packets := []string{"0{\"sid\":\"x\"}", "40", "42[\"t\",\"h\u00e9 🎉 \\u001e 你\"]", "3probe", "6"}
	for _, proto := range []int{protocolV3, protocolV4} {
		got, err := decodePayload(proto, encodePayload(proto, packets))
		if err != nil {
			t.Fatalf("v%d: %v", proto, err)
		}
		if len(got) != len(packets) {
			t.Fatalf("v%d: %d packets, want %d", proto, len(got), len(packets))
		}
		for i, p := range got {
			if encodeEnginePacket(p.typ, p.data) != packets[i] {
				t.Errorf("v%d packet %d = %q, want %q", proto, i, encodeEnginePacket(p.typ, p.data), packets[i])
			}
		}
	}
}
