package media

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// vp8Sender makes a synthetic VP8 stream as a simulcast-forwarding SFU sends it: 15-bit
// picture IDs, one SSRC, one or more packets per frame, a marker on each frame's last one.
type vp8Sender struct {
	ssrc uint32
	seq  uint16
	pid  uint16
	ts   uint32
}

// frame returns the packets of the next frame (a keyframe of size when key), split in n.
func (s *vp8Sender) frame(key bool, size Size, n int) []*rtp.Packet {
	tag := []byte{0x11, 0x00, 0x00, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00} // inter frame, shown
	if key {
		tag = []byte{0x10, 0x00, 0x00, 0x9D, 0x01, 0x2A,
			byte(size.Width), byte(size.Width >> 8), byte(size.Height), byte(size.Height >> 8)}
	}
	var out []*rtp.Packet
	for i := range n {
		desc := []byte{0x80, 0x80, 0x80 | byte(s.pid>>8), byte(s.pid)} // X, I, 15-bit picture ID
		if i == 0 {
			desc[0] |= 0x10 // S: start of partition 0
		}
		body := append(slices.Clone(tag), make([]byte, 100)...)
		if i > 0 {
			body = make([]byte, 110)
		}
		out = append(out, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: s.ssrc,
			SequenceNumber: s.seq, Timestamp: s.ts, Marker: i == n-1}, Payload: append(desc, body...)})
		s.seq++
	}
	s.pid = (s.pid + 1) & 0x7FFF
	s.ts += 3000
	return out
}

// padding returns a padding-only packet (a bandwidth probe) in the media's sequence space.
func (s *vp8Sender) padding() *rtp.Packet {
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: s.ssrc, SequenceNumber: s.seq,
		Timestamp: s.ts, Padding: true, PaddingSize: 200}}
	s.seq++
	return p
}

var (
	size320 = Size{320, 240}
	size640 = Size{640, 480}
)

func newTestTimeline(t *testing.T) *Timeline {
	t.Helper()
	tl, err := NewTimeline(webrtc.MimeTypeVP8)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// stream pushes frames at 30 fps from at, a keyframe of size first, and returns the time
// after the last one.
func stream(tl *Timeline, s *vp8Sender, at time.Time, frames int, size Size) time.Time {
	for i := range frames {
		for _, p := range s.frame(i == 0, size, 2) {
			tl.Push(p, at)
		}
		at = at.Add(time.Second / 30)
	}
	return at
}

func near(got, want, tolerance float64) bool { return math.Abs(got-want) <= tolerance }

// TestTimelineLayers checks frames, rate, the keyframe sizes and the size changes of a stream
// that moves from one layer to a larger one.
func TestTimelineLayers(t *testing.T) {
	tl := newTestTimeline(t)
	s := &vp8Sender{ssrc: 1, seq: 65500} // wraps during the test: no loss may appear
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	t1 := stream(tl, s, t0, 60, size320)
	t2 := stream(tl, s, t1, 60, size640)
	sum := tl.Summary(t0, t2)
	if sum.Frames != 120 || !near(sum.FPS, 30, 0.1) {
		t.Errorf("frames %d, %.2f fps; want 120 at 30 fps", sum.Frames, sum.FPS)
	}
	if sum.Expected != 240 || sum.Lost != 0 || sum.Freezes != 0 {
		t.Errorf("expected %d lost %d freezes %d; want 240, 0, 0", sum.Expected, sum.Lost, sum.Freezes)
	}
	// Each packet: 12 bytes of header, 4 of descriptor, 110 of frame: 120 frames of two in 4 s.
	if want := float64(240*126*8) / 1000 / 4; !near(sum.Kbps, want, 0.01) {
		t.Errorf("%.2f kbit/s, want %.2f", sum.Kbps, want)
	}
	if want := []Size{size320, size640}; !slices.Equal(sum.Sizes, want) {
		t.Errorf("sizes %v, want %v", sum.Sizes, want)
	}
	rec := tl.Recording()
	if ch := rec.Changes(t0.Add(time.Second), t2); len(ch) != 1 || ch[0].Size != size640 || !ch[0].At.Equal(t1) {
		t.Errorf("changes after 1 s: %+v, want 640x480 at %v", ch, t1)
	}
	if got := tl.Summary(t1, t2).Sizes; !slices.Equal(got, []Size{size640}) {
		t.Errorf("sizes of the second half %v, want only 640x480", got)
	}
	if s, ok := rec.SizeAt(t0.Add(-time.Second)); ok {
		t.Errorf("a size (%v) before the first keyframe", s)
	}
}

// TestTimelineLoss checks that lost packets count, late ones make up for their gap, and
// duplicates and padding probes count as nothing more than one received packet each.
func TestTimelineLoss(t *testing.T) {
	tl := newTestTimeline(t)
	s := &vp8Sender{ssrc: 7}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var late *rtp.Packet
	at := t0
	for i := range 100 {
		pkts := s.frame(i == 0, size320, 1)
		switch i {
		case 10, 11, 12: // lost
		case 20: // arrives 5 frames late
			late = pkts[0]
		default:
			tl.Push(pkts[0], at)
		}
		if i == 25 {
			tl.Push(late, at)
			tl.Push(late, at) // and once more: a retransmission of a packet already there
		}
		if i%10 == 5 {
			tl.Push(s.padding(), at)
		}
		at = at.Add(time.Second / 30)
	}
	sum := tl.Summary(t0, at)
	if sum.Expected != 110 || sum.Lost != 3 || !near(sum.LossPercent, 300.0/110, 0.01) {
		t.Errorf("expected %d lost %d (%.2f %%); want 110 and 3", sum.Expected, sum.Lost, sum.LossPercent)
	}
	// The loss breaks the reference chain: nothing is decodable after it without a keyframe.
	if sum.Frames != 10 {
		t.Errorf("%d decodable frames, want the 10 before the loss", sum.Frames)
	}
}

// TestTimelineFreezes checks finished freezes, one going on at the end of a window, and the
// share of a freeze inside a window that cuts it.
func TestTimelineFreezes(t *testing.T) {
	tl := newTestTimeline(t)
	s := &vp8Sender{ssrc: 3}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	t1 := stream(tl, s, t0, 30, size320) // last frame at t1 - 33 ms
	last := t1.Add(-time.Second / 30)
	resume := last.Add(800 * time.Millisecond)
	for i := range 30 { // the same stream continues after a pause: no keyframe needed
		for _, p := range s.frame(false, size320, 1) {
			tl.Push(p, resume.Add(time.Duration(i)*time.Second/30))
		}
	}
	end := resume.Add(time.Second) // the last frame came 33 ms before
	open := end.Add(2 * time.Second).Sub(resume.Add(29 * time.Second / 30))
	tests := []struct {
		name          string
		from, to      time.Time
		freezes       int
		total, longer time.Duration
	}{
		{"whole", t0, end, 1, 800 * time.Millisecond, 800 * time.Millisecond},
		{"cut", last.Add(300 * time.Millisecond), end, 1, 500 * time.Millisecond, 800 * time.Millisecond},
		{"before", t0, last, 0, 0, 0},
		{"going on", resume, end.Add(2 * time.Second), 1, open, open},
		{"short pause at the end is none", resume, end.Add(400 * time.Millisecond), 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := tl.Summary(tt.from, tt.to)
			if sum.Freezes != tt.freezes || sum.FreezeTotal != tt.total || sum.LongestFreeze != tt.longer {
				t.Errorf("%d freezes, %v in the window, longest %v; want %d, %v, %v",
					sum.Freezes, sum.FreezeTotal, sum.LongestFreeze, tt.freezes, tt.total, tt.longer)
			}
		})
	}
}

// TestTimelineSSRCChange checks that a new SSRC with other sequence numbers is no loss and
// that its keyframe's size is recorded.
func TestTimelineSSRCChange(t *testing.T) {
	tl := newTestTimeline(t)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	t1 := stream(tl, &vp8Sender{ssrc: 1, seq: 100}, t0, 30, size640)
	t2 := stream(tl, &vp8Sender{ssrc: 2, seq: 40000}, t1, 30, size320)
	sum := tl.Summary(t0, t2)
	if sum.Lost != 0 || sum.Frames != 60 || !slices.Equal(sum.Sizes, []Size{size640, size320}) {
		t.Errorf("lost %d, frames %d, sizes %v; want 0, 60, [640x480 320x240]", sum.Lost, sum.Frames, sum.Sizes)
	}
}

// TestTimelineRecordingJSON checks that a recording summarises the same after a trip through
// JSON, as the lab's subscriber processes send theirs.
func TestTimelineRecordingJSON(t *testing.T) {
	tl := newTestTimeline(t)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	end := stream(tl, &vp8Sender{ssrc: 1}, t0, 45, size640)
	raw, err := json.Marshal(tl.Recording())
	if err != nil {
		t.Fatal(err)
	}
	var back Recording
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	from := t0.Add(500 * time.Millisecond)
	want, got := tl.Summary(from, end.Add(time.Second)), back.Summary(from, end.Add(time.Second))
	if got.Frames != want.Frames || got.Bytes != want.Bytes || got.FreezeTotal != want.FreezeTotal ||
		!slices.Equal(got.Sizes, want.Sizes) || got.Frames == 0 || got.Freezes != 1 {
		t.Errorf("after JSON %+v, before %+v", got, want)
	}
}

// TestTimelineUnsupported checks that only video codecs the frame assembler knows are taken.
func TestTimelineUnsupported(t *testing.T) {
	for _, mime := range []string{webrtc.MimeTypeOpus, "video/AV1"} {
		if _, err := NewTimeline(mime); !errors.Is(err, ErrUnsupportedCodec) {
			t.Errorf("NewTimeline(%s) = %v, want ErrUnsupportedCodec", mime, err)
		}
	}
}

// TestTimelinePushAllocs checks that a steady stream costs no allocation per packet.
func TestTimelinePushAllocs(t *testing.T) {
	tl := newTestTimeline(t)
	s := &vp8Sender{ssrc: 1}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at = stream(tl, s, at, 300, size640) // 600 packets: every slot of the reorder buffer has its buffer
	var pkts []*rtp.Packet
	for range 200 {
		pkts = append(pkts, s.frame(false, size640, 1)...)
	}
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		tl.Push(pkts[i], at)
		i++
		at = at.Add(time.Microsecond) // stays in one bucket
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet, want 0", allocs)
	}
}

// TestTimelineEmpty checks that a timeline that received nothing summarises to nothing.
func TestTimelineEmpty(t *testing.T) {
	tl := newTestTimeline(t)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if sum := tl.Summary(now.Add(-time.Second), now); sum.Frames != 0 || sum.Expected != 0 || sum.Freezes != 0 || len(sum.Sizes) != 0 {
		t.Errorf("summary of nothing: %+v", sum)
	}
	if _, ok := tl.Recording().FrameAfter(now); ok {
		t.Error("a frame in an empty recording")
	}
}

// TestTimelinePause checks that a size is not reported for a window in which no frame came,
// and when frames flow again.
func TestTimelinePause(t *testing.T) {
	tl := newTestTimeline(t)
	s := &vp8Sender{ssrc: 5}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	t1 := stream(tl, s, t0, 30, size640)
	resume := t1.Add(5 * time.Second)
	end := stream(tl, s, resume, 30, size320)
	rec := tl.Recording()
	if got := rec.Summary(t1.Add(time.Second), resume).Sizes; len(got) != 0 {
		t.Errorf("sizes of the pause %v, want none", got)
	}
	if got := rec.Summary(t1.Add(time.Second), end).Sizes; !slices.Equal(got, []Size{size320}) {
		t.Errorf("sizes from the pause on %v, want only 320x240", got)
	}
	at, ok := rec.FrameAfter(t1.Add(time.Second))
	if !ok || at.Before(resume) || at.Sub(resume) > TimelineBucket {
		t.Errorf("FrameAfter the pause = %v, %v; want within %v after %v", at, ok, TimelineBucket, resume)
	}
	if _, ok := rec.FrameAfter(end.Add(time.Second)); ok {
		t.Error("a frame after the end")
	}
}

// FuzzTimeline pushes packets with arbitrary sequence numbers, SSRCs, arrival steps (back in
// time too) and payloads: the timeline must not panic and its summary must stay consistent.
func FuzzTimeline(f *testing.F) {
	s := &vp8Sender{ssrc: 1, seq: 65530}
	var seed []byte
	for i := range 12 {
		p := s.frame(i == 0, size320, 1)[0]
		seed = append(seed, byte(p.SequenceNumber>>8), byte(p.SequenceNumber), 0, 33, byte(len(p.Payload)))
		seed = append(seed, p.Payload...)
	}
	f.Add(seed)
	f.Add([]byte{0xFF, 0xFF, 1, 0, 0, 0, 0, 0, 200, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		tl, err := NewTimeline(webrtc.MimeTypeVP8)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		at := t0
		for len(data) >= 5 {
			n := min(int(data[4]), len(data)-5)
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: uint32(data[2] & 1),
				SequenceNumber: uint16(data[0])<<8 | uint16(data[1]), Marker: data[2]&2 != 0},
				Payload: data[5 : 5+n]}
			at = at.Add(time.Duration(int8(data[3])) * time.Millisecond)
			tl.Push(p, at)
			data = data[5+n:]
		}
		sum := tl.Summary(t0.Add(-time.Second), at.Add(time.Second))
		if sum.Lost < 0 || sum.Lost > sum.Expected || sum.Freezes < 0 || sum.FreezeTotal < 0 {
			t.Fatalf("inconsistent summary %+v", sum)
		}
	})
}
