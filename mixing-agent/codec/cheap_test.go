package codec

import (
	"testing"

	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// TestLiveContextsAndCHeap: every encoder and decoder counts as an open context until its
// Close (Close twice counts once); a 1280x720 VP8 encoder's buffers show in the C heap's
// in-use bytes while it is open; glibc accepts the fixed mmap threshold; a trim leaves the
// allocations in use alone.
func TestLiveContextsAndCHeap(t *testing.T) {
	if !TuneCHeap() || !TuneCHeap() {
		t.Fatal("mallopt(M_MMAP_THRESHOLD) refused")
	}
	before := LiveContexts()
	heapBefore := CHeapStats()
	enc, err := NewVideoEncoder(VideoEncoderConfig{Codec: "vp8", Width: 1280, Height: 720, Framerate: 30})
	if err != nil {
		t.Fatal(err)
	}
	h264, err := NewVideoEncoder(VideoEncoderConfig{Codec: "h264", Width: 320, Height: 240, Framerate: 30})
	if err != nil {
		t.Fatal(err)
	}
	var decs []VideoDecoder
	for _, name := range []string{"vp8", "vp9", "h264"} {
		d, err := NewVideoDecoder(name)
		if err != nil {
			t.Fatal(err)
		}
		decs = append(decs, d)
	}
	od, err := NewOpusDecoder(2)
	if err != nil {
		t.Fatal(err)
	}
	oe, err := NewOpusEncoder(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := enc.Encode(yuv.NewImage(1280, 720), true); err != nil {
		t.Fatal(err)
	}
	open := LiveContexts()
	heapOpen := CHeapStats()
	want := Live{VideoDecoders: before.VideoDecoders + 3, VideoEncoders: before.VideoEncoders + 2,
		OpusDecoders: before.OpusDecoders + 1, OpusEncoders: before.OpusEncoders + 1}
	if open != want {
		t.Fatalf("open contexts %+v, want %+v", open, want)
	}
	t.Logf("C heap in use %d → %d KiB with the codecs open (system %d KiB)", heapBefore.InUse>>10, heapOpen.InUse>>10, heapOpen.System>>10)
	if heapOpen.InUse < heapBefore.InUse+1<<20 {
		t.Errorf("C heap in use grew by %d bytes for a 720p VP8 encoder", int64(heapOpen.InUse)-int64(heapBefore.InUse))
	}
	for range 2 {
		enc.Close()
		h264.Close()
		for _, d := range decs {
			d.Close()
		}
		od.Close()
		oe.Close()
	}
	if got := LiveContexts(); got != before {
		t.Fatalf("contexts after Close %+v, want %+v", got, before)
	}
	TrimCHeap()
	after := CHeapStats()
	t.Logf("after Close and trim: in use %d KiB, free %d KiB, system %d KiB", after.InUse>>10, after.Free>>10, after.System>>10)
	if after.InUse > heapOpen.InUse {
		t.Errorf("C heap in use %d after closing every codec, %d with them open", after.InUse, heapOpen.InUse)
	}
}
