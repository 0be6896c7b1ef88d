package sfu

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestSFUParseRTP(t *testing.T) {
	var p Packet
	b := vp8Packet(nil, 7, 100, 9000, true)
	if !ParseRTP(b, &p) {
		t.Fatal("ParseRTP failed on a valid packet")
	}
	var ref rtp.Packet
	if err := ref.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if p.Seq != ref.SequenceNumber || p.Timestamp != ref.Timestamp || p.SSRC != ref.SSRC ||
		p.PayloadType != ref.PayloadType || len(p.Payload) != len(ref.Payload) {
		t.Fatalf("ParseRTP = %+v, pion = %+v", p, ref.Header)
	}
	for _, bad := range [][]byte{nil, {0x80}, make([]byte, 12), {0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if ParseRTP(bad, &p) {
			t.Fatalf("ParseRTP accepted %x", bad)
		}
	}
}

// TestSFURewriterLayerSwitch drives a down-track through start, a simulcast switch and a
// mute/unmute, checking keyframe gating and continuous numbering.
func TestSFURewriterLayerSwitch(t *testing.T) {
	var kfHigh, kfLow atomic.Int32
	high, low := newVP8Track("t-0:h", &kfHigh), newVP8Track("t-0:l", &kfLow)
	d := NewDownTrack("v", "s", high)
	clock := int64(0)
	high.now = func() int64 { return clock }
	low.now = high.now
	w := &recordWriter{}
	bindDown(d, w)
	d.Attach()
	buf := make([]byte, 0, 1500)
	send := func(tr *Track, ssrc uint32, seq uint16, ts uint32, key bool) {
		clock += 33e6
		tr.Forward(vp8Packet(buf, ssrc, seq, ts, key))
	}
	send(high, 1, 500, 1000, false) // no keyframe yet: dropped
	if len(w.snapshot()) != 0 {
		t.Fatal("forwarded before the first keyframe")
	}
	send(high, 1, 501, 4000, true)
	send(high, 1, 502, 7000, false)
	if err := d.Switch(low); err != nil {
		t.Fatal(err)
	}
	if kfLow.Load() == 0 {
		t.Fatal("switch did not request a keyframe from the new layer")
	}
	send(low, 2, 9000, 50000, false) // new layer, not a keyframe: still on high
	send(high, 1, 503, 10000, false)
	send(low, 2, 9001, 53000, true)  // switch happens here
	send(high, 1, 504, 13000, false) // old layer no longer forwarded
	send(low, 2, 9002, 56000, false)
	if low.Sinks() != 1 || high.Sinks() != 0 {
		t.Fatalf("sinks after switch: low %d high %d", low.Sinks(), high.Sinks())
	}
	d.SetActive(false)
	send(low, 2, 9003, 59000, false)
	d.SetActive(true)
	send(low, 2, 9004, 62000, false) // waits for a keyframe after unmute
	send(low, 2, 9005, 65000, true)
	hs := w.snapshot()
	wantN := 6 // 501, 502, 503, 9001, 9002, 9005
	if len(hs) != wantN {
		t.Fatalf("forwarded %d packets, want %d", len(hs), wantN)
	}
	for i, h := range hs {
		if h.PayloadType != 120 || h.SSRC != 0xABCD || h.Extension {
			t.Fatalf("packet %d header %+v: want PT 120, SSRC 0xABCD, no extensions", i, h)
		}
		if i > 0 {
			if h.SequenceNumber != hs[i-1].SequenceNumber+1 {
				t.Fatalf("packet %d seq %d after %d: not continuous", i, h.SequenceNumber, hs[i-1].SequenceNumber)
			}
			if int32(h.Timestamp-hs[i-1].Timestamp) <= 0 {
				t.Fatalf("packet %d timestamp %d not after %d", i, h.Timestamp, hs[i-1].Timestamp)
			}
		}
	}
}

func TestSFURewriterReorderAndWrap(t *testing.T) {
	src := newVP8Track("t", nil)
	r := rewriter{clockRate: 90000, src: src}
	pkt := func(seq uint16, key bool) *Packet {
		return &Packet{Seq: seq, Timestamp: uint32(seq) * 10, Keyframe: key}
	}
	if _, _, ok := r.rewrite(src, pkt(65534, true), 0); !ok {
		t.Fatal("keyframe rejected")
	}
	for _, tc := range []struct {
		seq  uint16
		ok   bool
		want uint16
	}{{65535, true, 65535}, {1, true, 1}, {0, true, 0}, {65533, false, 0}} {
		seq, _, ok := r.rewrite(src, pkt(tc.seq, false), 0)
		if ok != tc.ok || (ok && seq != tc.want) {
			t.Fatalf("rewrite(%d) = %d %v, want %d %v", tc.seq, seq, ok, tc.want, tc.ok)
		}
	}
}

func TestSFUTrackMuteAndKeyframeThrottle(t *testing.T) {
	var kf atomic.Int32
	tr := newVP8Track("t", &kf)
	// The track's clock is the test's: how late a goroutine runs on a busy machine must not
	// decide whether a request falls within the throttle interval.
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	tr.now = clock.Load
	d := NewDownTrack("v", "s", tr)
	w := &recordWriter{}
	bindDown(d, w)
	d.Attach()
	if n := kf.Load(); n != 1 {
		t.Fatalf("attach+bind sent %d keyframe requests, want 1 (the second waits for the first's answer)", n)
	}
	buf := make([]byte, 0, 1500)
	tr.Forward(vp8Packet(buf, 1, 1, 0, true))
	tr.SetActive(false)
	tr.Forward(vp8Packet(buf, 1, 2, 3000, false))
	tr.SetActive(true)
	if n := kf.Load(); n != 2 {
		t.Fatalf("unmute did not request a keyframe (%d)", n)
	}
	tr.Forward(vp8Packet(buf, 1, 3, 6000, false)) // waits for keyframe
	tr.Forward(vp8Packet(buf, 1, 4, 9000, true))
	hs := w.snapshot()
	if len(hs) != 2 || hs[1].SequenceNumber != hs[0].SequenceNumber+1 {
		t.Fatalf("after mute/unmute got %d packets %+v", len(hs), hs)
	}
	d.Detach()
	if tr.Sinks() != 0 {
		t.Fatal("detach left a sink")
	}
	// Packet 4 answered the unmute request. A request within the throttle interval is
	// deferred to the end of the interval, not dropped.
	tr.RequestKeyframe()
	if n := kf.Load(); n != 2 {
		t.Fatalf("a request within the throttle interval was sent at once (%d requests)", n)
	}
	if !tr.kfPending.Load() {
		t.Fatal("a request within the throttle interval was dropped, not deferred")
	}
	clock.Add(int64(DefaultKeyframeInterval))   // the interval ends; the deferred request goes out
	deadline := time.Now().Add(5 * time.Second) // only stops a hung test
	for kf.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := kf.Load(); n != 3 {
		t.Fatalf("throttled keyframe request never sent (%d requests)", n)
	}
	// While that request is unanswered (within keyframeAnswerTimeout), more requests send
	// nothing and defer nothing: its keyframe serves them.
	for range 2 {
		clock.Add(int64(DefaultKeyframeInterval + 20*time.Millisecond))
		tr.RequestKeyframe()
		if n, pending := kf.Load(), tr.kfPending.Load(); n != 3 || pending {
			t.Fatalf("a request while one is unanswered was sent or deferred (%d requests, pending %v)", n, pending)
		}
	}
}

// TestSFUHeldDownTrack: a down-track held until its transport connects sends nothing and asks
// for no keyframe; released, it asks for one and starts at it.
func TestSFUHeldDownTrack(t *testing.T) {
	var kf atomic.Int32
	tr := newVP8Track("t", &kf)
	d := NewDownTrack("v", "s", tr)
	w := &recordWriter{}
	d.Hold()
	bindDown(d, w)
	d.Attach()
	buf := make([]byte, 0, 1500)
	tr.Forward(vp8Packet(buf, 1, 1, 0, true))
	if n, sent := kf.Load(), len(w.snapshot()); n != 0 || sent != 0 {
		t.Fatalf("held down-track: %d keyframe requests, %d packets sent; want none", n, sent)
	}
	d.Release()
	if n := kf.Load(); n != 1 {
		t.Fatalf("release sent %d keyframe requests, want 1", n)
	}
	tr.Forward(vp8Packet(buf, 1, 2, 3000, false)) // not a keyframe: waits
	tr.Forward(vp8Packet(buf, 1, 3, 6000, true))
	if hs := w.snapshot(); len(hs) != 1 {
		t.Fatalf("after release sent %d packets, want only the keyframe", len(hs))
	}
}

// FuzzRTPRewrite feeds arbitrary packets through parsing, keyframe detection and a
// down-track: nothing may panic and forwarded sequence numbers never repeat backwards
// across a sync.
func FuzzRTPRewrite(f *testing.F) {
	f.Add(vp8Packet(nil, 1, 1, 1, true), uint8(0))
	f.Add([]byte{0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x7C, 0x85}, uint8(1))
	f.Add([]byte{0xBF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, _ uint8) {
		var p Packet
		if ParseRTP(b, &p) {
			if len(p.Payload) > len(b) {
				t.Fatal("payload longer than packet")
			}
		}
		src := newVP8Track("t", nil)
		d := NewDownTrack("v", "s", src)
		w := &recordWriter{}
		bindDown(d, w)
		d.Attach()
		src.Forward(b)
		src.Forward(b)
		if hs := w.snapshot(); len(hs) == 2 && hs[0].SequenceNumber != hs[1].SequenceNumber {
			t.Fatalf("duplicate input mapped to different sequence numbers")
		}
	})
}

// TestSFUTrackLearnsPictureSize: the size of each keyframe is read from its first packet,
// with or without subscribers, and a change is signalled once (coalesced).
func TestSFUTrackLearnsPictureSize(t *testing.T) {
	tr := newVP8Track("t", nil)
	key := func(seq uint16, w, h int) []byte {
		p := vp8Packet(nil, 1, seq, uint32(seq)*3000, true)
		// VP8 keyframe header after the 1-byte descriptor at 20: tag, start code, sizes (RFC 6386 §9.1).
		copy(p[21:], []byte{0x00, 0x00, 0x00, 0x9D, 0x01, 0x2A, byte(w), byte(w >> 8), byte(h), byte(h >> 8)})
		return p
	}
	if w, h := tr.Size(); w != 0 || h != 0 {
		t.Fatalf("size before any keyframe %dx%d", w, h)
	}
	tr.Forward(key(1, 320, 240))
	tr.Forward(vp8Packet(nil, 1, 2, 6000, false))
	tr.Forward(key(3, 320, 240))
	select {
	case <-tr.SizeChanged():
	default:
		t.Fatal("no size signal")
	}
	if w, h := tr.Size(); w != 320 || h != 240 {
		t.Fatalf("size %dx%d", w, h)
	}
	select {
	case <-tr.SizeChanged():
		t.Fatal("the same size signalled twice")
	default:
	}
	tr.Forward(key(4, 640, 480))
	tr.Forward(key(5, 1280, 720))
	<-tr.SizeChanged()
	if w, h := tr.Size(); w != 1280 || h != 720 {
		t.Fatalf("size %dx%d", w, h)
	}
	tr.Close()
	<-tr.Done()
}
