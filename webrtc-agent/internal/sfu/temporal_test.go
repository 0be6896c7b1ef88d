package sfu

import (
	"encoding/binary"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// l1t3 is Chromium's VP8 temporal pattern: frame i of a cycle of four has TID l1t3[i%4].
var l1t3 = [4]uint8{0, 2, 1, 2}

// vp8TemporalPacket builds packet part (0 or 1; 1 ends the frame) of frame pid with a
// descriptor carrying a 15-bit picture ID, TL0PICIDX and TID/Y.
func vp8TemporalPacket(seq uint16, pid uint16, tid uint8, sync, key bool, part int) []byte {
	b := make([]byte, 12, 1000)
	b[0], b[1] = 0x80, 96
	if part == 1 {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], uint32(pid)*3000)
	binary.BigEndian.PutUint32(b[8:], 7)
	first := byte(0x80) // X
	if part == 0 {
		first |= 0x10 // S, partition 0
	}
	t := tid << 6
	if sync {
		t |= 0x20
	}
	b = append(b, first, 0xE0, 0x80|byte(pid>>8)&0x7F, byte(pid), byte(pid/4), t) // I, L, T
	vp8hdr := byte(0x01)
	if key {
		vp8hdr = 0
	}
	b = append(b, vp8hdr, 0x11, 0x22)
	for len(b) < 200 {
		b = append(b, byte(len(b)))
	}
	return b
}

// temporalStream sends frames [from, to) of an L1T3 stream (two packets each, frame 0 a
// keyframe, frames 1 and 2 layer-sync, as Chromium marks them after a keyframe) to tr, and
// frame keyAt as a keyframe too.
func temporalStream(tr *Track, from, to int, keyAt int) {
	for i := from; i < to; i++ {
		tid := l1t3[i%4]
		key := i == 0 || i == keyAt
		if key {
			tid = 0
		}
		sync := i%keyCycle(keyAt) == 1 || i%keyCycle(keyAt) == 2
		for part := range 2 {
			tr.Forward(vp8TemporalPacket(uint16(1000+2*i+part), uint16(30000+i)&0x7FFF, tid, sync, key, part))
		}
	}
}

func keyCycle(keyAt int) int {
	if keyAt > 0 {
		return keyAt
	}
	return 1 << 30
}

// picID reads the 15-bit picture ID of a payload built by vp8TemporalPacket.
func picID(payload []byte) uint16 { return binary.BigEndian.Uint16(payload[2:]) & 0x7FFF }

func tidOf(payload []byte) uint8 { return payload[5] >> 6 }

// checkContinuous fails unless the output sequence numbers and the picture IDs of the frames
// run on without a gap (two packets per frame).
func checkContinuous(t *testing.T, hs []rtp.Header, ps [][]byte) {
	t.Helper()
	for i := 1; i < len(hs); i++ {
		if hs[i].SequenceNumber != hs[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: seq %d after %d", i, hs[i].SequenceNumber, hs[i-1].SequenceNumber)
		}
		want := picID(ps[i-1])
		if i%2 == 0 {
			want = (want + 1) & 0x7FFF
		}
		if got := picID(ps[i]); got != want {
			t.Fatalf("packet %d: picture ID %d, want %d", i, got, want)
		}
	}
}

// temporalRig is a VP8 track with a down-track bound to a recording writer.
func temporalRig() (*Track, *DownTrack, *recordWriter) {
	tr := newVP8Track("t", nil)
	d := NewDownTrack("v", "s", tr)
	w := &recordWriter{}
	bindDown(d, w)
	d.Attach()
	return tr, d, w
}

func TestSFUTemporalAllLayersUnchanged(t *testing.T) {
	tr, _, w := temporalRig()
	temporalStream(tr, 0, 16, 0)
	hs, ps := w.snapshot(), w.payloads
	if len(hs) != 32 {
		t.Fatalf("sent %d packets, want 32", len(hs))
	}
	for i, p := range ps {
		if got, want := picID(p), uint16(30000+i/2); got != want {
			t.Fatalf("packet %d: picture ID %d, want %d unchanged", i, got, want)
		}
	}
	checkContinuous(t, hs, ps)
	if n := tr.TemporalLayers(); n != 3 {
		t.Fatalf("TemporalLayers %d, want 3", n)
	}
}

// TestSFUTemporalBaseOnly: a ceiling of layer 0 forwards every fourth frame, renumbered so
// that neither sequence numbers nor picture IDs show a gap; timestamps are kept.
func TestSFUTemporalBaseOnly(t *testing.T) {
	tr, d, w := temporalRig()
	d.SetTemporal(0)
	temporalStream(tr, 0, 40, 0)
	hs, ps := w.snapshot(), w.payloads
	if len(hs) != 20 {
		t.Fatalf("sent %d packets, want 20 (10 base frames)", len(hs))
	}
	for i, p := range ps {
		if tidOf(p) != 0 {
			t.Fatalf("packet %d: TID %d forwarded", i, tidOf(p))
		}
		if hs[i].Timestamp != uint32(30000+4*(i/2))*3000 {
			t.Fatalf("packet %d: timestamp %d changed", i, hs[i].Timestamp)
		}
	}
	checkContinuous(t, hs, ps)
	if got := d.TemporalDropped(); got != 30 {
		t.Fatalf("dropped %d frames, want 30", got)
	}
}

// TestSFUTemporalUpAtSync: going up waits for a layer-sync frame of the higher layer (or a
// keyframe); going down takes effect at the next frame. The output stays continuous.
func TestSFUTemporalUpAtSync(t *testing.T) {
	tr, d, w := temporalRig()
	d.SetTemporal(0)
	temporalStream(tr, 0, 8, 20) // frames 0..7; sync frames are 21 and 22 (after the key at 20)
	d.SetTemporal(AllTemporal)
	temporalStream(tr, 8, 20, 20) // no sync frame: still base only
	if _, cur := d.Temporal(); cur != 0 {
		t.Fatalf("went up to %d without a layer-sync frame", cur)
	}
	base := len(w.snapshot())
	temporalStream(tr, 20, 28, 20) // keyframe at 20: everything from there
	hs, ps := w.snapshot(), w.payloads
	if base != 2*5 || len(hs) != base+16 {
		t.Fatalf("sent %d then %d packets, want 10 then 26", base, len(hs))
	}
	checkContinuous(t, hs, ps)

	// Down to 1 at once; up to 2 at the next TID-2 sync frame (frame 1 after a key).
	d.SetTemporal(1)
	temporalStream(tr, 28, 36, 0)
	if _, cur := d.Temporal(); cur != 1 {
		t.Fatalf("current layer %d, want 1", cur)
	}
	d.SetTemporal(2)
	n := len(w.snapshot())
	temporalStream(tr, 36, 40, 0)
	if got := len(w.snapshot()) - n; got != 4 { // frames 36 (TID 0) and 38 (TID 1)
		t.Fatalf("sent %d packets waiting for a sync frame, want 4", got)
	}
	checkContinuous(t, w.snapshot(), w.payloads)
}

// TestSFUTemporalReordered: a late packet of a forwarded frame takes the number left for it;
// one of a left-out frame that was never seen fills its place with padding; a duplicate of
// a left-out packet sends nothing.
func TestSFUTemporalReordered(t *testing.T) {
	tr, d, w := temporalRig()
	d.SetTemporal(1)
	send := func(i, part int) {
		tid := l1t3[i%4]
		tr.Forward(vp8TemporalPacket(uint16(1000+2*i+part), uint16(i), tid, false, i == 0, part))
	}
	send(0, 0)
	send(0, 1)
	send(1, 0) // TID 2: left out
	send(2, 0) // TID 1, forwarded; its second packet comes late
	send(3, 0) // TID 2: left out, both packets
	send(3, 1)
	send(4, 0)
	send(2, 1) // late, forwarded frame
	send(1, 1) // late, left-out frame, never seen: padding in its place
	send(1, 1) // duplicate: nothing
	send(4, 1)
	hs, ps := w.snapshot(), w.payloads
	type out struct {
		seq     uint16
		pid     uint16
		padding bool
	}
	first := hs[0].SequenceNumber
	// Output numbers: frame 0 → 0,1; input 1003 (frame 1's second packet, not seen when
	// frame 2 began) keeps place 2, filled with padding when it comes; frame 2 → 3,4 (input
	// 1005 sent late); frame 4 → 5,6. Picture IDs: 0, 1 (frame 2), 2 (frame 4).
	want := []out{{0, 0, false}, {1, 0, false}, {3, 1, false}, {5, 2, false}, {4, 1, false}, {2, 0, true}, {6, 2, false}}
	if len(hs) != len(want) {
		t.Fatalf("sent %d packets, want %d: %+v", len(hs), len(want), hs)
	}
	for i, h := range hs {
		got := out{seq: h.SequenceNumber - first, padding: h.Padding}
		if !h.Padding {
			got.pid = picID(ps[i])
		}
		if got != want[i] {
			t.Errorf("packet %d: %+v, want %+v", i, got, want[i])
		}
	}
}

// TestSFUTemporalRetransmitRewritten: a retransmission carries the picture ID the packet was
// first sent with, and a keyframe continues the rewritten picture IDs.
func TestSFUTemporalRetransmitRewritten(t *testing.T) {
	tr, d, w := temporalRig()
	d.SetTemporal(0)
	temporalStream(tr, 0, 9, 8) // frames 0, 4 and the keyframe 8
	hs, ps := w.snapshot(), w.payloads
	if len(hs) != 6 {
		t.Fatalf("sent %d packets, want 6", len(hs))
	}
	checkContinuous(t, hs, ps)
	d.HandleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: hs[2].SSRC,
		Nacks: []rtcp.NackPair{{PacketID: hs[2].SequenceNumber}}}})
	all := w.snapshot()
	if len(all) != 7 || all[6].SequenceNumber != hs[2].SequenceNumber {
		t.Fatalf("retransmission: %+v", all)
	}
	if got, want := picID(w.payloads[6]), picID(ps[2]); got != want {
		t.Fatalf("retransmitted picture ID %d, want %d as first sent", got, want)
	}
	if got := picID(ps[4]); got != 30002 {
		t.Fatalf("keyframe picture ID %d, want 30002 (continuing)", got)
	}
}

func TestSFUTemporalBitrate(t *testing.T) {
	tr := newVP8Track("t", nil)
	clock := int64(1e9)
	tr.now = func() int64 { return clock }
	for i := range 120 {
		clock += int64(1e9) / 30
		tid := l1t3[i%4]
		for part := range 2 {
			tr.Forward(vp8TemporalPacket(uint16(2*i+part), uint16(i), tid, false, i == 0, part))
		}
		if i%15 == 0 {
			tr.TemporalBitrate(2) // polled, as congestion control does
		}
	}
	b0, b1, b2 := tr.TemporalBitrate(0), tr.TemporalBitrate(1), tr.TemporalBitrate(2)
	// 200-byte packets, 60 per second: 96 kbit/s in all, a quarter on TID 0, half on TID 2.
	if b0 < 20000 || b0 > 28000 || b1 < 44000 || b1 > 52000 || b2 < 92000 || b2 > 100000 {
		t.Fatalf("rates %d, %d, %d; want about 24k, 48k, 96k", b0, b1, b2)
	}
}

// FuzzTemporalRewrite drives a down-track with a temporal ceiling through arbitrary orders of
// VP8 packets (sequence numbers and picture IDs jumping back and forth, any TID, sync and key
// bits, ceiling changes): no two different input packets may be sent under one sequence
// number, and a padding packet never takes a number a media packet has.
func FuzzTemporalRewrite(f *testing.F) {
	f.Add([]byte{1, 0x10, 1, 1, 0x80, 1, 1, 0x40, 1, 2, 0x02, 0})
	f.Add([]byte{1, 0x10, 0, 3, 0xC0, 1, 0xFE, 0x80, 0, 1, 0x01, 1, 2, 0x47, 1})
	f.Fuzz(func(t *testing.T, steps []byte) {
		tr, d, w := temporalRig()
		seq, pid := uint16(1000), uint16(30000)
		for i := 0; i+2 < len(steps) && i < 3*400; i += 3 {
			seq += uint16(int8(steps[i]))
			b := steps[i+1]
			pid = (pid + uint16(int8(steps[i+2]))) & 0x7FFF
			if c := b & 0x07; c != 0 {
				d.SetTemporal([]uint8{0, 0, 1, 2, AllTemporal, 1, 0, AllTemporal}[c])
			}
			pkt := vp8TemporalPacket(seq, pid, b>>6, b&0x20 != 0, b&0x10 != 0, int(b>>3&1))
			binary.BigEndian.PutUint16(pkt[12+9:], seq) // the input's number, to tell packets apart
			tr.Forward(pkt)
		}
		media := map[uint16]uint16{} // output seq → input seq
		var fills []uint16
		for i, h := range w.snapshot() {
			if h.Padding {
				fills = append(fills, h.SequenceNumber)
				continue
			}
			in := binary.BigEndian.Uint16(w.payloads[i][9:])
			if prev, ok := media[h.SequenceNumber]; ok && prev != in {
				t.Fatalf("output seq %d sent for inputs %d and %d", h.SequenceNumber, prev, in)
			}
			media[h.SequenceNumber] = in
		}
		for _, s := range fills {
			if in, ok := media[s]; ok {
				t.Fatalf("padding sent as seq %d, input %d's number", s, in)
			}
		}
	})
}
