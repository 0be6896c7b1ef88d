package sfu

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// layerRig is a three-layer simulcast publication on a fake clock, with a follower
// down-track bound to a plain writer.
type layerRig struct {
	t       *testing.T
	clock   int64
	layers  []*Track // h, m, l
	sizes   [][2]int
	seq     []uint16
	ts      []uint32
	buf     []byte
	w       *recordWriter
	reports [][]byte
	d       *DownTrack
	kf      []*atomic.Int32 // keyframe requests per layer
	seen    []int32         // requests answered
	padding map[int]bool    // layers sending padding-only packets instead of frames
}

func newLayerRig(t *testing.T) *layerRig {
	r := &layerRig{t: t, sizes: [][2]int{{640, 480}, {320, 240}, {160, 120}},
		seq: []uint16{100, 20000, 40000}, ts: []uint32{1000, 500000, 900000}, buf: make([]byte, 0, 1500), w: &recordWriter{}}
	now := func() int64 { return r.clock }
	for _, id := range []string{"t-0:h", "t-0:m", "t-0:l"} {
		kf := new(atomic.Int32)
		r.kf, r.seen = append(r.kf, kf), append(r.seen, 0)
		tr := newVP8Track(id, kf)
		tr.now = now
		r.layers = append(r.layers, tr)
	}
	r.d = NewDownTrack("t-0:h", "t-0:h", r.layers[0])
	r.d.BindWriter(r.w, 0x1234, 96, func(sr []byte) { r.reports = append(r.reports, append([]byte(nil), sr...)) })
	r.d.Attach()
	return r
}

// frame sends one 33-ms frame (one packet) of each layer in sending; a layer answers a
// keyframe request, or key, with a keyframe carrying its picture size.
func (r *layerRig) frame(key bool, sending ...int) {
	r.clock += 33e6
	for _, i := range sending {
		if r.padding[i] { // a padding-only packet: the previous timestamp, no payload
			r.seq[i]++
			b := append(r.buf[:0], 0xA0, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
			binary.BigEndian.PutUint16(b[2:], r.seq[i])
			binary.BigEndian.PutUint32(b[4:], r.ts[i])
			binary.BigEndian.PutUint32(b[8:], uint32(i+1))
			b = append(b, make([]byte, 199)...)
			b = append(b, 200)
			r.layers[i].Forward(b)
			continue
		}
		key := key
		if n := r.kf[i].Load(); n != r.seen[i] {
			r.seen[i], key = n, true
		}
		r.seq[i]++
		r.ts[i] += 3000
		b := vp8Packet(r.buf, uint32(i+1), r.seq[i], r.ts[i], key)
		if key { // a VP8 keyframe header with the layer's size after the descriptor
			f := b[12+8+1:]
			copy(f, []byte{0x00, 0x00, 0x00, 0x9D, 0x01, 0x2A})
			binary.LittleEndian.PutUint16(f[6:], uint16(r.sizes[i][0]))
			binary.LittleEndian.PutUint16(f[8:], uint16(r.sizes[i][1]))
		}
		r.layers[i].Forward(b)
	}
}

// run sends n frames of the given layers (a keyframe first), polling Follow every
// ~250 ms like the agent's export loop.
func (r *layerRig) run(n int, sending ...int) {
	r.t.Helper()
	for f := range n {
		r.frame(f == 0, sending...)
		if f%8 == 7 {
			for _, l := range r.layers {
				l.Bitrate() // polled, as the demand loop does
			}
			if err := Follow(r.d, r.layers, r.layers[0]); err != nil {
				r.t.Fatal(err)
			}
		}
	}
}

// TestFollowKeepsToFlowingLayer: the follower sends the layer it asked for, moves to the
// best flowing layer below it when that stops, and back when it resumes, in one continuous
// numbering with its own SSRC and payload type.
func TestFollowKeepsToFlowingLayer(t *testing.T) {
	r := newLayerRig(t)
	h, m, l := r.layers[0], r.layers[1], r.layers[2]
	r.run(60, 0, 1, 2) // 2 s of all three layers
	if r.d.Target() != h || r.d.Source() != h {
		t.Fatalf("while every layer flows the follower sends %s", r.d.Source().ID())
	}
	r.run(60, 1, 2) // the publisher drops its largest layer
	if r.d.Source() != m {
		t.Fatalf("after h stopped the follower sends %s, want the next layer down", r.d.Source().ID())
	}
	r.run(60, 2) // and the middle one
	if r.d.Source() != l {
		t.Fatalf("after h and m stopped the follower sends %s", r.d.Source().ID())
	}
	r.run(60, 0, 1, 2) // all back
	if r.d.Source() != h {
		t.Fatalf("after h resumed the follower sends %s", r.d.Source().ID())
	}
	r.run(30) // nothing flows: it stays where it is
	if r.d.Target() != h {
		t.Fatalf("with nothing flowing the follower moved to %s", r.d.Target().ID())
	}
	_, switches, _, _ := r.d.Counters()
	if switches != 3 {
		t.Fatalf("%d switches, want 3 (h to m, m to l, l straight back to h)", switches)
	}
	hs := r.w.snapshot()
	if len(hs) < 200 {
		t.Fatalf("only %d packets written", len(hs))
	}
	for i, hd := range hs {
		if hd.SSRC != 0x1234 || hd.PayloadType != 96 {
			t.Fatalf("packet %d: SSRC %#x PT %d, want 0x1234 and 96", i, hd.SSRC, hd.PayloadType)
		}
		if i > 0 && (hd.SequenceNumber != hs[i-1].SequenceNumber+1 || int32(hd.Timestamp-hs[i-1].Timestamp) <= 0) {
			t.Fatalf("packet %d: seq %d ts %d after seq %d ts %d", i, hd.SequenceNumber, hd.Timestamp,
				hs[i-1].SequenceNumber, hs[i-1].Timestamp)
		}
	}
}

// TestFollowIgnoresPadding: a layer the publisher stopped encoding but still sends padding
// on (Chromium does, to probe bandwidth) counts as stopped.
func TestFollowIgnoresPadding(t *testing.T) {
	r := newLayerRig(t)
	r.run(60, 0, 1, 2)
	r.padding = map[int]bool{0: true}
	r.layers[0].Bitrate() // start measuring h's rate
	r.run(60, 0, 1, 2)
	if r.d.Source() != r.layers[1] {
		t.Fatalf("with only padding on h the follower sends %s, want m", r.d.Source().ID())
	}
	if r.layers[0].Bitrate() == 0 {
		t.Fatal("the padding did not count in h's rate: the test does not test what it says")
	}
}

// TestFollowCeiling: a follower of the middle layer never goes above it, even when only the
// largest layer flows.
func TestFollowCeiling(t *testing.T) {
	r := newLayerRig(t)
	m, l := r.layers[1], r.layers[2]
	r.run(60, 0, 1, 2) // learn sizes and rates
	for _, tc := range []struct {
		name    string
		sending []int
		want    *Track
	}{
		{"all flow", []int{0, 1, 2}, m},
		{"m stopped", []int{0, 2}, l},
		{"only h", []int{0}, nil},
	} {
		r.run(30, tc.sending...)
		if got := BestLayer(r.layers, m); got != tc.want {
			t.Fatalf("%s: BestLayer = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestFollowSenderReports: a follower translates its current source's Sender Reports to its
// own SSRC and timestamps, and drops the other layers' reports.
func TestFollowSenderReports(t *testing.T) {
	r := newLayerRig(t)
	h, m := r.layers[0], r.layers[1]
	r.run(30, 0, 1)
	sr := func(tr *Track, ssrc, rtpTime uint32) {
		b, err := (&rtcp.SenderReport{SSRC: ssrc, NTPTime: 0xE000000000000000, RTPTime: rtpTime, PacketCount: 7}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		r.d.WriteSenderReport(tr, b)
	}
	last := r.w.snapshot()
	lastOut := last[len(last)-1]
	sr(m, 2, r.ts[1]) // not the layer sent: dropped
	if len(r.reports) != 0 {
		t.Fatal("a report of a layer the follower does not send went out")
	}
	sr(h, 1, r.ts[0])
	if len(r.reports) != 1 {
		t.Fatalf("%d reports out, want 1", len(r.reports))
	}
	var out rtcp.SenderReport
	if err := out.Unmarshal(r.reports[0]); err != nil {
		t.Fatal(err)
	}
	if out.SSRC != 0x1234 || out.NTPTime != 0xE000000000000000 || out.RTPTime != lastOut.Timestamp {
		t.Fatalf("translated report %+v; want SSRC 0x1234, the same NTP time and RTP time %d", out, lastOut.Timestamp)
	}
	if int(out.PacketCount) != len(last) {
		t.Fatalf("report counts %d packets, %d were sent", out.PacketCount, len(last))
	}
	// A down-track bound to a PeerConnection leaves reports to pion.
	pc := NewDownTrack("v", "s", h)
	bindDown(pc, &recordWriter{})
	pc.Attach()
	r.frame(true, 0)
	b, _ := (&rtcp.SenderReport{SSRC: 1, RTPTime: r.ts[0]}).Marshal()
	pc.WriteSenderReport(h, b) // must neither panic nor write
}

// TestDownTrackReasksIgnoredKeyframe: a down-track waiting for a keyframe asks again while
// the publisher sends delta frames only (it ignored or lost the first request; the consumer
// downstream receives nothing, so nothing else would ask), throttled by the source, and stops
// asking once it started.
func TestDownTrackReasksIgnoredKeyframe(t *testing.T) {
	var kf atomic.Int32
	src := newVP8Track("t", &kf)
	clock := time.Now().UnixNano()
	src.now = func() int64 { return clock }
	d := NewDownTrack("v", "s", src)
	w := &recordWriter{}
	d.BindWriter(w, 1, 96, nil)
	d.Attach()
	asked := kf.Load()
	if asked == 0 {
		t.Fatal("a new down-track did not ask for a keyframe")
	}
	buf := make([]byte, 0, 1500)
	seq, ts := uint16(1), uint32(0)
	frame := func(key bool) {
		clock += 33e6
		seq++
		ts += 3000
		src.Forward(vp8Packet(buf, 7, seq, ts, key))
	}
	for range 90 { // 3 s of delta frames: the request is ignored
		frame(false)
	}
	// Asked again each time the previous request counts as unanswered.
	want := int32(3 * time.Second / keyframeAnswerTimeout)
	if n := kf.Load() - asked; n < want-2 || n > want+1 {
		t.Fatalf("%d more keyframe requests in 3 s of an ignored request; want about %d", n, want)
	}
	frame(true)
	before := kf.Load()
	for range 90 {
		frame(false)
	}
	if len(w.snapshot()) != 91 || kf.Load() != before {
		t.Fatalf("after the keyframe: %d packets sent, %d more requests", len(w.snapshot()), kf.Load()-before)
	}
}

// TestFollowAsksForHeldLayer: when the layer asked for stops, a follower moves to the next
// layer down even if the publisher paused that one for want of receivers (held): it becomes
// the follower's pending source, which is what makes the publisher resume it. The ceiling is
// marked wanted on every Follow.
func TestFollowAsksForHeldLayer(t *testing.T) {
	r := newLayerRig(t)
	h, m, l := r.layers[0], r.layers[1], r.layers[2]
	r.run(60, 0, 1, 2)
	if !h.WantedWithin(time.Second) || m.WantedWithin(time.Second) {
		t.Fatal("Follow does not mark (only) its ceiling wanted")
	}
	m.SetHeld(true)
	if held, rate := m.Held(); !held || rate <= 0 {
		t.Fatalf("held %v at %d bit/s: want held with the rate it had", held, rate)
	}
	r.run(60, 2) // h stops (the browser dropped it); m is paused by the server
	if r.d.Target() != m || m.Sinks() != 1 {
		t.Fatalf("follower targets %s (m sinks %d), want the held middle layer", r.d.Target().ID(), m.Sinks())
	}
	m.SetHeld(false) // the demand loop resumed it
	r.run(30, 1, 2)  // and the publisher sends it again
	if r.d.Source() != m {
		t.Fatalf("follower sends %s, want m once it flows", r.d.Source().ID())
	}
	_ = l
}

// TestHeldWhileResuming: a layer asked for again counts as held until it flows or
// resumeGrace passes, so a consumer that chose it keeps it as a choice meanwhile.
func TestHeldWhileResuming(t *testing.T) {
	r := newLayerRig(t)
	m := r.layers[1]
	r.run(60, 0, 1, 2)
	m.SetHeld(true)
	r.run(30, 0, 2) // m stops
	m.SetHeld(false)
	if held, _ := m.Held(); !held {
		t.Fatal("a layer asked for again is not held while it does not flow yet")
	}
	r.run(10, 0, 1, 2) // it flows again
	if held, _ := m.Held(); held {
		t.Fatal("a flowing layer counts as held")
	}
	m.SetHeld(true)
	r.run(30, 0, 2)
	m.SetHeld(false)
	r.clock += int64(resumeGrace)
	if held, _ := m.Held(); held {
		t.Fatal("a layer that never came back counts as held after the grace")
	}
}
