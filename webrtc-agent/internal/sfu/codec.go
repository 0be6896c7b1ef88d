package sfu

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/webrtc/v4"
)

// videoFeedback is the RTCP feedback every video codec negotiates.
var videoFeedback = []webrtc.RTCPFeedback{
	{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"},
	{Type: "nack", Parameter: "pli"}, {Type: "transport-cc"},
}

// h264Fmtp returns the fmtp line of an H.264 codec with the given profile-level-id.
func h264Fmtp(plid string) string {
	return "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + plid
}

// Codecs returns the codecs the agent negotiates, with the payload types it offers by
// default (answers use the offerer's payload types).
func Codecs() []webrtc.RTPCodecParameters {
	audio := func(pt webrtc.PayloadType, mime string, rate uint32, ch uint16, fmtp string) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{PayloadType: pt, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: mime, ClockRate: rate, Channels: ch, SDPFmtpLine: fmtp,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "transport-cc"}}}}
	}
	video := func(pt webrtc.PayloadType, mime, fmtp string) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{PayloadType: pt, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: mime, ClockRate: 90000, SDPFmtpLine: fmtp, RTCPFeedback: videoFeedback}}
	}
	return []webrtc.RTPCodecParameters{
		audio(111, webrtc.MimeTypeOpus, 48000, 2, "minptime=10;useinbandfec=1"),
		audio(0, webrtc.MimeTypePCMU, 8000, 0, ""),
		audio(8, webrtc.MimeTypePCMA, 8000, 0, ""),
		video(96, webrtc.MimeTypeVP8, ""),
		video(98, webrtc.MimeTypeVP9, "profile-id=0"),
		video(102, webrtc.MimeTypeH264, h264Fmtp("42e01f")),
		video(106, webrtc.MimeTypeH264, h264Fmtp("42001f")),
		video(108, webrtc.MimeTypeH264, h264Fmtp("4d001f")),
		video(112, webrtc.MimeTypeH264, h264Fmtp("64001f")),
	}
}

// RTXCodecs returns a retransmission codec (RFC 4588, video/rtx) for each video codec of
// Codecs, on the next free payload type: when a client's offer has them, the agent sends its
// retransmissions to subscribers on their own SSRC (DownTrack), and publishers send theirs
// to it so (pion unwraps them into the track).
func RTXCodecs() []webrtc.RTPCodecParameters {
	var out []webrtc.RTPCodecParameters
	for _, c := range Codecs() {
		if c.ClockRate != 90000 {
			continue
		}
		out = append(out, webrtc.RTPCodecParameters{PayloadType: c.PayloadType + 1, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", c.PayloadType)}})
	}
	return out
}

// FormatOf returns the OWT format of a codec: opus/48000/2, pcmu, vp8, vp9, h264 with its
// profile (CB, B, M, E, H), …
func FormatOf(c webrtc.RTPCodecCapability) protocol.Format {
	name := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(c.MimeType, "audio/"), "video/"))
	f := protocol.Format{Codec: name}
	switch {
	case strings.HasPrefix(strings.ToLower(c.MimeType), "audio/"):
		f.SampleRate = int(c.ClockRate)
		if c.Channels > 1 {
			f.ChannelNum = int(c.Channels)
		}
		if name == "pcmu" || name == "pcma" {
			f.SampleRate = 0 // OWT names these formats without a rate
		}
	case name == "h264":
		f.Profile = H264Profile(fmtpValue(c.SDPFmtpLine, "profile-level-id"))
	}
	return f
}

// H264Profile maps a profile-level-id (RFC 6184 §8.1) to OWT's profile name; "" when
// unknown.
func H264Profile(plid string) string {
	if len(plid) != 6 {
		return ""
	}
	v, err := strconv.ParseUint(plid[:4], 16, 16)
	if err != nil {
		return ""
	}
	idc, iop := byte(v>>8), byte(v)
	switch {
	case idc == 0x42 && iop&0x40 != 0, idc == 0x4d && iop&0x80 != 0, idc == 0x58 && iop&0xC0 == 0xC0:
		return "CB"
	case idc == 0x42:
		return "B"
	case idc == 0x4d:
		return "M"
	case idc == 0x58:
		return "E"
	case idc == 0x64:
		return "H"
	}
	return ""
}

// fmtpValue returns the value of key in an fmtp line ("a=1;b=2").
func fmtpValue(line, key string) string {
	for part := range strings.SplitSeq(line, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// FormatMatches reports whether codec c satisfies the wanted format: same codec name, and
// the sample rate, channel count and H.264 profile when the format names them.
func FormatMatches(want protocol.Format, c webrtc.RTPCodecCapability) bool {
	got := FormatOf(c)
	switch {
	case !strings.EqualFold(want.Codec, got.Codec):
		return false
	case want.SampleRate != 0 && want.SampleRate != int(c.ClockRate):
		return false
	case want.ChannelNum != 0 && want.ChannelNum != max(int(c.Channels), 1):
		return false
	case want.Profile != "" && !strings.EqualFold(want.Profile, got.Profile):
		return false
	}
	return true
}

// SameCodec reports whether two codecs carry the same bitstream format, so a subscriber
// can be switched between sources without renegotiation.
func SameCodec(a, b webrtc.RTPCodecCapability) bool {
	fa, fb := FormatOf(a), FormatOf(b)
	return fa.Codec == fb.Codec && fa.Profile == fb.Profile && a.ClockRate == b.ClockRate
}
