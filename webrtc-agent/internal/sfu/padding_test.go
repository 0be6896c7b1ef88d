package sfu

import "testing"

// TestSFUPaddingProbe: padding-only packets go between frames (and while paused), take the
// next sequence numbers and the last timestamp, and the media after them is renumbered;
// media that arrives late from before the padding takes the number left free for it.
func TestSFUPaddingProbe(t *testing.T) {
	tr := newVP8Track("t", nil)
	d := NewDownTrack("v", "s", tr)
	w := &recordWriter{}
	bindDown(d, w)
	d.Attach()
	if n := d.WritePadding(3, 100); n != 0 {
		t.Fatalf("padding before any media: %d packets", n)
	}
	marked := func(seq uint16, ts uint32, key, marker bool) []byte {
		b := vp8Packet(nil, 1, seq, ts, key)
		if marker {
			b[1] |= 0x80
		}
		return b
	}
	tr.Forward(marked(1, 3000, true, false))
	if n := d.WritePadding(3, 100); n != 0 {
		t.Fatalf("padding inside a frame: %d packets", n)
	}
	tr.Forward(marked(2, 3000, false, true))
	if n := d.WritePadding(3, 100); n != 3 {
		t.Fatalf("padding after a frame: %d packets, want 3", n)
	}
	tr.Forward(marked(4, 6000, false, true))
	tr.Forward(marked(3, 6000, false, false)) // late (a retransmission): from before the padding
	d.SetPaused(true)
	if n := d.WritePadding(2, 300); n != 2 {
		t.Fatalf("padding while paused: %d packets, want 2", n)
	}
	d.SetPaused(false)
	tr.Forward(marked(4, 9000, false, true)) // waits for a keyframe
	tr.Forward(marked(5, 12000, true, true))
	hs := w.snapshot()
	if len(hs) != 10 {
		t.Fatalf("sent %d packets, want 10: %+v", len(hs), hs)
	}
	first := hs[0].SequenceNumber
	// In sending order: two media, three padding, input 4 after the padding, input 3 in the
	// place before it, two padding, the keyframe.
	order := []uint16{0, 1, 2, 3, 4, 6, 5, 7, 8, 9}
	for i, h := range hs {
		if h.SequenceNumber != first+order[i] {
			t.Fatalf("packet %d: seq %d, want %d", i, h.SequenceNumber, first+order[i])
		}
		padding := i >= 2 && i <= 4 || i == 7 || i == 8
		if h.Padding != padding {
			t.Fatalf("packet %d: padding %v, want %v", i, h.Padding, padding)
		}
		if padding && i != 7 && h.Timestamp != hs[i-1].Timestamp {
			t.Fatalf("padding %d: timestamp %d, want the previous %d", i, h.Timestamp, hs[i-1].Timestamp)
		}
	}
	if _, _, _, padded := d.Counters(); padded != 5 {
		t.Fatalf("padding counter %d, want 5", padded)
	}
}
