package out

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/egress"
)

// Payload types written into the SDP; forwarded packets are rewritten to them.
const (
	videoPT = 96
	audioPT = 111
)

// OWT defaults for HLS/DASH parameters (§6.2).
const (
	defaultMethod       = "PUT"
	defaultSegment      = 2
	defaultListSize     = 5
	defaultFrameRate    = 30
	defaultKeyFrameSecs = 2
)

// input is one kind fed to ffmpeg: its codec (from the media link) and local RTP port.
type input struct {
	kind string // "audio" | "video"
	info medialink.TrackInfo
	port int
}

// rtpmap returns the SDP encoding name, clock rate and channels of a link's track.
func rtpmap(info medialink.TrackInfo) string {
	_, enc, _ := strings.Cut(info.MimeType, "/")
	s := fmt.Sprintf("%s/%d", enc, info.ClockRate)
	if info.Kind == "audio" && info.Channels > 0 {
		s += "/" + strconv.Itoa(int(info.Channels))
	}
	return s
}

// SDP describes the inputs to ffmpeg (RFC 4566), one m= line per kind on 127.0.0.1.
func SDP(inputs []input) string {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=conclave-streaming-out\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n")
	for _, in := range inputs {
		pt := audioPT
		if in.kind == "video" {
			pt = videoPT
		}
		fmt.Fprintf(&b, "m=%s %d RTP/AVP %d\r\na=rtpmap:%d %s\r\n", in.kind, in.port, pt, pt, rtpmap(in.info))
		if in.info.Fmtp != "" {
			fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", pt, in.info.Fmtp)
		}
	}
	return b.String()
}

// isH264 reports whether a track is H.264.
func isH264(info medialink.TrackInfo) bool { return strings.EqualFold(info.MimeType, "video/H264") }

// transcodes reports whether the video must be re-encoded: it is not H.264 already, or the
// caller asked for other parameters.
func transcodes(info medialink.TrackInfo, p *protocol.VideoParameters) bool {
	return !isH264(info) || (p != nil && (p.Resolution != nil || p.Framerate > 0 || p.Bitrate != nil || p.KeyFrameInterval > 0))
}

// videoArgs copies H.264 or encodes H.264 with the requested parameters.
func videoArgs(info medialink.TrackInfo, p *protocol.VideoParameters) []string {
	if !transcodes(info, p) {
		return []string{"-c:v", "copy"}
	}
	fps := defaultFrameRate
	args := []string{"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p"}
	kfi := defaultKeyFrameSecs
	if p != nil {
		if r := p.Resolution; r != nil && r.Width > 0 && r.Height > 0 {
			args = append(args, "-vf", fmt.Sprintf("scale=%d:%d", r.Width&^1, r.Height&^1))
		}
		if p.Framerate > 0 {
			fps = p.Framerate
			args = append(args, "-r", strconv.Itoa(fps))
		}
		if b := p.Bitrate; b != nil && b.Kbps > 0 {
			k := strconv.Itoa(int(b.Kbps)) + "k"
			args = append(args, "-b:v", k, "-maxrate", k, "-bufsize", strconv.Itoa(2*int(b.Kbps))+"k")
		}
		if p.KeyFrameInterval > 0 {
			kfi = p.KeyFrameInterval
		}
	}
	return append(args, "-g", strconv.Itoa(fps*kfi))
}

// audioArgs encodes AAC, which every streaming protocol here carries (FLV cannot carry Opus
// in ffmpeg 5.1).
func audioArgs() []string {
	return []string{"-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"}
}

// outputArgs selects the muxer and its options for the protocol (OWT §6.2).
func outputArgs(proto string, p *protocol.StreamingOutParam) []string {
	method, segment, list := defaultMethod, defaultSegment, defaultListSize
	if p != nil {
		if p.Method != "" {
			method = strings.ToUpper(p.Method)
		}
		if proto == protocol.ProtocolHLS && p.HLSTime > 0 {
			segment = p.HLSTime
		}
		if proto == protocol.ProtocolHLS && p.HLSListSize > 0 {
			list = p.HLSListSize
		}
		if proto == protocol.ProtocolDASH && p.DashSegDuration > 0 {
			segment = p.DashSegDuration
		}
		if proto == protocol.ProtocolDASH && p.DashWindowSize > 0 {
			list = p.DashWindowSize
		}
	}
	switch proto {
	case protocol.ProtocolRTMP:
		return []string{"-f", "flv"}
	case protocol.ProtocolRTSP:
		return []string{"-f", "rtsp", "-rtsp_transport", "tcp"}
	case protocol.ProtocolHLS:
		return []string{"-f", "hls", "-hls_time", strconv.Itoa(segment), "-hls_list_size", strconv.Itoa(list),
			"-hls_flags", "delete_segments", "-method", method}
	default: // dash
		return []string{"-f", "dash", "-seg_duration", strconv.Itoa(segment), "-window_size", strconv.Itoa(list),
			"-method", method}
	}
}

// Args returns ffmpeg's command line: the SDP file as input, then per-kind codec options and
// the protocol's muxer writing to the target (its pinned URL and the options that keep the
// host name).
func Args(sdpPath string, inputs []input, proto string, target egress.Target, out *protocol.StreamingOutParam, vp *protocol.VideoParameters) []string {
	args := []string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
		"-protocol_whitelist", "file,udp,rtp", "-fflags", "+genpts", "-reorder_queue_size", "256",
		"-analyzeduration", "2000000", "-i", sdpPath}
	for i := range inputs {
		args = append(args, "-map", fmt.Sprintf("0:%d", i))
	}
	for _, in := range inputs {
		if in.kind == "video" {
			args = append(args, videoArgs(in.info, vp)...)
		} else {
			args = append(args, audioArgs()...)
		}
	}
	args = append(args, outputArgs(proto, out)...)
	args = append(args, target.OutputArgs()...)
	return append(args, target.URL)
}

// ValidateTarget checks that url suits proto (OWT §6.2: rtmp(s)://, rtsp://, http(s):// for
// HLS/DASH). It returns a message for the caller or "".
func ValidateTarget(proto, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "Invalid url"
	}
	allowed := map[string][]string{
		protocol.ProtocolRTMP: {"rtmp", "rtmps"},
		protocol.ProtocolRTSP: {"rtsp"},
		protocol.ProtocolHLS:  {"http", "https"},
		protocol.ProtocolDASH: {"http", "https"},
	}[proto]
	if allowed == nil {
		return "Unsupported protocol " + proto
	}
	for _, s := range allowed {
		if strings.EqualFold(u.Scheme, s) {
			return ""
		}
	}
	return fmt.Sprintf("url scheme %q does not match protocol %s", u.Scheme, proto)
}
