package rtpframe

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Tests of what real senders (browsers) do, beyond the clean streams of
// depacketizer_test.go: padding probes, temporal layers, lost frames, SSRC and resolution
// changes, retransmissions.

const frameStep = time.Second / 30

// counting is a depacketizer whose keyframe requests are recorded with their times.
type counting struct {
	d        *Depacketizer
	requests []time.Time
	stalls   []Stall
	now      *time.Time
}

func newCounting(c Codec, opt Options) *counting {
	k := &counting{now: new(time.Time)}
	opt.Keyframe = func() { k.requests = append(k.requests, *k.now) }
	opt.Stalled = func(s Stall) { k.stalls = append(k.stalls, s) }
	k.d = New(c, opt)
	return k
}

// play pushes a feed, keeping the clock for the request log.
func (k *counting) play(f *feed) *collected {
	var c collected
	for i, p := range f.pkts {
		*k.now = f.at[i]
		k.d.Push(p, f.at[i], c.emit)
	}
	k.d.Drain(c.emit)
	return &c
}

// forVideoCodecs runs fn for VP8 and H.264 with the codec's test clip.
func forVideoCodecs(t *testing.T, fn func(t *testing.T, codec Codec, frames []clipFrame)) {
	for _, tc := range []struct {
		codec Codec
		mime  string
	}{{VP8, "video/VP8"}, {H264, "video/H264"}} {
		t.Run(tc.codec.String(), func(t *testing.T) { fn(t, tc.codec, clip(t, tc.mime)) })
	}
}

func TestRTPFramePaddingProbes(t *testing.T) {
	forVideoCodecs(t, func(t *testing.T, codec Codec, frames []clipFrame) {
		s, f := newSender(codec), newFeed()
		pads := 0
		for i, fr := range frames {
			f.add(0, s.frame(fr)...)
			n := i % 4 // 0..3 probes after each frame, with the previous frame's timestamp
			f.add(frameStep, s.padding(n)...)
			pads += n
		}
		k := newCounting(codec, Options{})
		c := k.play(f)
		st := k.d.Stats()
		if len(c.frames) != len(frames) || len(k.requests) != 0 || st.Padding != uint64(pads) || st.Dropped != 0 {
			t.Fatalf("%d of %d frames, %d keyframe requests, stats %+v (want %d padding)", len(c.frames), len(frames), len(k.requests), st, pads)
		}
	})
}

func TestRTPFramePaddingInsideMediaPackets(t *testing.T) {
	frames := clip(t, "video/VP8")
	s, f := newSender(VP8), newFeed()
	for _, fr := range frames {
		pkts := s.frame(fr)
		for _, p := range pkts {
			p.Padding, p.PaddingSize = true, 17 // media followed by padding bytes
			f.add(0, wire(p))
		}
		f.now = f.now.Add(frameStep)
	}
	k := newCounting(VP8, Options{})
	c := k.play(f)
	for i, fr := range frames {
		if string(c.data[i]) != string(fr.Data) {
			t.Fatalf("frame %d differs from the clip (padding not removed?)", i)
		}
	}
	if len(c.frames) != len(frames) || len(k.requests) != 0 {
		t.Fatalf("%d of %d frames, %d requests", len(c.frames), len(frames), len(k.requests))
	}
}

// A lost padding packet is a sequence gap with no media in it: the codec's frame counters
// (VP8 picture ID, H.264 frame_num) show no frame is missing, so nothing is dropped.
func TestRTPFrameLostPaddingIsHarmless(t *testing.T) {
	forVideoCodecs(t, func(t *testing.T, codec Codec, frames []clipFrame) {
		s, f := newSender(codec), newFeed()
		for i, fr := range frames {
			f.add(0, s.frame(fr)...)
			probes := s.padding(2)
			if i%5 == 2 {
				probes = probes[1:] // one probe lost on the way
			}
			f.add(frameStep, probes...)
		}
		k := newCounting(codec, Options{})
		c := k.play(f)
		st := k.d.Stats()
		if len(c.frames) != len(frames) || len(k.requests) != 0 || st.Gaps == 0 {
			t.Fatalf("%d of %d frames, %d requests, stats %+v", len(c.frames), len(frames), len(k.requests), st)
		}
	})
}

// A lost reference frame stops the frames until a keyframe; while the source does not send
// one, requests repeat with back-off (250 ms, 500 ms, 1 s, 2 s, 2 s …), a stall is reported
// after 3 s and its end when the keyframe comes.
func TestRTPFrameKeyframeRetriesWithBackoff(t *testing.T) {
	forVideoCodecs(t, func(t *testing.T, codec Codec, frames []clipFrame) {
		key, deltas := frames[0], frames[1:30]
		s, f := newSender(codec), newFeed()
		f.add(frameStep, s.frame(key)...)
		lostAt := time.Time{}
		const total = 6 * 30 // 6 s of delta frames: the source ignores requests
		for i := range total {
			pkts := s.frame(deltas[i%len(deltas)])
			if i == 10 {
				lostAt = f.now
				continue // the whole frame is lost
			}
			f.add(frameStep, pkts...)
		}
		keyAt := f.now
		f.add(frameStep, s.frame(frames[30])...)
		for i := range 5 {
			f.add(frameStep, s.frame(frames[31+i])...)
		}
		k := newCounting(codec, Options{})
		c := k.play(f)
		// 11 frames before the loss (keyframe + 10), then the keyframe and the 5 after it.
		if len(c.frames) != 11+6 || !c.frames[11].Key {
			t.Fatalf("%d frames (want 17), stats %+v", len(c.frames), k.d.Stats())
		}
		// The loss shows once the reorder buffer gives up on the missing packets
		// (MaxDelay); requests follow at +0.25, +0.75, +1.75, +3.75 s … (at the next
		// packet's arrival) until the keyframe.
		if len(k.requests) == 0 {
			t.Fatal("no keyframe request")
		}
		first := k.requests[0]
		if d := first.Sub(lostAt); d < DefaultMaxDelay || d > DefaultMaxDelay+2*frameStep {
			t.Fatalf("first request %v after the loss", d)
		}
		// Each request waits at least its back-off step after the previous one, and at
		// most one frame interval more (requests go out when a packet arrives).
		step := DefaultRetryMin
		for i := 1; i < len(k.requests); i++ {
			if d := k.requests[i].Sub(k.requests[i-1]); d < step || d > step+frameStep {
				t.Fatalf("requests at %v: step %d took %v, want %v", offsets(k.requests, first), i, d, step)
			}
			step = min(2*step, DefaultRetryMax)
		}
		if last := k.requests[len(k.requests)-1]; keyAt.Sub(last) > step+frameStep {
			t.Fatalf("requests at %v stopped before the keyframe at +%v", offsets(k.requests, first), keyAt.Sub(first))
		}
		if len(k.stalls) < 2 || k.stalls[0].Recovered || k.stalls[0].Waited < DefaultStallAfter ||
			!k.stalls[len(k.stalls)-1].Recovered || k.stalls[len(k.stalls)-1].Dropped == 0 {
			t.Fatalf("stall reports %+v", k.stalls)
		}
		st := k.d.Stats()
		if st.LongestWait < keyAt.Sub(first)-frameStep || st.KeyWaits != 2 || k.d.Waiting(f.now) != 0 {
			t.Fatalf("stats %+v, waiting %v", st, k.d.Waiting(f.now))
		}
	})
}

func offsets(ts []time.Time, from time.Time) []time.Duration {
	var out []time.Duration
	for _, t := range ts {
		out = append(out, t.Sub(from))
	}
	return out
}

// With temporal layers, a lost frame of an upper layer costs only that layer's frames until
// it is synchronised again; a lost base-layer frame needs a keyframe.
func TestRTPFrameTemporalLayers(t *testing.T) {
	frames := clip(t, "video/VP8")
	tests := []struct {
		name    string
		lose    int  // frame index (since the keyframe: layers 0,2,1,2,0,2,1,2,…)
		whole   bool // all its packets lost, else only the last
		emitted int  // frames emitted of 0..29
		waits   bool // a keyframe is requested
	}{
		{"nothing lost", -1, false, 30, false},
		// The descriptor of an incomplete frame says nothing refers to it (N bit).
		{"top layer frame incomplete", 9, false, 29, false},
		// A frame lost whole is of unknown layer: the next frame (layer 1, same TL0PICIDX)
		// waits for the next base-layer frame (12); layers 1 and 2 then wait for a
		// layer-sync frame (none before the keyframe at 30): frames 12, 16, 20, 24, 28.
		{"top layer frame lost", 9, true, 9 + 5, false},
		// A lost layer-1 frame: layer 0 flows (16, 20, 24, 28), layers 1 and 2 wait for
		// a sync frame.
		{"middle layer frame incomplete", 14, false, 14 + 4, false},
		{"base layer frame lost", 12, true, 12, true},
		{"base layer frame incomplete", 12, false, 12, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, f := newSender(VP8), newFeed()
			s.layers = true
			for i, fr := range frames[:30] {
				pkts := s.frame(fr)
				if i == tc.lose && tc.whole {
					pkts = pkts[:0]
				} else if i == tc.lose {
					if len(pkts) < 2 {
						t.Fatalf("frame %d has %d packets", i, len(pkts))
					}
					pkts = pkts[:len(pkts)-1]
				}
				f.add(frameStep, pkts...)
			}
			keyAt := len(f.pkts)
			f.add(frameStep, s.frame(frames[30])...)
			k := newCounting(VP8, Options{})
			c := k.play(f)
			if got := len(c.frames) - 1; got != tc.emitted || (len(k.requests) > 0) != tc.waits || !c.frames[len(c.frames)-1].Key {
				t.Fatalf("%d frames before the keyframe (want %d), %d requests (want any: %v), stats %+v (keyframe at packet %d)",
					got, tc.emitted, len(k.requests), tc.waits, k.d.Stats(), keyAt)
			}
		})
	}
}

// A frame whose first packets were lost is incomplete; the next complete frame decides
// whether anything it refers to is missing.
func TestRTPFrameLostFrameStart(t *testing.T) {
	frames := clip(t, "video/VP8")
	s, f := newSender(VP8), newFeed()
	for i, fr := range frames[:30] {
		pkts := s.frame(fr)
		if i == 5 && len(pkts) > 1 {
			pkts = pkts[1:]
		} else if i == 5 {
			t.Fatal("frame 5 of the clip has one packet")
		}
		f.add(frameStep, pkts...)
	}
	k := newCounting(VP8, Options{})
	c := k.play(f)
	if len(c.frames) != 5 || len(k.requests) == 0 || k.d.Stats().Dropped != 25 {
		t.Fatalf("%d frames, %d requests, stats %+v", len(c.frames), len(k.requests), k.d.Stats())
	}
}

// A new SSRC (another simulcast layer, a restarted sender) starts a new timeline at its
// first keyframe; its delta frames before that are dropped and a keyframe requested.
func TestRTPFrameSSRCChange(t *testing.T) {
	frames := clip(t, "video/VP8")
	a, b, f := newSender(VP8), newSender(VP8), newFeed()
	b.ssrc, b.seq, b.ts, b.pid = 0x9999, 100, 12345, 7
	for _, fr := range frames[:20] {
		f.add(frameStep, a.frame(fr)...)
	}
	for _, fr := range frames[20:40] { // the new source starts with delta frames 20..29
		f.add(frameStep, b.frame(fr)...)
	}
	k := newCounting(VP8, Options{})
	c := k.play(f)
	if len(c.frames) != 30 || len(k.requests) == 0 || k.d.Stats().SourceChanges != 1 {
		t.Fatalf("%d frames, %d requests, stats %+v", len(c.frames), len(k.requests), k.d.Stats())
	}
	for i, fr := range c.frames {
		if fr.Discontinuity != (i == 20) {
			t.Fatalf("frame %d: discontinuity %v", i, fr.Discontinuity)
		}
	}
	if !c.frames[20].Key || c.frames[20].Timestamp != int64(12345+10*uint32(frameStep*90000/time.Second)) {
		t.Fatalf("first frame of the new source: key %v, timestamp %d", c.frames[20].Key, c.frames[20].Timestamp)
	}
}

// Chromium starts small and raises the resolution as its encoder ramps up, each step at a
// keyframe; every keyframe reports its size.
func TestRTPFrameResolutionChange(t *testing.T) {
	frames := clip(t, "video/VP8")
	sizes := [][2]int{{320, 240}, {480, 360}, {640, 480}}
	s, f := newSender(VP8), newFeed()
	for i, fr := range frames {
		if fr.Key {
			sz := sizes[i/30]
			data := append([]byte(nil), fr.Data...)
			data[6], data[7], data[8], data[9] = byte(sz[0]), byte(sz[0]>>8), byte(sz[1]), byte(sz[1]>>8)
			fr.Data = data
		}
		f.add(frameStep, s.frame(fr)...)
	}
	k := newCounting(VP8, Options{})
	c := k.play(f)
	var got [][2]int
	for _, fr := range c.frames {
		if fr.Key {
			got = append(got, [2]int{fr.Width, fr.Height})
		}
	}
	if len(c.frames) != len(frames) || len(got) != 3 || got[0] != sizes[0] || got[1] != sizes[1] || got[2] != sizes[2] {
		t.Fatalf("%d frames, keyframe sizes %v", len(c.frames), got)
	}
}

// Senders that do not set the marker bit still have frames: one ends when the next begins.
func TestRTPFrameWithoutMarker(t *testing.T) {
	frames := clip(t, "video/VP8")
	s, f := newSender(VP8), newFeed()
	for _, fr := range frames {
		pkts := s.frame(fr)
		pkts[len(pkts)-1].Marker = false
		f.add(frameStep, pkts...)
	}
	k := newCounting(VP8, Options{})
	c := k.play(f)
	// The last frame has no successor: it stays in progress.
	if len(c.frames) != len(frames)-1 || len(k.requests) != 0 {
		t.Fatalf("%d of %d frames, %d requests", len(c.frames), len(frames), len(k.requests))
	}
}

// Retransmissions: a packet repaired within MaxDelay (the same packet again, or an RFC 4588
// RTX packet) fills its gap; RTX padding is skipped.
func TestRTPFrameRepairedLoss(t *testing.T) {
	for _, rtx := range []bool{false, true} {
		name := map[bool]string{false: "nack", true: "rtx"}[rtx]
		t.Run(name, func(t *testing.T) {
			frames := clip(t, "video/VP8")
			s, f := newSender(VP8), newFeed()
			var held *rtp.Packet
			rtxSeq := uint16(500)
			for i, fr := range frames {
				pkts := s.frame(fr)
				if i == 12 {
					held, pkts = pkts[0], pkts[1:] // lost, NACKed, resent 3 frames later
				}
				if i == 15 {
					resent := held
					if rtx {
						payload := append([]byte{byte(held.SequenceNumber >> 8), byte(held.SequenceNumber)}, held.Payload...)
						resent = wire(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 97, SequenceNumber: rtxSeq,
							Timestamp: held.Timestamp, SSRC: 0x5555}, Payload: payload})
						pad := wire(&rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PaddingSize: 200,
							PayloadType: 97, SequenceNumber: rtxSeq + 1, Timestamp: held.Timestamp, SSRC: 0x5555}})
						pkts = append(pkts, pad)
					}
					pkts = append(pkts, resent)
				}
				f.add(frameStep, pkts...)
			}
			k := newCounting(VP8, Options{RTXPayloadType: 97})
			c := k.play(f)
			if len(c.frames) != len(frames) || len(k.requests) != 0 || k.d.Stats().Gaps != 0 {
				t.Fatalf("%d of %d frames, %d requests, stats %+v", len(c.frames), len(frames), len(k.requests), k.d.Stats())
			}
		})
	}
}

// A sender whose RTP clock jumps (restarted without a new SSRC) starts a new timeline.
func TestRTPFrameTimestampJump(t *testing.T) {
	frames := clip(t, "audio/opus")[:40]
	s, f := newSender(Opus), newFeed()
	for i, fr := range frames {
		if i == 20 {
			s.ts += 48000 * 60 // one minute ahead in 20 ms
		}
		f.add(20*time.Millisecond, s.frame(fr)...)
	}
	k := newCounting(Opus, Options{})
	c := k.play(f)
	for i, fr := range c.frames {
		if fr.Discontinuity != (i == 20) {
			t.Fatalf("frame %d: discontinuity %v", i, fr.Discontinuity)
		}
	}
	if len(c.frames) != 40 {
		t.Fatalf("%d frames", len(c.frames))
	}
}

// A decoder that failed asks for a resync: frames stop until the next keyframe.
func TestRTPFrameResync(t *testing.T) {
	frames := clip(t, "video/VP8")
	s, f := newSender(VP8), newFeed()
	for _, fr := range frames[:31] {
		f.add(frameStep, s.frame(fr)...)
	}
	k := newCounting(VP8, Options{})
	var c collected
	for i, p := range f.pkts {
		*k.now = f.at[i]
		k.d.Push(p, f.at[i], func(fr Frame) {
			c.emit(fr)
			if len(c.frames) == 10 {
				k.d.Resync(f.at[i])
			}
		})
	}
	// Requests at the resync and 250 ms later (frames 11..29 take 633 ms).
	if len(c.frames) != 11 || !c.frames[10].Key || len(k.requests) != 2 {
		t.Fatalf("%d frames, %d requests", len(c.frames), len(k.requests))
	}
}
