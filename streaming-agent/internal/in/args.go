package in

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/ffmpeg"
)

// Payload types of the RTP ffmpeg sends us (and we export).
const (
	videoPT = 96
	audioPT = 111
)

// gop is the keyframe interval asked of the encoder when video is transcoded (1 s at 30
// fps), so a new importer waits at most that long for a keyframe.
const gop = 30

// h264Profiles maps ffmpeg profile names to OWT profile names and profile-level-id
// prefixes (RFC 6184 §8.1: profile_idc and constraint flags).
var h264Profiles = map[string][2]string{
	"Constrained Baseline": {"CB", "42e0"},
	"Baseline":             {"B", "4200"},
	"Main":                 {"M", "4d00"},
	"High":                 {"H", "6400"},
}

// schemes are the source URL schemes OWT streaming-in accepts (§6.3).
var schemes = map[string]bool{"rtsp": true, "rtmp": true, "rtmps": true, "http": true, "https": true}

// ValidateURL checks a source URL; it returns a message for the caller or "".
func ValidateURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "Invalid url"
	}
	if !schemes[strings.ToLower(u.Scheme)] {
		return "Unsupported protocol " + u.Scheme
	}
	return ""
}

// inputArgs are the protocol options placed before -i: RTSP transport and, for every
// protocol, a socket timeout so a dead source ends ffmpeg instead of hanging it.
// A protocol whitelist keeps a remote playlist or SDP from making ffmpeg open local files.
func inputArgs(raw, transport string, timeout time.Duration) []string {
	us := strconv.FormatInt(timeout.Microseconds(), 10)
	args := []string{"-protocol_whitelist", "rtsp,rtsps,rtmp,rtmps,rtmpt,http,https,tcp,tls,udp,rtp,crypto,httpproxy"}
	if strings.HasPrefix(strings.ToLower(raw), "rtsp") {
		if transport != "udp" {
			transport = "tcp"
		}
		return append(args, "-rtsp_transport", transport, "-timeout", us)
	}
	return append(args, "-rw_timeout", us)
}

// copiesVideo reports whether the video can go out unchanged (it is H.264 already).
func copiesVideo(v *ffmpeg.VideoInfo) bool { return v.Codec == "h264" }

// videoArgs copies H.264, converting it to Annex-B with SPS/PPS repeated before every
// keyframe so an importer joining late can decode; anything else becomes H.264
// Constrained Baseline with a short GOP.
func videoArgs(v *ffmpeg.VideoInfo) []string {
	if copiesVideo(v) {
		return []string{"-c:v", "copy", "-bsf:v", "h264_mp4toannexb,dump_extra=freq=keyframe"}
	}
	return []string{"-c:v", "libx264", "-profile:v", "baseline", "-preset", "veryfast", "-tune", "zerolatency",
		"-pix_fmt", "yuv420p", "-g", strconv.Itoa(gop), "-x264-params", "repeat-headers=1"}
}

// audioArgs copies Opus and encodes anything else to Opus 48 kHz stereo (what WebRTC
// subscribers decode).
func audioArgs(a *ffmpeg.AudioInfo) []string {
	if a.Codec == "opus" && a.SampleRate == 48000 {
		return []string{"-c:a", "copy"}
	}
	return []string{"-c:a", "libopus", "-ar", "48000", "-ac", "2", "-b:a", "64k"}
}

// rtpOutput is one RTP output to a local port; RTCP goes to the same port (we drop it).
func rtpOutput(pt, port int) []string {
	return []string{"-payload_type", strconv.Itoa(pt), "-f", "rtp",
		fmt.Sprintf("rtp://127.0.0.1:%d?rtcpport=%d&pkt_size=1200", port, port)}
}

// plan says what one ffmpeg run pulls and where it sends it.
type plan struct {
	url, transport       string
	timeout              time.Duration
	extra                []string // input options of the pinned URL (egress.Target.InputArgs)
	video                *ffmpeg.VideoInfo
	audio                *ffmpeg.AudioInfo
	videoPort, audioPort int
}

// Args returns ffmpeg's command line for a plan.
func Args(p plan) []string {
	args := []string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"}
	args = append(args, inputArgs(p.url, p.transport, p.timeout)...)
	args = append(args, p.extra...)
	args = append(args, "-i", p.url)
	if p.video != nil {
		args = append(args, "-map", "0:v:0")
		args = append(args, videoArgs(p.video)...)
		args = append(args, rtpOutput(videoPT, p.videoPort)...)
	}
	if p.audio != nil {
		args = append(args, "-map", "0:a:0")
		args = append(args, audioArgs(p.audio)...)
		args = append(args, rtpOutput(audioPT, p.audioPort)...)
	}
	return args
}

// videoFormat is the OWT format and SDP fmtp of the video we export.
func videoFormat(v *ffmpeg.VideoInfo) (protocol.Format, string) {
	prof := h264Profiles["Constrained Baseline"]
	if p, ok := h264Profiles[v.Profile]; ok && copiesVideo(v) {
		prof = p
	}
	level := "1f" // 3.1
	if v.Width*v.Height > 1280*720 {
		level = "28" // 4.0
	}
	return protocol.Format{Codec: "h264", Profile: prof[0]},
		"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + prof[1] + level
}

// videoParams reports the source's resolution and frame rate.
func videoParams(v *ffmpeg.VideoInfo) *protocol.VideoParameters {
	p := &protocol.VideoParameters{Framerate: v.FrameRate}
	if v.Width > 0 && v.Height > 0 {
		p.Resolution = &protocol.Resolution{Width: v.Width, Height: v.Height}
	}
	return p
}
