package signaling

import (
	"encoding/json"
	"testing"
)

// errText returns err's text or "".
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

const ua = `"userAgent":{"sdk":{"type":"JavaScript","version":"5.1"}}`

func TestSignalingDecodeLogin(t *testing.T) {
	cases := []struct {
		name, in, err string
		reconnect     bool
	}{
		{"ok", `{"token":"abc",` + ua + `,"protocol":"1.2"}`, "", true},
		{"native", `{"token":"abc","userAgent":{"sdk":{"type":"C++","version":"5.0"}},"protocol":"1.1"}`, "", true},
		{"no reconnection sdk", `{"token":"abc","userAgent":{"sdk":{"type":"Go","version":"1"}},"protocol":"1.0"}`, "", false},
		{"not an object", `"x"`, MsgUnsupportedProtocol, false},
		{"no protocol", `{"token":"abc",` + ua + `}`, MsgUnsupportedProtocol, false},
		{"null protocol", `{"protocol":null}`, MsgUnsupportedProtocol, false},
		{"unknown protocol", `{"token":"abc",` + ua + `,"protocol":"1.3"}`, MsgUnknownProtocol, false},
		{"numeric protocol", `{"protocol":1.2}`, MsgUnknownProtocol, false},
		{"no user agent", `{"token":"abc","protocol":"1.2"}`, MsgUserAgent, false},
		{"no sdk version", `{"token":"abc","userAgent":{"sdk":{"type":"JavaScript"}},"protocol":"1.2"}`, MsgUserAgent, false},
		{"deprecated", `{"token":"abc","userAgent":{"sdk":{"type":"JavaScript","version":"3.5"}},"protocol":"1.2"}`, MsgDeprecated, false},
		{"no token", `{` + ua + `,"protocol":"1.2"}`, MsgInvalidToken, false},
		{"token not string", `{"token":5,` + ua + `,"protocol":"1.2"}`, MsgInvalidToken, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := DecodeLogin(json.RawMessage(tc.in))
			if errText(err) != tc.err {
				t.Fatalf("err %q, want %q", errText(err), tc.err)
			}
			if err == nil && l.Reconnection != tc.reconnect {
				t.Fatalf("reconnection %v", l.Reconnection)
			}
		})
	}
}

func TestSignalingDecodePublish(t *testing.T) {
	cases := []struct{ name, in, err string }{
		{"ok", `{"media":{"tracks":[{"type":"audio","mid":"0","source":"mic"}]},"attributes":{"a":1},"transport":{"type":"webrtc","id":"t1"}}`, ""},
		{"data only", `{"media":null,"data":true}`, ""},
		{"missing media", `{}`, "request should have required property 'media'"},
		{"not object", `[]`, "request should be object"},
		{"extra", `{"media":null,"x":1}`, "request should NOT have additional properties"},
		{"no tracks", `{"media":{}}`, "request.media should have required property 'tracks'"},
		{"tracks not array", `{"media":{"tracks":{}}}`, "request.media.tracks should be array"},
		{"track type", `{"media":{"tracks":[{"type":"data","mid":"0","source":"mic"}]}}`, "request.media.tracks[0].type should be equal to one of the allowed values"},
		{"track mid", `{"media":{"tracks":[{"type":"audio","source":"mic"}]}}`, "request.media.tracks[0] should have required property 'mid'"},
		{"mid type", `{"media":{"tracks":[{"type":"audio","mid":0,"source":"mic"}]}}`, "request.media.tracks[0].mid should be string"},
		{"source", `{"media":{"tracks":[{"type":"video","mid":"1","source":"webcam"}]}}`, "request.media.tracks[0].source should be equal to one of the allowed values"},
		{"attributes", `{"media":null,"attributes":"x"}`, "request.attributes should be object"},
		{"data type", `{"media":null,"data":"yes"}`, "request.data should be boolean"},
		{"transport type", `{"media":null,"transport":{"type":"tcp"}}`, "request.transport.type should be equal to one of the allowed values"},
		{"transport no type", `{"media":null,"transport":{"id":"x"}}`, "request.transport should have required property 'type'"},
		{"quic", `{"media":null,"transport":{"type":"quic"}}`, MsgQUIC},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodePublish(json.RawMessage(tc.in))
			if errText(err) != tc.err {
				t.Fatalf("err %q, want %q", errText(err), tc.err)
			}
		})
	}
	p, _ := DecodePublish(json.RawMessage(`{"media":{"tracks":[{"type":"video","mid":"1","source":"camera"}]},"transport":{"type":"webrtc","id":"t9"}}`))
	if len(p.Tracks) != 1 || p.Tracks[0].Mid != "1" || p.Transport.ID != "t9" {
		t.Fatalf("decoded %+v", p)
	}
}

func TestSignalingDecodeSubscribe(t *testing.T) {
	cases := []struct{ name, in, err string }{
		{"ok", `{"media":{"tracks":[{"type":"video","mid":"1","from":"s1","format":{"codec":"vp8"},"parameters":{"resolution":{"width":320,"height":240},"bitrate":"x0.8"}}]},"transport":{"type":"webrtc"}}`, ""},
		{"no from", `{"media":{"tracks":[{"type":"video","mid":"1"}]}}`, "request.media.tracks[0] should have required property 'from'"},
		{"bad format", `{"media":{"tracks":[{"type":"audio","mid":"1","from":"s","format":"opus"}]}}`, "request.media.tracks[0].format should be object"},
		{"bad parameters", `{"media":{"tracks":[{"type":"video","mid":"1","from":"s","parameters":{"bitrate":true}}]}}`, "request.media.tracks[0].parameters should be object"},
		{"extra", `{"media":null,"attributes":{}}`, "request should NOT have additional properties"},
		{"data", `{"media":null,"data":{"from":"s"}}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeSubscribe(json.RawMessage(tc.in))
			if errText(err) != tc.err {
				t.Fatalf("err %q, want %q", errText(err), tc.err)
			}
		})
	}
}

func TestSignalingDecodeControlAndIDs(t *testing.T) {
	cases := []struct {
		name   string
		decode func(json.RawMessage) (Control, error)
		in     string
		err    string
	}{
		{"stream ok", DecodeStreamControl, `{"id":"abc-1","operation":"pause","data":"audio"}`, ""},
		{"stream bad id", DecodeStreamControl, `{"id":"a b","operation":"pause","data":"audio"}`, MsgStreamID},
		{"stream no data", DecodeStreamControl, `{"id":"a","operation":"mix"}`, "request should have required property 'data'"},
		{"stream bad op", DecodeStreamControl, `{"id":"a","operation":"update","data":{}}`, "request.operation should be equal to one of the allowed values"},
		{"stream bad pause", DecodeStreamControl, `{"id":"a","operation":"play","data":"both"}`, "request.data should be equal to one of the allowed values"},
		{"sub ok", DecodeSubscriptionControl, `{"id":"a","operation":"update","data":{"video":{"parameters":{}}}}`, ""},
		{"sub querybwe", DecodeSubscriptionControl, `{"id":"a","operation":"querybwe","data":null}`, "request.operation should be equal to one of the allowed values"},
		{"sub bad id", DecodeSubscriptionControl, `{"id":7}`, MsgSubscriptionID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.decode(json.RawMessage(tc.in))
			if errText(err) != tc.err {
				t.Fatalf("err %q, want %q", errText(err), tc.err)
			}
		})
	}
	if _, err := DecodeID(json.RawMessage(`"garbage"`), MsgStreamID); errText(err) != MsgStreamID {
		t.Fatalf("garbage id: %v", err)
	}
}

func TestSignalingDecodeSoacAndText(t *testing.T) {
	soac := []struct{ in, err string }{
		{`{"id":"t1","signaling":{"type":"offer","sdp":"v=0"}}`, ""},
		{`{"id":"t1","signaling":{"type":"candidate","candidate":{"candidate":"a=candidate:1","sdpMid":"0","sdpMLineIndex":0}}}`, ""},
		{`{"signaling":{"type":"offer"}}`, MsgSoacID},
		{`{"id":"t1"}`, MsgSignalingObject},
		{`{"id":"t1","signaling":"offer"}`, MsgSignalingObject},
		{`{"id":"t1","signaling":{"type":"pranswer"}}`, MsgSignalingType},
		{`{"id":"t1","signaling":{"type":"offer","sdp":5}}`, MsgSignalingObject},
	}
	for _, tc := range soac {
		if _, err := DecodeSoac(json.RawMessage(tc.in)); errText(err) != tc.err {
			t.Errorf("soac %s: err %q, want %q", tc.in, errText(err), tc.err)
		}
	}
	text := []struct{ in, err string }{
		{`{"to":"all","message":"hi"}`, ""},
		{`{"to":"","message":"hi"}`, MsgReceiver},
		{`{"message":"hi"}`, MsgReceiver},
		{`null`, MsgReceiver},
		{`{"to":"all","message":{}}`, MsgMessage},
	}
	for _, tc := range text {
		if _, err := DecodeText(json.RawMessage(tc.in)); errText(err) != tc.err {
			t.Errorf("text %s: err %q, want %q", tc.in, errText(err), tc.err)
		}
	}
}
