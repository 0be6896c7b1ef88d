package sfu

import (
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/webrtc/v4"
)

func TestSFUFormatOf(t *testing.T) {
	h264 := func(plid string) webrtc.RTPCodecCapability {
		return webrtc.RTPCodecCapability{MimeType: "video/H264", ClockRate: 90000, SDPFmtpLine: h264Fmtp(plid)}
	}
	tests := []struct {
		name string
		c    webrtc.RTPCodecCapability
		want protocol.Format
	}{
		{"opus", webrtc.RTPCodecCapability{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}, protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 2}},
		{"pcmu", webrtc.RTPCodecCapability{MimeType: "audio/PCMU", ClockRate: 8000}, protocol.Format{Codec: "pcmu"}},
		{"vp8", webrtc.RTPCodecCapability{MimeType: "video/VP8", ClockRate: 90000}, protocol.Format{Codec: "vp8"}},
		{"h264 CB", h264("42e01f"), protocol.Format{Codec: "h264", Profile: "CB"}},
		{"h264 B", h264("42001f"), protocol.Format{Codec: "h264", Profile: "B"}},
		{"h264 M", h264("4d001f"), protocol.Format{Codec: "h264", Profile: "M"}},
		{"h264 CB via main+constraint", h264("4d801f"), protocol.Format{Codec: "h264", Profile: "CB"}},
		{"h264 H", h264("640032"), protocol.Format{Codec: "h264", Profile: "H"}},
		{"h264 bad plid", h264("zz"), protocol.Format{Codec: "h264"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatOf(tc.c); got != tc.want {
				t.Fatalf("FormatOf = %+v, want %+v", got, tc.want)
			}
			if !FormatMatches(tc.want, tc.c) {
				t.Fatal("FormatMatches(FormatOf(c), c) = false")
			}
		})
	}
	if FormatMatches(protocol.Format{Codec: "opus", ChannelNum: 1}, tests[0].c) {
		t.Fatal("channel count ignored")
	}
}
