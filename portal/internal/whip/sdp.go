package whip

import (
	"errors"
	"fmt"
	"strings"
)

// Offer parsing errors: a malformed offer is a 400, an offer without usable media a 406.
var (
	ErrMalformedSDP = errors.New("malformed SDP")
	ErrNoMedia      = errors.New("the offer has no audio or video to negotiate")
)

// maxSDPBytes bounds an offer or an SDP fragment (a browser offer is 5–10 KB).
const maxSDPBytes = 64 << 10

// section is one m-section of an offer, as far as WHIP and WHEP need it.
type section struct {
	kind    string // audio, video, application, …
	mid     string
	dir     string // sendrecv (default), sendonly, recvonly, inactive
	port0   bool   // port 0: rejected, unless bundle-only (RFC 8843 §6)
	bundled bool   // a=bundle-only
}

// rejected reports an m-section the offerer turned off.
func (s section) rejected() bool { return s.port0 && !s.bundled }

// offer is what the endpoint reads from an SDP offer: its m-sections and ICE credentials.
type offer struct {
	sections   []section
	ufrag, pwd string
}

// parseOffer checks the SDP's line structure (RFC 8866 §5: "<type>=<value>", v=0 first) and
// reads its m-sections. The webrtc agent parses the offer fully; this only keeps garbage from
// reaching a room and learns which tracks to publish or subscribe.
func parseOffer(text string) (offer, error) {
	var o offer
	if len(text) > maxSDPBytes {
		return o, fmt.Errorf("%w: over %d bytes", ErrMalformedSDP, maxSDPBytes)
	}
	first := true
	for raw := range strings.Lines(text) {
		line := strings.TrimRight(raw, "\r\n")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			return o, fmt.Errorf("%w: line %.40q", ErrMalformedSDP, line)
		}
		if first && line != "v=0" {
			return o, fmt.Errorf("%w: does not start with v=0", ErrMalformedSDP)
		}
		first = false
		if err := o.line(line); err != nil {
			return o, err
		}
	}
	if first || len(o.sections) == 0 {
		return o, fmt.Errorf("%w: no m= line", ErrMalformedSDP)
	}
	return o, nil
}

// line applies one SDP line.
func (o *offer) line(line string) error {
	if v, ok := strings.CutPrefix(line, "m="); ok {
		f := strings.Fields(v)
		if len(f) < 4 {
			return fmt.Errorf("%w: m-line %.40q", ErrMalformedSDP, line)
		}
		o.sections = append(o.sections, section{kind: f[0], dir: "sendrecv", port0: f[1] == "0"})
		return nil
	}
	attr, ok := strings.CutPrefix(line, "a=")
	if !ok {
		return nil
	}
	var cur *section
	if n := len(o.sections); n > 0 {
		cur = &o.sections[n-1]
	}
	name, value, _ := strings.Cut(attr, ":")
	switch name {
	case "ice-ufrag":
		o.ufrag = firstNonEmpty(o.ufrag, value)
	case "ice-pwd":
		o.pwd = firstNonEmpty(o.pwd, value)
	case "mid":
		if cur != nil {
			cur.mid = value
		}
	case "bundle-only":
		if cur != nil {
			cur.bundled = true
		}
	case "sendrecv", "sendonly", "recvonly", "inactive":
		if cur != nil {
			cur.dir = name
		}
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// track is an audio or video m-section the endpoint negotiates.
type track struct {
	kind, mid string
}

// tracks returns the offer's live audio and video m-sections of direction dir+"only"
// ("send" for WHIP, "recv" for WHEP: the webrtc agent takes a publication's tracks sendonly
// and a subscription's recvonly, RFC 9725 §4.2), at most one of each kind (an OWT stream has
// one audio and one video track). Other m-sections are left to the webrtc agent, which
// answers them inactive.
func (o offer) tracks(dir string) ([]track, error) {
	var out []track
	seen := map[string]bool{}
	for _, s := range o.sections {
		if s.rejected() || (s.kind != "audio" && s.kind != "video") {
			continue
		}
		if s.dir != dir+"only" {
			continue
		}
		if s.mid == "" {
			return nil, fmt.Errorf("%w: %s m-section without a=mid", ErrMalformedSDP, s.kind)
		}
		if seen[s.kind] {
			return nil, fmt.Errorf("%w: more than one %s m-section", ErrNoMedia, s.kind)
		}
		seen[s.kind] = true
		out = append(out, track{kind: s.kind, mid: s.mid})
	}
	if len(out) == 0 {
		return nil, ErrNoMedia
	}
	return out, nil
}

// candidate is one trickled ICE candidate of an SDP fragment (RFC 8840).
type candidate struct {
	mid   string
	index int // m-line index within the fragment
	line  string
}

// fragment is a parsed application/trickle-ice-sdpfrag body.
type fragment struct {
	ufrag, pwd string
	candidates []candidate
}

// parseFragment reads an SDP fragment (RFC 8840 §9, RFC 9725 §4.3.1): ICE credentials,
// m-lines with their mid and candidates. end-of-candidates carries nothing for the agent.
func parseFragment(text string) (fragment, error) {
	var f fragment
	if len(text) > maxSDPBytes {
		return f, fmt.Errorf("%w: over %d bytes", ErrMalformedSDP, maxSDPBytes)
	}
	index, mid := -1, ""
	for raw := range strings.Lines(text) {
		line := strings.TrimRight(raw, "\r\n")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return f, fmt.Errorf("%w: line %.40q", ErrMalformedSDP, line)
		}
		name, value, _ := strings.Cut(strings.TrimPrefix(line, "a="), ":")
		switch {
		case strings.HasPrefix(line, "m="):
			index, mid = index+1, ""
		case name == "ice-ufrag":
			f.ufrag = value
		case name == "ice-pwd":
			f.pwd = value
		case name == "mid":
			mid = value
		case name == "candidate":
			if len(strings.Fields(value)) < 8 {
				return f, fmt.Errorf("%w: candidate %.60q", ErrMalformedSDP, line)
			}
			f.candidates = append(f.candidates, candidate{mid: mid, index: max(index, 0), line: strings.TrimPrefix(line, "a=")})
		}
	}
	if (f.ufrag == "") != (f.pwd == "") {
		return f, fmt.Errorf("%w: ice-ufrag and ice-pwd go together", ErrMalformedSDP)
	}
	return f, nil
}

// restartOffer is the stored offer with new ICE credentials and no candidates: the re-offer
// that restarts ICE on the server's PeerConnection (RFC 8839 §4.4.1.1.1).
func restartOffer(sdp, ufrag, pwd string) string {
	var b strings.Builder
	for raw := range strings.Lines(sdp) {
		line := strings.TrimRight(raw, "\r\n")
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			line = "a=ice-ufrag:" + ufrag
		case strings.HasPrefix(line, "a=ice-pwd:"):
			line = "a=ice-pwd:" + pwd
		case strings.HasPrefix(line, "a=candidate:"), line == "a=end-of-candidates", line == "":
			continue
		}
		b.WriteString(line + "\r\n")
	}
	return b.String()
}

// answerFragment is the server's side of an ICE restart (RFC 9725 §4.3.2): the answer's new
// credentials and, per m-section, its mid and candidates.
func answerFragment(answer string) string {
	var b, cur strings.Builder
	var ufrag, pwd string
	for raw := range strings.Lines(answer) {
		line := strings.TrimRight(raw, "\r\n")
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:") && ufrag == "":
			ufrag = line
		case strings.HasPrefix(line, "a=ice-pwd:") && pwd == "":
			pwd = line
		case strings.HasPrefix(line, "m="), strings.HasPrefix(line, "a=mid:"),
			strings.HasPrefix(line, "a=candidate:"), line == "a=end-of-candidates":
			cur.WriteString(line + "\r\n")
		}
	}
	if ufrag != "" {
		b.WriteString(ufrag + "\r\n" + pwd + "\r\n")
	}
	b.WriteString(cur.String())
	return b.String()
}
