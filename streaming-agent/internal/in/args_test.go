package in

import (
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/ffmpeg"
)

func TestInArgs(t *testing.T) {
	h264 := &ffmpeg.VideoInfo{Codec: "h264", Profile: "High", Width: 1920, Height: 1080, FrameRate: 25}
	hevc := &ffmpeg.VideoInfo{Codec: "hevc", Width: 640, Height: 360}
	aac := &ffmpeg.AudioInfo{Codec: "aac", SampleRate: 44100, Channels: 2}
	opus := &ffmpeg.AudioInfo{Codec: "opus", SampleRate: 48000, Channels: 2}
	tests := []struct {
		name string
		p    plan
		want []string
		not  []string
	}{
		{"rtsp tcp h264 aac", plan{url: "rtsp://h/s", video: h264, audio: aac, videoPort: 4000, audioPort: 4002},
			[]string{"-rtsp_transport tcp -timeout 5000000 -i rtsp://h/s", "-map 0:v:0 -c:v copy -bsf:v h264_mp4toannexb,dump_extra=freq=keyframe",
				"-payload_type 96 -f rtp rtp://127.0.0.1:4000?rtcpport=4000&pkt_size=1200", "-c:a libopus -ar 48000 -ac 2",
				"-payload_type 111 -f rtp rtp://127.0.0.1:4002"}, []string{"-rw_timeout"}},
		{"rtsp udp", plan{url: "rtsp://h/s", transport: "udp", audio: opus, audioPort: 4002}, []string{"-rtsp_transport udp", "-c:a copy"}, []string{"-map 0:v:0"}},
		{"rtmp hevc transcoded", plan{url: "rtmp://h/a/s", video: hevc, videoPort: 4000},
			[]string{"-rw_timeout 5000000 -i rtmp://h/a/s", "-c:v libx264 -profile:v baseline", "-g 30", "repeat-headers=1"}, []string{"-rtsp_transport", "-map 0:a:0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.timeout = 5 * time.Second
			args := strings.Join(Args(tc.p), " ")
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

func TestInVideoFormat(t *testing.T) {
	tests := []struct {
		v       ffmpeg.VideoInfo
		profile string
		fmtp    string
	}{
		{ffmpeg.VideoInfo{Codec: "h264", Profile: "Constrained Baseline", Width: 640, Height: 360}, "CB", "profile-level-id=42e01f"},
		{ffmpeg.VideoInfo{Codec: "h264", Profile: "High", Width: 1920, Height: 1080}, "H", "profile-level-id=640028"},
		{ffmpeg.VideoInfo{Codec: "vp9", Profile: "Profile 0", Width: 640, Height: 360}, "CB", "profile-level-id=42e01f"},
	}
	for _, tc := range tests {
		f, fmtp := videoFormat(&tc.v)
		if f.Codec != "h264" || f.Profile != tc.profile || !strings.Contains(fmtp, tc.fmtp) {
			t.Errorf("%+v: %+v %s", tc.v, f, fmtp)
		}
	}
}

func TestInValidate(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"rtsp://h/s", true}, {"rtmp://h/a/s", true}, {"https://h/x.m3u8", true}, {"RTSP://h/s", true},
		{"srt://h/s", false}, {"file:///etc/passwd", false}, {"h/s", false}, {"", false},
	}
	for _, tc := range tests {
		_, err := New(Config{}, protocol.InStart{ID: "x", URL: tc.url, Audio: protocol.TrackAuto, Video: protocol.TrackAuto}, Reporter{})
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.url, err)
		}
	}
	if _, err := New(Config{}, protocol.InStart{ID: "x", URL: "rtsp://h/s", Audio: protocol.TrackNo, Video: protocol.TrackNo}, Reporter{}); err == nil {
		t.Error("no kinds accepted")
	}
}

func TestInChoose(t *testing.T) {
	j, _ := New(Config{}, protocol.InStart{ID: "x", URL: "rtsp://h/s", Audio: protocol.TrackYes, Video: protocol.TrackAuto}, Reporter{})
	if err := j.choose(ffmpeg.ProbeResult{Video: &ffmpeg.VideoInfo{Codec: "h264"}}); err == nil {
		t.Fatal("audio required but absent: accepted")
	}
	if err := j.choose(ffmpeg.ProbeResult{Audio: &ffmpeg.AudioInfo{Codec: "aac"}}); err != nil || j.plan.video != nil || j.plan.audio == nil {
		t.Fatalf("audio-only source: %v %+v", err, j.plan)
	}
}
