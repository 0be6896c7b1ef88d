package out

import (
	"errors"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/egress"
)

var (
	h264Info = medialink.TrackInfo{Kind: "video", MimeType: "video/H264", ClockRate: 90000, Fmtp: "packetization-mode=1"}
	vp8Info  = medialink.TrackInfo{Kind: "video", MimeType: "video/VP8", ClockRate: 90000}
	opusInfo = medialink.TrackInfo{Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 2}
)

func TestOutSDP(t *testing.T) {
	sdp := SDP([]input{{kind: "audio", info: opusInfo, port: 5000}, {kind: "video", info: h264Info, port: 5002}})
	for _, want := range []string{"m=audio 5000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n",
		"m=video 5002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n", "c=IN IP4 127.0.0.1"} {
		if !strings.Contains(sdp, want) {
			t.Fatalf("SDP lacks %q:\n%s", want, sdp)
		}
	}
}

func TestOutArgs(t *testing.T) {
	tests := []struct {
		name  string
		proto string
		video medialink.TrackInfo
		vp    *protocol.VideoParameters
		out   *protocol.StreamingOutParam
		want  []string
		not   []string
	}{
		{"rtmp copy", "rtmp", h264Info, nil, nil, []string{"-c:v copy", "-c:a aac", "-ar 48000 -ac 2", "-f flv rtmp://h/a"}, []string{"libx264"}},
		{"vp8 transcodes", "rtmp", vp8Info, nil, nil, []string{"-c:v libx264 -preset veryfast -tune zerolatency", "-g 60"}, []string{"copy"}},
		{"parameters force transcoding", "rtmp", h264Info,
			&protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 641, Height: 360}, Framerate: 15, Bitrate: &protocol.Bitrate{Kbps: 500}, KeyFrameInterval: 4},
			nil, []string{"libx264", "-vf scale=640:360", "-r 15", "-b:v 500k", "-g 60"}, []string{"-c:v copy"}},
		{"rtsp over tcp", "rtsp", h264Info, nil, nil, []string{"-f rtsp -rtsp_transport tcp rtmp://h/a"}, nil},
		{"hls defaults", "hls", h264Info, nil, nil, []string{"-f hls -hls_time 2 -hls_list_size 5 -hls_flags delete_segments -method PUT"}, nil},
		{"hls post", "hls", h264Info, nil, &protocol.StreamingOutParam{Method: "post", HLSTime: 4, HLSListSize: 10},
			[]string{"-hls_time 4 -hls_list_size 10", "-method POST"}, nil},
		{"dash", "dash", h264Info, nil, &protocol.StreamingOutParam{DashSegDuration: 3, DashWindowSize: 6},
			[]string{"-f dash -seg_duration 3 -window_size 6 -method PUT"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := strings.Join(Args("/x.sdp", []input{{kind: "audio", info: opusInfo}, {kind: "video", info: tc.video}},
				tc.proto, egress.Target{URL: "rtmp://h/a"}, tc.out, tc.vp), " ")
			if !strings.Contains(args, "-protocol_whitelist file,udp,rtp") || !strings.Contains(args, "-i /x.sdp -map 0:0 -map 0:1") {
				t.Fatalf("input args: %s", args)
			}
			for _, w := range tc.want {
				if !strings.Contains(args, w) {
					t.Errorf("args lack %q: %s", w, args)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(args, n) {
					t.Errorf("args contain %q: %s", n, args)
				}
			}
		})
	}
}

func TestOutValidate(t *testing.T) {
	src := &protocol.SessionTrack{Source: protocol.TrackRef{Agent: "a", TrackID: "t"}}
	tests := []struct {
		name string
		req  protocol.OutStart
		ok   bool
	}{
		{"rtmp", protocol.OutStart{ID: "x", Protocol: "rtmp", URL: "rtmp://h/app/s", Video: src}, true},
		{"rtmps", protocol.OutStart{ID: "x", Protocol: "rtmp", URL: "rtmps://h/app/s", Audio: src}, true},
		{"hls over https", protocol.OutStart{ID: "x", Protocol: "hls", URL: "https://h/x.m3u8", Video: src}, true},
		{"dash over rtmp", protocol.OutStart{ID: "x", Protocol: "dash", URL: "rtmp://h/x", Video: src}, false},
		{"no id", protocol.OutStart{Protocol: "rtmp", URL: "rtmp://h/x", Video: src}, false},
		{"no host", protocol.OutStart{ID: "x", Protocol: "rtmp", URL: "rtmp:///x", Video: src}, false},
		{"empty source", protocol.OutStart{ID: "x", Protocol: "rtmp", URL: "rtmp://h/x", Video: &protocol.SessionTrack{}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.req)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
}
