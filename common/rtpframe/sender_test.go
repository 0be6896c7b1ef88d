package rtpframe

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// sender packetizes clip frames the way a browser does: VP8 with 15-bit picture IDs (and
// optionally three temporal layers, pattern 0-2-1-2, TL0PICIDX and layer-sync bits), H.264
// with STAP-A/FU-A, padding-only probes in the media's sequence space carrying the last
// frame's timestamp, and packets as they look after the wire: marshalled and parsed again.
type sender struct {
	codec    Codec
	ssrc     uint32
	seq      uint16
	ts       uint32
	pid      uint16
	tl0      uint8
	layers   bool
	n        int // frames sent
	sinceKey int
	synced   [4]bool // a layer-sync frame of the layer was sent since the last keyframe
}

// senderMTU is the payload size of the test sender: small, so that frames of the low-rate
// test clips span several packets.
const senderMTU = 500

func newSender(c Codec) *sender {
	return &sender{codec: c, ssrc: 0x1234, seq: 65000, ts: 0xFFFF0000, pid: 32700}
}

// wire marshals and parses p, as a receiver gets it.
func wire(p *rtp.Packet) *rtp.Packet {
	b, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	var q rtp.Packet
	if err := q.Unmarshal(b); err != nil {
		panic(err)
	}
	return &q
}

// tid is the temporal layer of the n-th frame since a keyframe.
func (s *sender) tid() uint8 {
	if !s.layers {
		return 0
	}
	return [4]uint8{0, 2, 1, 2}[s.sinceKey%4]
}

// frame packetizes one frame; f.Key restarts the layer pattern.
func (s *sender) frame(f clipFrame) []*rtp.Packet {
	if f.Key {
		s.sinceKey, s.synced = 0, [4]bool{}
	}
	var payloads [][]byte
	switch s.codec {
	case VP8:
		payloads = s.vp8(f.Data)
	case H264:
		payloads = (&codecs.H264Payloader{}).Payload(senderMTU, f.Data)
	default:
		payloads = [][]byte{f.Data}
	}
	var out []*rtp.Packet
	for i, pl := range payloads {
		out = append(out, wire(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: s.seq,
			Timestamp: s.ts, SSRC: s.ssrc, Marker: i == len(payloads)-1}, Payload: pl}))
		s.seq++
	}
	rate := time.Duration(90000)
	if s.codec == Opus {
		rate = 48000
	}
	s.ts += uint32(f.Duration * rate / time.Second)
	s.pid = (s.pid + 1) & 0x7FFF
	s.n++
	s.sinceKey++
	return out
}

// vp8 splits a VP8 frame into payloads with RFC 7741 descriptors.
func (s *sender) vp8(frame []byte) [][]byte {
	tid := s.tid()
	if tid == 0 && s.layers {
		s.tl0++
	}
	sync := tid > 0 && !s.synced[tid]
	s.synced[tid] = true
	var out [][]byte
	for off := 0; off < len(frame); off += senderMTU {
		d := []byte{0x80, 0x80}
		if off == 0 {
			d[0] |= 0x10
		}
		if tid == 2 {
			d[0] |= 0x20 // N: the top layer is never referenced
		}
		if s.layers {
			d[1] |= 0x60
		}
		d = binary.BigEndian.AppendUint16(d, 0x8000|s.pid)
		if s.layers {
			y := byte(0)
			if sync {
				y = 0x20
			}
			d = append(d, s.tl0, tid<<6|y)
		}
		out = append(out, append(d, frame[off:min(off+senderMTU, len(frame))]...))
	}
	return out
}

// padding returns n padding-only packets (224 bytes of padding each) with the last frame's
// timestamp, as Chromium sends them to probe bandwidth.
func (s *sender) padding(n int) []*rtp.Packet {
	var out []*rtp.Packet
	last := s.ts - 3000
	for range n {
		out = append(out, wire(&rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PaddingSize: 224,
			PayloadType: 96, SequenceNumber: s.seq, Timestamp: last, SSRC: s.ssrc}}))
		s.seq++
	}
	return out
}

// feed is a packet schedule: packets with their arrival times.
type feed struct {
	pkts []*rtp.Packet
	at   []time.Time
	now  time.Time
}

func newFeed() *feed { return &feed{now: time.Unix(1000, 0)} }

// add schedules packets arriving together at the current time, then advances it by step.
func (f *feed) add(step time.Duration, pkts ...*rtp.Packet) {
	for _, p := range pkts {
		f.pkts = append(f.pkts, p)
		f.at = append(f.at, f.now)
	}
	f.now = f.now.Add(step)
}

// play pushes the schedule into d and drains it.
func (f *feed) play(d *Depacketizer, c *collected) {
	for i, p := range f.pkts {
		d.Push(p, f.at[i], c.emit)
	}
	d.Drain(c.emit)
}
