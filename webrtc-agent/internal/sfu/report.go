package sfu

import "github.com/pion/rtcp"

// ReportSink is a sink that also takes the publisher's RTCP Sender Reports (RFC 3550
// §6.4.1), e.g. a media-link exporter whose importer aligns streams by their NTP↔RTP
// mapping. A DownTrack bound to a PeerConnection ignores them (pion's report interceptor
// generates the Sender Reports of what it sends); one bound to a plain writer translates
// them (DownTrack.BindWriter). WriteSenderReport runs on the track's RTCP goroutine, must not
// block, and must not keep sr after returning.
type ReportSink interface {
	WriteSenderReport(src *Track, sr []byte)
}

// ssrcKnown marks Track.ssrc as holding the SSRC of a forwarded packet.
const ssrcKnown = 1 << 32

// noteSSRC records the SSRC of the packet being forwarded; it writes only on a change.
func (t *Track) noteSSRC(ssrc uint32) {
	if v := ssrcKnown | uint64(ssrc); t.ssrc.Load() != v {
		t.ssrc.Store(v)
	}
}

// SSRC returns the SSRC of the last RTP packet forwarded, and false before the first one.
func (t *Track) SSRC() (uint32, bool) {
	v := t.ssrc.Load()
	return uint32(v), v&ssrcKnown != 0
}

// SenderReports returns the number of Sender Reports handed to the sinks.
func (t *Track) SenderReports() uint64 { return t.reports.Load() }

// ForwardSenderReports hands every Sender Report in pkts that describes the track's RTP
// stream (same SSRC as its packets) to the ReportSinks, marshalled as a compound packet of
// its own without reception report blocks (those describe what the publisher receives,
// meaningless downstream). Reports that arrive before the first RTP packet, or for other
// SSRCs, are dropped. It returns the number forwarded. One goroutine calls it per track.
func (t *Track) ForwardSenderReports(pkts []rtcp.Packet) int {
	ssrc, ok := t.SSRC()
	if !ok || t.closed.Load() {
		return 0
	}
	n := 0
	for _, p := range pkts {
		sr, isSR := p.(*rtcp.SenderReport)
		if !isSR || sr.SSRC != ssrc {
			continue
		}
		out := rtcp.SenderReport{SSRC: sr.SSRC, NTPTime: sr.NTPTime, RTPTime: sr.RTPTime,
			PacketCount: sr.PacketCount, OctetCount: sr.OctetCount}
		b, err := out.Marshal()
		if err != nil {
			continue
		}
		t.reports.Add(1)
		n++
		for _, s := range t.loadSinks() {
			if r, isRS := s.(ReportSink); isRS {
				r.WriteSenderReport(t, b)
			}
		}
	}
	return n
}
