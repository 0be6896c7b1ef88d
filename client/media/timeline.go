package media

import (
	"fmt"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/pion/rtp"
)

// FreezeGap is the pause between two complete frames that counts as a freeze, as in
// `conclave load`. Chromium's freezeCount (webrtc-stats) counts gaps longer than the larger of
// three average frame durations and one plus 150 ms: about 200 ms at 20 fps.
const FreezeGap = 500 * time.Millisecond

// TimelineBucket is the resolution of a Timeline's counters: a Summary's window is rounded to
// whole buckets.
const TimelineBucket = 100 * time.Millisecond

// seqWindow is how many recent sequence numbers a Timeline remembers to recognise duplicates
// (retransmissions of packets that were only late); older packets are ignored.
const seqWindow = 1024

// Size is a picture size.
type Size struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// String formats the size as WIDTHxHEIGHT.
func (s Size) String() string { return fmt.Sprintf("%dx%d", s.Width, s.Height) }

// SizeAt is the picture size of a keyframe and when the keyframe became complete.
type SizeAt struct {
	At time.Time `json:"at"`
	Size
}

// Freeze is a pause longer than FreezeGap between two complete frames.
type Freeze struct {
	Start time.Time `json:"start"` // the last frame before the pause
	End   time.Time `json:"end"`   // the first frame after it
}

// Bucket counts what arrived during one TimelineBucket.
type Bucket struct {
	Packets  int   `json:"p"` // distinct packets received (padding included)
	Expected int   `json:"e"` // how far the highest sequence number moved
	Frames   int   `json:"f"` // complete, decodable frames
	Bytes    int64 `json:"b"` // RTP bytes: headers, payloads and padding, duplicates included
}

// Recording is a copy of what a Timeline recorded: per-bucket counters from Start, every
// keyframe's size and every finished freeze. It marshals to JSON, so that a process can
// record and another one summarise.
type Recording struct {
	Start       time.Time `json:"start"` // the first packet's arrival; bucket 0 begins here
	Buckets     []Bucket  `json:"buckets"`
	Sizes       []SizeAt  `json:"sizes"`   // every complete keyframe, in order
	Freezes     []Freeze  `json:"freezes"` // finished freezes, in order
	FirstFrame  time.Time `json:"firstFrame"`
	LastFrame   time.Time `json:"lastFrame"`
	Dropped     uint64    `json:"dropped"`     // frames dropped as incomplete or undecodable
	KeyWaits    uint64    `json:"keyWaits"`    // waits for a keyframe (the first included)
	KeyRequests uint64    `json:"keyRequests"` // keyframe requests made
}

// Timeline records how one received video track behaved over time, for lab tests of what a
// subscriber sees: the picture size of each keyframe (the simulcast layer it gets), complete
// frames (rebuilt with common/rtpframe, as FrameCounter does), freezes, packets lost net of
// late arrivals, and received bytes. Push costs no allocation once the stream's buckets and
// the reorder buffer exist (a 32-byte bucket is added every TimelineBucket: 1.2 MB an hour).
// It is safe for concurrent use.
type Timeline struct {
	mu   sync.Mutex
	d    *rtpframe.Depacketizer
	emit func(rtpframe.Frame) // t.frame, bound once
	rec  Recording
	now  time.Time // arrival of the packet being pushed
	cur  *Bucket

	// Loss accounting (RFC 3550 §6.4.1 style: expected minus received, duplicates left out).
	ssrc    uint32
	started bool
	highest int64 // highest extended sequence number seen
	seen    [seqWindow / 64]uint64
}

// NewTimeline returns a timeline for a video track of mimeType (video/VP8, video/VP9 or
// video/H264). WithKeyframeRequest makes it ask for keyframes while it waits for one, as a
// decoding receiver would.
func NewTimeline(mimeType string, opts ...CounterOption) (*Timeline, error) {
	c, err := rtpframe.CodecOf(mimeType)
	if err != nil || !c.Video() {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedCodec, mimeType)
	}
	o := rtpframe.Options{MaxDelay: 500 * time.Millisecond} // as FrameCounter: time for NACKs
	for _, opt := range opts {
		opt(&o)
	}
	t := &Timeline{d: rtpframe.New(c, o)}
	t.emit = t.frame
	return t, nil
}

// Push adds one RTP packet of the track that arrived at at. Arrival times should not go
// backwards; an earlier one counts in the current bucket.
func (t *Timeline) Push(p *rtp.Packet, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.now = at
	t.cur = t.bucket(at)
	t.cur.Bytes += int64(p.MarshalSize())
	t.count(p)
	t.d.Push(p, at, t.emit)
}

// bucket returns the bucket of at, adding the buckets up to it.
func (t *Timeline) bucket(at time.Time) *Bucket {
	if t.rec.Start.IsZero() {
		t.rec.Start = at
	}
	i := max(0, int(at.Sub(t.rec.Start)/TimelineBucket))
	if i < len(t.rec.Buckets) {
		return &t.rec.Buckets[len(t.rec.Buckets)-1] // never an earlier bucket than the last
	}
	for len(t.rec.Buckets) <= i {
		t.rec.Buckets = append(t.rec.Buckets, Bucket{})
	}
	return &t.rec.Buckets[i]
}

// count does the loss accounting of one packet: a new highest sequence number adds the
// packets up to it to the expected ones; a distinct packet within seqWindow of the highest
// counts as received, even when it fills an earlier gap. A new SSRC starts over.
func (t *Timeline) count(p *rtp.Packet) {
	if !t.started || p.SSRC != t.ssrc {
		t.started, t.ssrc, t.highest = true, p.SSRC, int64(p.SequenceNumber)-1
		t.seen = [seqWindow / 64]uint64{}
	}
	ext := t.highest + int64(int16(p.SequenceNumber-uint16(t.highest)))
	if ext > t.highest {
		t.advance(ext)
	}
	if t.highest-ext >= seqWindow {
		return // too old to tell from a duplicate
	}
	word, bit := t.slot(ext)
	if *word&bit == 0 {
		*word |= bit
		t.cur.Packets++
	}
}

// advance moves the highest sequence number to ext, forgetting the slots it reuses.
func (t *Timeline) advance(ext int64) {
	t.cur.Expected += int(ext - t.highest)
	if ext-t.highest >= seqWindow {
		t.seen = [seqWindow / 64]uint64{}
	} else {
		for e := t.highest + 1; e <= ext; e++ {
			word, bit := t.slot(e)
			*word &^= bit
		}
	}
	t.highest = ext
}

// slot returns the word and bit that remember the extended sequence number ext (negative
// ones included: masking maps them like the others).
func (t *Timeline) slot(ext int64) (*uint64, uint64) {
	i := ext & (seqWindow - 1)
	return &t.seen[i>>6], 1 << (i & 63)
}

// frame records one complete, decodable frame; t.mu is held.
func (t *Timeline) frame(f rtpframe.Frame) {
	at := t.now
	switch {
	case t.rec.FirstFrame.IsZero():
		t.rec.FirstFrame = at
	case at.Sub(t.rec.LastFrame) > FreezeGap:
		t.rec.Freezes = append(t.rec.Freezes, Freeze{Start: t.rec.LastFrame, End: at})
	}
	t.rec.LastFrame = at
	t.cur.Frames++
	if f.Key && f.Width > 0 && f.Height > 0 {
		t.rec.Sizes = append(t.rec.Sizes, SizeAt{At: at, Size: Size{f.Width, f.Height}})
	}
}

// Recording returns a copy of what was recorded so far.
func (t *Timeline) Recording() Recording {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.rec
	r.Buckets = append([]Bucket(nil), r.Buckets...)
	r.Sizes = append([]SizeAt(nil), r.Sizes...)
	r.Freezes = append([]Freeze(nil), r.Freezes...)
	st := t.d.Stats()
	r.Dropped, r.KeyWaits, r.KeyRequests = st.Dropped, st.KeyWaits, st.KeyRequests
	return r
}

// Summary summarises the window [from, to) of what was recorded so far; see
// Recording.Summary.
func (t *Timeline) Summary(from, to time.Time) Summary {
	r := t.Recording()
	return r.Summary(from, to)
}

// Summary is what a subscriber received during a window of a Recording.
type Summary struct {
	From, To time.Time
	Frames   int     // complete, decodable frames
	FPS      float64 // Frames per second of the window
	// Freezes counts the freezes that overlap the window, one still going on at To included
	// (frames seen before, none for more than FreezeGap); FreezeTotal is the part of them
	// inside the window and LongestFreeze the longest of them, whole.
	Freezes       int
	FreezeTotal   time.Duration
	LongestFreeze time.Duration
	Expected      int     // packets the sequence numbers announced
	Lost          int     // of those, not received (late arrivals in the window make up for earlier gaps)
	LossPercent   float64 // Lost / Expected
	Bytes         int64   // RTP bytes received
	Kbps          float64 // RTP bit rate (no UDP, IP or SRTP overhead)
	// Sizes are the picture size in effect at From (when a keyframe came before and frames
	// arrived in the window before the next change), then each different size a keyframe
	// brought during the window, in order.
	Sizes []Size
}

// Summary summarises the window [from, to). Counters are taken from the buckets whose middle
// falls in the window. A freeze still going on at the end of the recording is taken to last
// until to: ask only about windows during which the track was received.
func (r Recording) Summary(from, to time.Time) Summary {
	s := Summary{From: from, To: to}
	lo, hi := r.bucketRange(from, to)
	for _, b := range r.Buckets[lo:hi] {
		s.Frames += b.Frames
		s.Expected += b.Expected
		s.Lost += b.Expected - b.Packets
		s.Bytes += b.Bytes
	}
	s.Lost = max(0, s.Lost)
	if secs := to.Sub(from).Seconds(); secs > 0 {
		s.FPS = float64(s.Frames) / secs
		s.Kbps = float64(s.Bytes) * 8 / 1000 / secs
	}
	if s.Expected > 0 {
		s.LossPercent = 100 * float64(s.Lost) / float64(s.Expected)
	}
	s.addFreezes(r.freezesUntil(to))
	s.Sizes = r.sizesIn(from, to)
	return s
}

// sizesIn returns the size in effect at from if frames of it arrived in the window, then
// every different size a keyframe brought in [from, to).
func (r Recording) sizesIn(from, to time.Time) []Size {
	changes := r.Changes(from, to)
	until := to
	if len(changes) > 0 {
		until = changes[0].At
	}
	var out []Size
	if cur, ok := r.SizeAt(from); ok && r.framesBefore(from, until) > 0 {
		out = append(out, cur)
	}
	for _, c := range changes {
		if len(out) == 0 || out[len(out)-1] != c.Size {
			out = append(out, c.Size)
		}
	}
	return out
}

// framesBefore counts the frames of the buckets whose middle is at or after from and which
// end by until: frames that surely arrived before until.
func (r Recording) framesBefore(from, until time.Time) int {
	lo, _ := r.bucketRange(from, from)
	n := 0
	for i := lo; i < len(r.Buckets) && !r.Start.Add(time.Duration(i+1)*TimelineBucket).After(until); i++ {
		n += r.Buckets[i].Frames
	}
	return n
}

// FrameAfter returns the end of the first bucket starting at or after at that holds a frame:
// frames flowed again after at by then, and at most TimelineBucket earlier.
func (r Recording) FrameAfter(at time.Time) (time.Time, bool) {
	i := 0
	switch d := at.Sub(r.Start); {
	case d >= time.Duration(len(r.Buckets))*TimelineBucket:
		return time.Time{}, false
	case d > 0:
		i = int((d + TimelineBucket - 1) / TimelineBucket)
	}
	for ; i < len(r.Buckets); i++ {
		if r.Buckets[i].Frames > 0 {
			return r.Start.Add(time.Duration(i+1) * TimelineBucket), true
		}
	}
	return time.Time{}, false
}

// bucketRange returns the indexes [lo, hi) of the buckets whose middle is in [from, to).
func (r Recording) bucketRange(from, to time.Time) (lo, hi int) {
	index := func(at time.Time) int { // the first bucket whose middle is at or after at
		d := at.Sub(r.Start) - TimelineBucket/2
		switch {
		case d <= 0:
			return 0
		case d >= time.Duration(len(r.Buckets))*TimelineBucket:
			return len(r.Buckets)
		}
		return int((d + TimelineBucket - 1) / TimelineBucket)
	}
	lo, hi = index(from), index(to)
	return lo, max(lo, hi)
}

// freezesUntil returns the finished freezes and, when frames stopped more than FreezeGap
// before to, the one going on, ending at to.
func (r Recording) freezesUntil(to time.Time) []Freeze {
	fs := r.Freezes
	if !r.LastFrame.IsZero() && to.Sub(r.LastFrame) > FreezeGap {
		fs = append(fs[:len(fs):len(fs)], Freeze{Start: r.LastFrame, End: to})
	}
	return fs
}

// addFreezes counts the freezes that overlap the summary's window.
func (s *Summary) addFreezes(fs []Freeze) {
	for _, f := range fs {
		start, end := later(f.Start, s.From), earlier(f.End, s.To)
		if !end.After(start) {
			continue
		}
		s.Freezes++
		s.FreezeTotal += end.Sub(start)
		s.LongestFreeze = max(s.LongestFreeze, f.End.Sub(f.Start))
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// SizeAt returns the size of the last keyframe completed at or before at; ok is false when
// none was.
func (r Recording) SizeAt(at time.Time) (s Size, ok bool) {
	for _, k := range r.Sizes {
		if k.At.After(at) {
			break
		}
		s, ok = k.Size, true
	}
	return s, ok
}

// Changes returns the keyframes completed in [from, to) whose size differs from the keyframe
// before them (the first keyframe of the recording counts as a change).
func (r Recording) Changes(from, to time.Time) []SizeAt {
	var out []SizeAt
	for i, k := range r.Sizes {
		if k.At.Before(from) || !k.At.Before(to) || i > 0 && r.Sizes[i-1].Size == k.Size {
			continue
		}
		out = append(out, k)
	}
	return out
}
