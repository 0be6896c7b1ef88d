package transport

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/webrtc/v4"
)

// sizedKeyframe is a one-packet VP8 keyframe of a w×h picture.
func sizedKeyframe(seq uint16, w, h int) []byte {
	b := make([]byte, 12, 64)
	b[0], b[1] = 0x80, 96|0x80
	binary.BigEndian.PutUint16(b[2:], seq)
	b = append(b, 0x10, 0x00, 0x00, 0x00, 0x9D, 0x01, 0x2A, 0, 0, 0, 0)
	binary.LittleEndian.PutUint16(b[12+7:], uint16(w))
	binary.LittleEndian.PutUint16(b[12+9:], uint16(h))
	return append(b, make([]byte, 20)...)
}

// simulcastOp is a video publication mid with layers q, h, f of growing sizes.
func simulcastOp(t *testing.T) (*trackOp, map[string]*sfu.Track) {
	t.Helper()
	to := &trackOp{mid: "1", kind: webrtc.RTPCodecTypeVideo, published: map[string]*sfu.Track{}}
	for i, rid := range []string{"q", "h", "f"} {
		st := vp8Track("t-1:" + rid)
		st.Forward(sizedKeyframe(1, 320<<i, 180<<i))
		if w, _ := st.Size(); w != 320<<i {
			t.Fatalf("layer %s: size not learned (%d)", rid, w)
		}
		to.published[rid] = st
	}
	// Half a second of media on every layer, so that their rates are known.
	for i := range 60 {
		for j, st := range []*sfu.Track{to.published["q"], to.published["h"], to.published["f"]} {
			st.Forward(sizedKeyframe(uint16(2+i), 320<<j, 180<<j))
			if i%10 == 0 {
				st.Bitrate()
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	for rid, st := range to.published {
		if st.Bitrate(); st.LastBitrate() <= 0 {
			t.Fatalf("layer %s: no rate after half a second of media", rid)
		}
	}
	return to, to.published
}

// TestDemandPausesUnreceivedLayers: a layer nobody receives for layerIdle is paused (and held
// for congestion control); one that gets a receiver or a follower's want is resumed at the
// next round; the lowest layer is never paused.
func TestDemandPausesUnreceivedLayers(t *testing.T) {
	to, ls := simulcastOp(t)
	d := sfu.NewDownTrack("v", "s", ls["f"])
	d.Attach() // a subscriber on the top layer
	now := time.Unix(1000, 0)
	step := func(dt time.Duration, wantChanged bool, want ...string) {
		t.Helper()
		now = now.Add(dt)
		paused, changed := to.updateDemand(now)
		if changed != wantChanged || changed && !slices.Equal(paused, want) {
			t.Fatalf("at +%v: paused %v (changed %v), want %v (changed %v)", now.Sub(time.Unix(1000, 0)), paused, changed, want, wantChanged)
		}
	}
	step(0, false)
	step(layerIdle-time.Second, false) // h idle, not long enough
	step(time.Second, true, "h")
	if held, _ := ls["h"].Held(); !held {
		t.Fatal("paused layer h is not held")
	}
	d.Detach() // the subscriber leaves: f idle too; q stays
	step(time.Second, false)
	step(layerIdle-time.Second, false)
	step(time.Second, true, "h", "f")
	step(layerIdle, false)
	if err := d.Switch(ls["h"]); err != nil { // a subscriber asks for h: resumed at once
		t.Fatal(err)
	}
	step(demandInterval, true, "f")
	d.Detach()
	if err := sfu.Follow(sfu.NewDownTrack("x", "x", ls["q"]), []*sfu.Track{ls["q"], ls["h"], ls["f"]}, ls["f"]); err != nil {
		t.Fatal(err)
	}
	step(demandInterval, true) // a follower wants f (a recording of the top layer): resumed
}

// TestDemandWaitsForSizes: until every layer's picture size is known, nothing is paused (the
// lowest layer is not known yet); a layer without a measured rate is not paused either.
func TestDemandWaitsForSizes(t *testing.T) {
	to, _ := simulcastOp(t)
	to.published["x"] = vp8Track("t-1:x") // no keyframe yet
	now := time.Unix(1000, 0)
	for range 20 {
		now = now.Add(demandInterval)
		if p, changed := to.updateDemand(now); changed {
			t.Fatalf("paused %v before every size was known", p)
		}
	}
	to.published["x"].Forward(sizedKeyframe(1, 2560, 1440)) // a size, but no rate yet
	for range 20 {
		now = now.Add(demandInterval)
		if p, _ := to.updateDemand(now); slices.Contains(p, "x") {
			t.Fatalf("paused %v: x has no measured rate", p)
		}
	}
}
