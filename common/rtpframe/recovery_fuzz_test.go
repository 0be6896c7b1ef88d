package rtpframe

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// FuzzDepacketizerRecovery plays a browser-like stream (VP8 with or without temporal layers,
// or H.264, with padding probes) through arbitrary damage — lost, reordered and duplicated
// packets, padding bursts, SSRC switches, pauses — then a clean stretch that starts with a
// keyframe. Invariants:
//   - a stuck wait always re-requests: after every packet, while the depacketizer waits for
//     a keyframe, its last request is less than RetryMax old;
//   - after a keyframe arrives, frames flow again: the clean stretch comes out whole;
//   - every emitted frame has data, and a keyframe is one.
func FuzzDepacketizerRecovery(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 0, 0, 5, 6, 0, 7, 0}, byte(0))
	f.Add([]byte{4, 4, 4, 0, 0, 0, 0x1D, 0x3D, 0, 0, 9, 0}, byte(1))
	f.Add([]byte{0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, byte(2))
	f.Add([]byte{8, 0, 0, 6, 0, 7, 7, 0, 4, 0, 0, 0x25}, byte(1))
	f.Fuzz(func(t *testing.T, ops []byte, mode byte) {
		if len(ops) > 400 {
			ops = ops[:400]
		}
		codec, mime := VP8, "video/VP8"
		if mode%3 == 2 {
			codec, mime = H264, "video/H264"
		}
		frames := clipOnce(t, mime)
		s := newSender(codec)
		s.layers = mode%3 == 1
		k := newCounting(codec, Options{})
		var last time.Time // last request, or the start of the wait
		var out collected
		now, prev := time.Unix(1000, 0), time.Unix(1000, 0)
		push := func(p *rtp.Packet) {
			*k.now = now
			n := len(k.requests)
			k.d.Push(p, now, out.emit)
			if len(k.requests) > n {
				last = now
			}
			if w := k.d.Waiting(now); w > 0 {
				if since := now.Add(-w); since.After(last) {
					last = since
				}
				if now.Sub(last) >= DefaultRetryMax+now.Sub(prev) {
					t.Fatalf("waiting %v, last request %v ago", w, now.Sub(last))
				}
			}
			prev = now
		}
		next := 1
		var pending []*rtp.Packet
		for _, op := range ops {
			if len(pending) == 0 {
				pending = s.frame(frames[next%len(frames)])
				next++
			}
			switch op & 7 {
			case 0, 1, 2: // send the rest of the frame
				for _, p := range pending {
					push(p)
				}
				pending = nil
				now = now.Add(frameStep)
			case 3: // lose the next packet
				pending = pending[1:]
			case 4: // padding burst
				for _, p := range s.padding(int(op>>3&3) + 1) {
					push(p)
				}
			case 5: // reorder
				if len(pending) > 1 {
					pending[0], pending[1] = pending[1], pending[0]
				}
			case 6: // duplicate
				push(pending[0])
			case 7: // pause, or a new SSRC (another layer, a restarted sender)
				if op&0x80 != 0 {
					s.ssrc++
					s.seq += uint16(op) << 7
				}
				now = now.Add(time.Duration(op>>3) * 50 * time.Millisecond)
			}
		}
		for _, p := range pending {
			push(p)
		}
		// The clean stretch: the next keyframe of the clip, then the frames after it.
		for !frames[next%len(frames)].Key {
			s.frame(frames[next%len(frames)]) // not sent: the source skips to its keyframe
			next++
		}
		now = now.Add(time.Second) // everything before has been given up by now
		before := len(out.frames)
		const clean = 12
		for range clean {
			for _, p := range s.frame(frames[next%len(frames)]) {
				push(p)
			}
			next++
			now = now.Add(frameStep)
		}
		k.d.Drain(out.emit)
		got := out.frames[before:]
		if len(got) < clean || !got[len(got)-clean].Key {
			t.Fatalf("clean stretch: %d frames emitted (want %d from a keyframe), stats %+v", len(got), clean, k.d.Stats())
		}
		for i, fr := range out.frames {
			if len(out.data[i]) == 0 || (fr.Key && !isKeyFrame(codec, out.data[i])) {
				t.Fatalf("frame %d: %d bytes, key %v", i, len(out.data[i]), fr.Key)
			}
		}
	})
}

// isKeyFrame checks an emitted frame's own keyframe marking.
func isKeyFrame(c Codec, data []byte) bool {
	switch c {
	case VP8:
		return data[0]&1 == 0
	case H264:
		return avccHasIDR(data)
	}
	return true
}

// avccHasIDR reports whether an AVCC access unit holds an IDR slice.
func avccHasIDR(avcc []byte) bool {
	idr := false
	forEachAVCC(avcc, func(nal []byte) bool {
		idr = idr || nal[0]&0x1F == nalIDR
		return !idr
	})
	return idr
}

var clipCache struct {
	sync.Mutex
	clips map[string][]clipFrame
}

// clipOnce reads a clip once per process (the fuzzer runs the body many times).
func clipOnce(t *testing.T, mime string) []clipFrame {
	clipCache.Lock()
	defer clipCache.Unlock()
	if c, ok := clipCache.clips[mime]; ok {
		return c
	}
	if clipCache.clips == nil {
		clipCache.clips = map[string][]clipFrame{}
	}
	c := clip(t, mime)
	clipCache.clips[mime] = c
	return c
}
