package testclip

import (
	"strings"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// MTU is the RTP payload budget of the test packetizers.
const MTU = 1200

// Payloader returns pion's payloader for a MIME type ("video/VP8", "video/H264", "audio/opus").
func Payloader(mime string) rtp.Payloader {
	switch strings.ToLower(mime) {
	case "video/vp8":
		return &codecs.VP8Payloader{}
	case "video/h264":
		return &codecs.H264Payloader{}
	default:
		return &codecs.OpusPayloader{}
	}
}

// ClockRate returns the RTP clock rate of a MIME type.
func ClockRate(mime string) uint32 {
	if strings.HasPrefix(strings.ToLower(mime), "audio/") {
		return 48000
	}
	return 90000
}

// Packetizer turns frames into RTP packets with a given start sequence number and timestamp.
type Packetizer struct {
	Payloader rtp.Payloader
	SSRC      uint32
	PT        uint8
	Seq       uint16
	Clock     uint32
}

// Packets returns the packets of one frame with RTP timestamp ts (marker on the last).
func (p *Packetizer) Packets(f Frame, ts uint32) []*rtp.Packet {
	payloads := p.Payloader.Payload(MTU, f.Data)
	out := make([]*rtp.Packet, 0, len(payloads))
	for i, pl := range payloads {
		out = append(out, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: p.PT, SequenceNumber: p.Seq,
			Timestamp: ts, SSRC: p.SSRC, Marker: i == len(payloads)-1}, Payload: pl})
		p.Seq++
	}
	return out
}

// Ticks converts a duration to RTP clock ticks.
func (p *Packetizer) Ticks(d time.Duration) uint32 {
	return uint32(d * time.Duration(p.Clock) / time.Second)
}

// PacketizeAll packetizes frames back to back from timestamp ts0 and returns every packet.
func PacketizeAll(mime string, frames []Frame, seq0 uint16, ts0 uint32) []*rtp.Packet {
	p := &Packetizer{Payloader: Payloader(mime), SSRC: 1234, PT: 96, Seq: seq0, Clock: ClockRate(mime)}
	var out []*rtp.Packet
	var elapsed time.Duration
	for _, f := range frames {
		out = append(out, p.Packets(f, ts0+p.Ticks(elapsed))...)
		elapsed += f.Duration
	}
	return out
}
