package transport

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// offerMedia is what negotiation needs from one m-section of a client's offer.
type offerMedia struct {
	mid       string
	kind      webrtc.RTPCodecType // 0 for application/other
	port      int
	direction webrtc.RTPTransceiverDirection
	codecs    []webrtc.RTPCodecParameters // in offer (preference) order
	rids      []string
	// bundleOnly: a=bundle-only, whose port 0 means "only in the BUNDLE group", not
	// rejected (RFC 8843 §6; GStreamer's webrtcbin offers max-bundle so).
	bundleOnly bool
}

// closed reports whether the client closed or disabled the m-section.
func (m offerMedia) closed() bool {
	return (m.port == 0 && !m.bundleOnly) || m.direction == webrtc.RTPTransceiverDirectionInactive
}

// maxOfferSize bounds the SDP the agent parses.
const maxOfferSize = 256 * 1024

// parseOffer extracts the m-sections of an offer. It rejects what pion would choke on later
// (no mid, no ICE credentials, no fingerprint) with ErrBadSDP.
func parseOffer(text string) ([]offerMedia, error) {
	if len(text) > maxOfferSize {
		return nil, fmt.Errorf("%w: offer larger than %d bytes", ErrBadSDP, maxOfferSize)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(text); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("%w: no media sections", ErrBadSDP)
	}
	_, sessionFP := sd.Attribute("fingerprint")
	out := make([]offerMedia, 0, len(sd.MediaDescriptions))
	seen := map[string]bool{}
	for i, md := range sd.MediaDescriptions {
		m, err := parseMedia(md)
		if err != nil {
			return nil, fmt.Errorf("%w: m-section %d: %w", ErrBadSDP, i, err)
		}
		if seen[m.mid] {
			return nil, fmt.Errorf("%w: duplicate mid %q", ErrBadSDP, m.mid)
		}
		seen[m.mid] = true
		if _, fp := md.Attribute("fingerprint"); !fp && !sessionFP && !m.closed() {
			return nil, fmt.Errorf("%w: m-section %q has no DTLS fingerprint", ErrBadSDP, m.mid)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseMedia reads one m-section.
func parseMedia(md *sdp.MediaDescription) (offerMedia, error) {
	m := offerMedia{port: md.MediaName.Port.Value, kind: webrtc.NewRTPCodecType(md.MediaName.Media)}
	mid, ok := md.Attribute(sdp.AttrKeyMID)
	if !ok || mid == "" {
		return m, fmt.Errorf("no mid")
	}
	m.mid = mid
	_, m.bundleOnly = md.Attribute("bundle-only")
	m.direction = webrtc.RTPTransceiverDirectionSendrecv
	for _, d := range []webrtc.RTPTransceiverDirection{webrtc.RTPTransceiverDirectionSendonly,
		webrtc.RTPTransceiverDirectionRecvonly, webrtc.RTPTransceiverDirectionInactive} {
		if _, ok := md.Attribute(d.String()); ok {
			m.direction = d
		}
	}
	if m.kind == 0 {
		return m, nil
	}
	codecs, err := mediaCodecs(md)
	if err != nil {
		return m, err
	}
	m.codecs = codecs
	for _, a := range md.Attributes {
		if a.Key == "rid" {
			if id, dir, _ := strings.Cut(a.Value, " "); strings.HasPrefix(dir, "send") {
				m.rids = append(m.rids, id)
			}
		}
	}
	return m, nil
}

// mediaCodecs reads rtpmap/fmtp/rtcp-fb in the order of the m-line's formats.
func mediaCodecs(md *sdp.MediaDescription) ([]webrtc.RTPCodecParameters, error) {
	byPT := map[uint8]*webrtc.RTPCodecParameters{}
	for _, a := range md.Attributes {
		ptText, rest, _ := strings.Cut(a.Value, " ")
		pt, err := strconv.ParseUint(ptText, 10, 8)
		if err != nil {
			continue
		}
		c := byPT[uint8(pt)]
		if c == nil {
			c = &webrtc.RTPCodecParameters{PayloadType: webrtc.PayloadType(pt)}
			byPT[uint8(pt)] = c
		}
		switch a.Key {
		case "rtpmap":
			if err := parseRTPMap(c, md.MediaName.Media, rest); err != nil {
				return nil, err
			}
		case "fmtp":
			c.SDPFmtpLine = rest
		case "rtcp-fb":
			typ, param, _ := strings.Cut(rest, " ")
			c.RTCPFeedback = append(c.RTCPFeedback, webrtc.RTCPFeedback{Type: typ, Parameter: param})
		}
	}
	var out []webrtc.RTPCodecParameters
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 8)
		if err != nil {
			return nil, fmt.Errorf("bad payload type %q", f)
		}
		if c := byPT[uint8(pt)]; c != nil && c.MimeType != "" {
			out = append(out, *c)
		}
	}
	return out, nil
}

// parseRTPMap parses "VP8/90000" or "opus/48000/2" into c.
func parseRTPMap(c *webrtc.RTPCodecParameters, media, text string) error {
	parts := strings.Split(text, "/")
	if len(parts) < 2 || parts[0] == "" {
		return fmt.Errorf("bad rtpmap %q", text)
	}
	rate, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return fmt.Errorf("bad rtpmap clock rate %q", text)
	}
	c.MimeType, c.ClockRate = media+"/"+parts[0], uint32(rate)
	if len(parts) > 2 {
		ch, err := strconv.ParseUint(parts[2], 10, 16)
		if err != nil {
			return fmt.Errorf("bad rtpmap channels %q", text)
		}
		c.Channels = uint16(ch)
	}
	return nil
}
