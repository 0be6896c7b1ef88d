package media

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

// readAll returns every frame of a clip.
func readAll(t *testing.T, r frameReader, err error) []frame {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var out []frame
	for {
		f, err := r.next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
}

func TestMediaClipFrames(t *testing.T) {
	tests := []struct {
		name      string
		open      func() (frameReader, error)
		frames    int
		keyframes int
		total     time.Duration
	}{
		{"vp8", func() (frameReader, error) { return newIVFFrames(vp8Clip) }, VP8ClipFrames, VP8ClipKeyframes, 3 * time.Second},
		{"h264", func() (frameReader, error) { return newH264Frames(h264Clip, ClipFrameRate) }, H264ClipFrames, H264ClipKeyframes, 3 * time.Second},
		{"opus", func() (frameReader, error) { return newOggFrames(opusClip) }, 151, 151, 3020 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.open()
			frames := readAll(t, r, err)
			keys := 0
			var total time.Duration
			for _, f := range frames {
				if f.key {
					keys++
				}
				total += f.dur
				if len(f.data) == 0 {
					t.Fatal("empty frame")
				}
			}
			if len(frames) != tt.frames || keys != tt.keyframes {
				t.Fatalf("frames %d keyframes %d, want %d %d", len(frames), keys, tt.frames, tt.keyframes)
			}
			if d := total - tt.total; d < -50*time.Millisecond || d > 50*time.Millisecond {
				t.Fatalf("duration %v, want %v", total, tt.total)
			}
			if !frames[0].key {
				t.Fatal("clip does not start with a keyframe")
			}
		})
	}
}

func TestMediaOpusPacketDuration(t *testing.T) {
	tests := []struct {
		p    []byte
		want time.Duration
	}{
		{[]byte{0xfc}, 20 * time.Millisecond},       // CELT FB 20 ms, code 0
		{[]byte{0xfd}, 40 * time.Millisecond},       // code 1: two frames
		{[]byte{0xff, 0x03}, 60 * time.Millisecond}, // code 3: three frames
		{[]byte{0x08}, 20 * time.Millisecond},       // SILK NB 20 ms
		{[]byte{0x78}, 20 * time.Millisecond},       // hybrid FB 20 ms
		{[]byte{0x80}, 2500 * time.Microsecond},     // CELT NB 2.5 ms
		{[]byte{0xff}, 0},                           // code 3 without count
		{nil, 0},
	}
	for _, tt := range tests {
		if got := OpusPacketDuration(tt.p); got != tt.want {
			t.Errorf("OpusPacketDuration(% x) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

// recordingWriter collects samples.
type recordingWriter struct {
	mu      sync.Mutex
	samples []pionmedia.Sample
}

func (w *recordingWriter) WriteSample(s pionmedia.Sample) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples = append(w.samples, s)
	return nil
}

func (w *recordingWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.samples)
}

func TestMediaSourcePacesInRealTime(t *testing.T) {
	w := &recordingWriter{}
	src := NewVP8Source(w)
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if err := src.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// 0.6 s at 30 fps: 18 frames (+1 written at once); allow scheduling slack.
	if n := w.count(); n < 14 || n > 20 || int64(n) != src.Frames() {
		t.Fatalf("wrote %d frames (counted %d) in 0.6 s", n, src.Frames())
	}
	if src.Keyframes() != 1 {
		t.Fatalf("keyframes %d", src.Keyframes())
	}
}

func TestMediaClipSourceErrors(t *testing.T) {
	w := &recordingWriter{}
	if _, err := NewClipSource(w, "video/AV1", vp8Clip, 30); !errors.Is(err, ErrUnsupportedCodec) {
		t.Fatalf("AV1: %v", err)
	}
	if _, err := NewClipSource(w, webrtc.MimeTypeVP8, []byte("nope"), 30); err == nil {
		t.Fatal("garbage IVF accepted")
	}
	if _, err := NewClipSource(w, webrtc.MimeTypeH264, h264Clip, 0); !errors.Is(err, ErrBadClip) {
		t.Fatalf("h264 without fps: %v", err)
	}
	if _, err := NewClipSource(w, webrtc.MimeTypeOpus, opusClip, 0); err != nil {
		t.Fatal(err)
	}
}

// packetize turns clip frames into RTP packets as a sender would.
func packetize(frames []frame, payloader rtp.Payloader, clock uint32) [][]*rtp.Packet {
	pk := rtp.NewPacketizer(1200, 96, 1234, payloader, rtp.NewRandomSequencer(), clock)
	out := make([][]*rtp.Packet, len(frames))
	for i, f := range frames {
		out[i] = pk.Packetize(f.data, uint32(f.dur.Seconds()*float64(clock)))
	}
	return out
}

func TestMediaFrameCounter(t *testing.T) {
	vp8, err := newIVFFrames(vp8Clip)
	vp8Frames := readAll(t, vp8, err)
	h264, err := newH264Frames(h264Clip, ClipFrameRate)
	h264Frames := readAll(t, h264, err)
	tests := []struct {
		name      string
		mime      string
		frames    []frame
		payloader rtp.Payloader
		drop      int // frame index whose first packet is lost; -1 for none
		want      FrameStats
	}{
		// Two loops of 90 frames.
		{"vp8", webrtc.MimeTypeVP8, vp8Frames, &codecs.VP8Payloader{}, -1,
			FrameStats{Frames: 180, Keyframes: 6, Decodable: 180}},
		{"h264", webrtc.MimeTypeH264, h264Frames, &codecs.H264Payloader{}, -1,
			FrameStats{Frames: 180, Keyframes: 6, Decodable: 180}},
		// Losing frame 10 (one packet: never seen) leaves frames 11..29 undecodable until
		// the keyframe at 30.
		{"vp8 loss", webrtc.MimeTypeVP8, vp8Frames, &codecs.VP8Payloader{}, 10,
			FrameStats{Frames: 179, Keyframes: 6, Decodable: 180 - 20, Gaps: 1}},
		{"h264 loss", webrtc.MimeTypeH264, h264Frames, &codecs.H264Payloader{}, 10,
			FrameStats{Frames: 179, Keyframes: 6, Decodable: 180 - 20, Gaps: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc, err := NewFrameCounter(tt.mime)
			if err != nil {
				t.Fatal(err)
			}
			frames := append(append([]frame(nil), tt.frames...), tt.frames...)
			pushed := int64(0)
			at := time.Unix(1000, 0)
			for i, pkts := range packetize(frames, tt.payloader, videoClockRate) {
				for j, p := range pkts {
					if i == tt.drop && j == 0 {
						continue
					}
					fc.PushAt(p, at)
					pushed++
				}
				at = at.Add(time.Second / ClipFrameRate)
			}
			got := fc.Stats()
			tt.want.Packets = pushed
			if got != tt.want {
				t.Fatalf("stats %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMediaFrameCounterUnsupported(t *testing.T) {
	if _, err := NewFrameCounter("video/AV1"); !errors.Is(err, ErrUnsupportedCodec) {
		t.Fatalf("err = %v", err)
	}
}

func TestFrameCounterIgnoresPadding(t *testing.T) {
	fc, err := NewFrameCounter("video/VP8")
	if err != nil {
		t.Fatal(err)
	}
	// Keyframe (one packet), then a padding-only probe taking a sequence number, then two
	// one-packet frames: the probe must not count as a loss.
	key := []byte{0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x10, 0x00, 0x10, 0x00}
	inter := []byte{0x10, 0x01}
	pkts := []*rtp.Packet{
		{Header: rtp.Header{SequenceNumber: 10, Timestamp: 0, Marker: true}, Payload: key},
		{Header: rtp.Header{SequenceNumber: 11, Timestamp: 0, Padding: true}},
		// (without the padding fix this packet makes a gap before frame 12)
		{Header: rtp.Header{SequenceNumber: 12, Timestamp: 3000, Marker: true}, Payload: inter},
		{Header: rtp.Header{SequenceNumber: 13, Timestamp: 6000, Marker: true}, Payload: inter},
		{Header: rtp.Header{SequenceNumber: 14, Timestamp: 9000, Marker: true}, Payload: inter},
	}
	for _, p := range pkts {
		fc.Push(p)
	}
	st := fc.Stats()
	if st.Gaps != 0 || st.Decodable < 2 {
		t.Fatalf("stats %+v: padding counted as a loss", st)
	}
}
