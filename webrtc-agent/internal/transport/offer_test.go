package transport

import (
	"errors"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/webrtc/v4"
)

const testOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
	"a=fingerprint:sha-256 AA:BB\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n" +
	"a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10\r\na=rtpmap:0 PCMU/8000\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96 102 100\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\n" +
	"a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack pli\r\na=rtpmap:102 H264/90000\r\n" +
	"a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n" +
	"a=rtpmap:100 H264/90000\r\na=fmtp:100 packetization-mode=0;profile-level-id=42e01f\r\n" +
	"a=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\n" +
	"m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=inactive\r\na=rtpmap:96 VP8/90000\r\n"

func TestTransportParseOffer(t *testing.T) {
	media, err := parseOffer(testOffer)
	if err != nil {
		t.Fatal(err)
	}
	if len(media) != 3 {
		t.Fatalf("%d m-sections", len(media))
	}
	a, v, closed := media[0], media[1], media[2]
	if a.kind != webrtc.RTPCodecTypeAudio || a.direction != webrtc.RTPTransceiverDirectionSendonly ||
		len(a.codecs) != 2 || a.codecs[0].MimeType != "audio/opus" || a.codecs[0].Channels != 2 {
		t.Fatalf("audio = %+v", a)
	}
	if len(v.codecs) != 3 || v.codecs[0].RTCPFeedback[0].Parameter != "pli" || strings.Join(v.rids, ",") != "h,l" {
		t.Fatalf("video = %+v", v)
	}
	if !closed.closed() || v.closed() {
		t.Fatal("closed() wrong")
	}
	// A bundle-only m-section has port 0 and is open (RFC 8843 §6, GStreamer's max-bundle).
	bundled, err := parseOffer(strings.Replace(testOffer, "m=video 9", "m=video 0", 1))
	if err != nil || !bundled[1].closed() {
		t.Fatalf("port 0 without bundle-only: closed %v, err %v", err == nil && bundled[1].closed(), err)
	}
	bundled, err = parseOffer(strings.Replace(strings.Replace(testOffer, "m=video 9", "m=video 0", 1), "a=mid:1\r\n", "a=mid:1\r\na=bundle-only\r\n", 1))
	if err != nil || bundled[1].closed() {
		t.Fatalf("bundle-only m-section: closed %v, err %v", err == nil && bundled[1].closed(), err)
	}
	for _, bad := range []string{"", "garbage", "v=0\r\n", strings.Replace(testOffer, "a=mid:1\r\n", "", 1),
		strings.Replace(testOffer, "a=fingerprint:sha-256 AA:BB\r\n", "", 1),
		strings.Replace(testOffer, "a=mid:1", "a=mid:0", 1)} {
		if _, err := parseOffer(bad); !errors.Is(err, ErrBadSDP) {
			t.Fatalf("parseOffer(%.30q) = %v, want ErrBadSDP", bad, err)
		}
	}
}

func TestTransportChooseCodec(t *testing.T) {
	media, _ := parseOffer(testOffer)
	video := media[1].codecs
	tests := []struct {
		name    string
		formats []protocol.Format
		want    string // fmtp/mime of the choice, "" for none
	}{
		{"preference order wins over offer order", []protocol.Format{{Codec: "h264", Profile: "CB"}, {Codec: "vp8"}}, "packetization-mode=1"},
		{"vp8", []protocol.Format{{Codec: "vp8"}}, "video/VP8"},
		{"unsupported", []protocol.Format{{Codec: "h265"}}, ""},
		{"profile mismatch", []protocol.Format{{Codec: "h264", Profile: "H"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := chooseCodec(&trackOp{formats: tc.formats}, video)
			switch {
			case tc.want == "" && ok:
				t.Fatalf("chose %+v, want none", c)
			case tc.want != "" && (!ok || !strings.Contains(c.MimeType+c.SDPFmtpLine, tc.want)):
				t.Fatalf("chose %+v (%v), want %s", c, ok, tc.want)
			}
		})
	}
}

func FuzzOfferParse(f *testing.F) {
	f.Add(testOffer)
	f.Add("v=0\r\nm=video 9 RTP 96\r\na=mid:x\r\na=rtpmap:96 VP8\r\n")
	f.Add("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 300\r\na=mid:0\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		media, err := parseOffer(s)
		if err != nil {
			if !errors.Is(err, ErrBadSDP) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		for _, m := range media {
			if m.mid == "" {
				t.Fatal("accepted an m-section without mid")
			}
			_, _ = chooseCodec(&trackOp{formats: []protocol.Format{{Codec: "vp8"}, {Codec: "h264"}, {Codec: "opus"}}}, m.codecs)
		}
	})
}
