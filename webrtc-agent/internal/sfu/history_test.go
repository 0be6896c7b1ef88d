package sfu

import (
	"bytes"
	"sync"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// payloadWriter records every packet written, payload included.
type payloadWriter struct {
	mu   sync.Mutex
	pkts []rtp.Packet
}

func (w *payloadWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pkts = append(w.pkts, rtp.Packet{Header: *h, Payload: bytes.Clone(payload)})
	return len(payload), nil
}

func (w *payloadWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *payloadWriter) all() []rtp.Packet {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]rtp.Packet(nil), w.pkts...)
}

// nackFor is a generic NACK for seqs.
func nackFor(seqs ...uint16) []rtcp.Packet {
	return []rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: 0xABCD, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}}
}

// forwardN forwards n VP8 packets (the first a keyframe) starting at source seq first.
func forwardN(t *testing.T, tr *Track, first uint16, n int) {
	t.Helper()
	buf := make([]byte, 0, 1100)
	for i := range n {
		seq := first + uint16(i)
		if !tr.Forward(vp8Packet(buf, 1111, seq, 3000*uint32(i/3), i == 0)) {
			t.Fatal("not forwarded")
		}
	}
}

func TestSFURetransmitFromSharedHistory(t *testing.T) {
	tr := newVP8Track("v", nil)
	w1, w2 := &payloadWriter{}, &payloadWriter{}
	d1, d2 := NewDownTrack("d1", "s", tr), NewDownTrack("d2", "s", tr)
	for _, dw := range []struct {
		d *DownTrack
		w *payloadWriter
	}{{d1, w1}, {d2, w2}} {
		if _, err := dw.d.Bind(bindContext{codecs: []webrtc.RTPCodecParameters{{PayloadType: 120, RTPCodecCapability: vp8}}, w: dw.w}); err != nil {
			t.Fatal(err)
		}
		dw.d.Attach()
	}
	forwardN(t, tr, 65530, 12) // wraps the source sequence numbers
	sent := w1.all()
	if len(sent) != 12 {
		t.Fatalf("d1 got %d packets, want 12", len(sent))
	}

	lost := []rtp.Packet{sent[3], sent[7]}
	d1.HandleRTCP(nackFor(lost[0].SequenceNumber, lost[1].SequenceNumber))
	got := w1.all()[12:]
	if len(got) != 2 {
		t.Fatalf("retransmitted %d packets, want 2", len(got))
	}
	for i, p := range got {
		o := lost[i]
		if p.SequenceNumber != o.SequenceNumber || p.Timestamp != o.Timestamp || p.SSRC != o.SSRC ||
			p.PayloadType != o.PayloadType || p.Marker != o.Marker || !bytes.Equal(p.Payload, o.Payload) {
			t.Errorf("retransmission %d = %+v, want the original %+v", i, p.Header, o.Header)
		}
	}
	if len(w2.all()) != 12 {
		t.Errorf("the other subscriber got %d packets, want its 12 only", len(w2.all()))
	}

	// Each packet is resent at most maxResends times; unknown numbers are counted as missed.
	for range 3 {
		d1.HandleRTCP(nackFor(lost[0].SequenceNumber))
	}
	d1.HandleRTCP(nackFor(sent[11].SequenceNumber + 100))
	// lost[0]: resent once above, once more here, then refused twice; lost[1]: once.
	resent, missed := d1.Retransmitted()
	if resent != maxResends+1 || missed != 3 {
		t.Errorf("resent %d missed %d, want %d and 3", resent, missed, maxResends+1)
	}
}

func TestSFURetransmitBounds(t *testing.T) {
	tr := NewTrack(TrackConfig{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Codec: vp8, History: 64})
	w := &payloadWriter{}
	d := NewDownTrack("d", "s", tr)
	if _, err := d.Bind(bindContext{codecs: []webrtc.RTPCodecParameters{{PayloadType: 120, RTPCodecCapability: vp8}}, w: w}); err != nil {
		t.Fatal(err)
	}
	d.Attach()
	forwardN(t, tr, 100, 200)
	sent := w.all()

	// Older than the source's 64-packet history: nothing to resend.
	d.HandleRTCP(nackFor(sent[0].SequenceNumber))
	if resent, missed := d.Retransmitted(); resent != 0 || missed != 1 {
		t.Errorf("NACK beyond the history: resent %d missed %d, want 0 and 1", resent, missed)
	}

	// A flood of NACKs in one report is cut at maxNACKsPerReport.
	var seqs []uint16
	for _, p := range sent[100:] {
		seqs = append(seqs, p.SequenceNumber)
	}
	d.HandleRTCP(nackFor(seqs...))
	resent, missed := d.Retransmitted()
	if resent+missed-1 != maxNACKsPerReport {
		t.Errorf("a NACK of %d packets handled %d, want %d", len(seqs), resent+missed-1, maxNACKsPerReport)
	}

	// Audio keeps no history.
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	at := NewTrack(TrackConfig{ID: "a", Kind: webrtc.RTPCodecTypeAudio, Codec: opus})
	if at.hist != nil {
		t.Error("audio track keeps a retransmission history")
	}
}

// FuzzDownTrackRTCP feeds arbitrary RTCP to a down-track: no panic, no retransmission of
// anything it did not send.
func FuzzDownTrackRTCP(f *testing.F) {
	seed, _ := rtcp.Marshal(nackFor(1, 2, 3, 40))
	f.Add(seed)
	pli, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 0xABCD}})
	f.Add(pli)
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			return
		}
		tr := newVP8Track("v", nil)
		w := &payloadWriter{}
		d := NewDownTrack("d", "s", tr)
		if _, err := d.Bind(bindContext{codecs: []webrtc.RTPCodecParameters{{PayloadType: 120, RTPCodecCapability: vp8}}, w: w}); err != nil {
			t.Fatal(err)
		}
		d.Attach()
		forwardN(t, tr, 0, 8)
		d.HandleRTCP(pkts)
		if n := len(w.all()); n > 8+maxNACKsPerReport {
			t.Fatalf("%d packets written for one report", n)
		}
	})
}

// TestSFURetransmitRTX: with RTX negotiated, a retransmission goes on the RTX SSRC and payload
// type with its own consecutive numbering, the original sequence number in front of the
// original payload (RFC 4588 §4), and the original timestamp and marker.
func TestSFURetransmitRTX(t *testing.T) {
	tr := newVP8Track("v", nil)
	w := &payloadWriter{}
	d := NewDownTrack("d", "s", tr)
	codecs := []webrtc.RTPCodecParameters{{PayloadType: 120, RTPCodecCapability: vp8},
		{PayloadType: 119, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=100"}},
		{PayloadType: 121, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=120"}}}
	if _, err := d.Bind(bindContext{codecs: codecs, w: w, rtxSSRC: 0x5555}); err != nil {
		t.Fatal(err)
	}
	d.Attach()
	forwardN(t, tr, 100, 6)
	sent := w.all()
	d.HandleRTCP(nackFor(sent[2].SequenceNumber, sent[4].SequenceNumber))
	got := w.all()[len(sent):]
	if len(got) != 2 {
		t.Fatalf("%d retransmissions, want 2", len(got))
	}
	for i, o := range []rtp.Packet{sent[2], sent[4]} {
		p := got[i]
		if p.SSRC != 0x5555 || p.PayloadType != 121 || p.Timestamp != o.Timestamp || p.Marker != o.Marker {
			t.Fatalf("retransmission %d header %+v: want SSRC 0x5555, PT 121 and the original's timestamp and marker", i, p.Header)
		}
		if len(p.Payload) != len(o.Payload)+2 || uint16(p.Payload[0])<<8|uint16(p.Payload[1]) != o.SequenceNumber ||
			!bytes.Equal(p.Payload[2:], o.Payload) {
			t.Fatalf("retransmission %d payload does not carry OSN %d and the original payload", i, o.SequenceNumber)
		}
	}
	if got[1].SequenceNumber != got[0].SequenceNumber+1 {
		t.Fatalf("RTX sequence numbers %d then %d: not consecutive", got[0].SequenceNumber, got[1].SequenceNumber)
	}

	// Without an RTX SSRC (not negotiated) the packet is repeated on the media SSRC.
	plain := NewDownTrack("p", "s", tr)
	pw := &payloadWriter{}
	if _, err := plain.Bind(bindContext{codecs: codecs, w: pw}); err != nil {
		t.Fatal(err)
	}
	plain.Attach()
	forwardN(t, tr, 200, 3)
	ps := pw.all()
	plain.HandleRTCP(nackFor(ps[1].SequenceNumber))
	if r := pw.all()[len(ps):]; len(r) != 1 || r[0].SSRC != ps[1].SSRC || r[0].SequenceNumber != ps[1].SequenceNumber {
		t.Fatalf("without RTX the retransmission is %+v, want the original on the media SSRC", r)
	}
}
