package sfu

import "testing"

// TestSFUPaddingProbe: padding-only packets go between frames (and while paused), take the
// next sequence numbers and the last timestamp, and the media after them is renumbered;
// media older than the padding is not forwarded over it.
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
	tr.Forward(marked(3, 6000, false, true))
	tr.Forward(marked(2, 3000, false, true)) // late (a retransmission): older than the padding
	d.SetPaused(true)
	if n := d.WritePadding(2, 300); n != 2 {
		t.Fatalf("padding while paused: %d packets, want 2", n)
	}
	d.SetPaused(false)
	tr.Forward(marked(4, 9000, false, true)) // waits for a keyframe
	tr.Forward(marked(5, 12000, true, true))
	hs := w.snapshot()
	if len(hs) != 9 {
		t.Fatalf("sent %d packets, want 9: %+v", len(hs), hs)
	}
	first := hs[0].SequenceNumber
	for i, h := range hs {
		if h.SequenceNumber != first+uint16(i) {
			t.Fatalf("packet %d: seq %d, want %d", i, h.SequenceNumber, first+uint16(i))
		}
		padding := i >= 2 && i <= 4 || i == 6 || i == 7
		if h.Padding != padding {
			t.Fatalf("packet %d: padding %v, want %v", i, h.Padding, padding)
		}
		if padding && h.Timestamp != hs[i-1].Timestamp {
			t.Fatalf("padding %d: timestamp %d, want the previous %d", i, h.Timestamp, hs[i-1].Timestamp)
		}
	}
	if _, _, _, padded := d.Counters(); padded != 5 {
		t.Fatalf("padding counter %d, want 5", padded)
	}
}
