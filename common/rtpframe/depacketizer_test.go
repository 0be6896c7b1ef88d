package rtpframe

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtp"
)

type collected struct {
	frames []Frame
	data   [][]byte
}

func (c *collected) emit(f Frame) {
	c.frames = append(c.frames, f)
	c.data = append(c.data, append([]byte(nil), f.Data...))
}

// run pushes pkts (arriving 1 ms apart) through a depacketizer and drains it.
func run(t *testing.T, codec Codec, pkts []*rtp.Packet) (*collected, *Depacketizer, int) {
	t.Helper()
	var c collected
	requests := 0
	d := New(codec, Options{Keyframe: func() { requests++ }})
	at := time.Unix(1000, 0)
	for _, p := range pkts {
		d.Push(p, at, c.emit)
		at = at.Add(time.Millisecond)
	}
	d.Drain(c.emit)
	return &c, d, requests
}

func TestRTPFrameInOrder(t *testing.T) {
	tests := []struct {
		mime  string
		codec Codec
		keys  int
	}{
		{"video/VP8", VP8, 3},
		{"video/H264", H264, 3},
		{"audio/opus", Opus, -1},
	}
	for _, tc := range tests {
		t.Run(tc.mime, func(t *testing.T) {
			frames := clip(t, tc.mime)
			c, d, req := run(t, tc.codec, packetizeAll(tc.mime, frames, 65500, 0xFFFFFF00))
			if len(c.frames) != len(frames) || req != 0 {
				t.Fatalf("%d frames (want %d), %d keyframe requests, stats %+v", len(c.frames), len(frames), req, d.Stats())
			}
			keys := 0
			for i, f := range c.frames {
				if f.Key {
					keys++
				}
				if i > 0 && f.Timestamp <= c.frames[i-1].Timestamp {
					t.Fatalf("frame %d: timestamp %d after %d (wrap not handled)", i, f.Timestamp, c.frames[i-1].Timestamp)
				}
				if tc.codec != H264 && !bytes.Equal(c.data[i], frames[i].Data) {
					t.Fatalf("frame %d differs from the clip", i)
				}
			}
			if tc.keys >= 0 && keys != tc.keys {
				t.Fatalf("%d keyframes, want %d", keys, tc.keys)
			}
			if tc.codec.Video() && (c.frames[0].Width != 320 || c.frames[0].Height != 240) {
				t.Fatalf("keyframe size %dx%d", c.frames[0].Width, c.frames[0].Height)
			}
		})
	}
}

func TestRTPFrameH264AVCC(t *testing.T) {
	frames := clip(t, "video/H264")
	c, _, _ := run(t, H264, packetizeAll("video/H264", frames, 1, 0))
	f := c.frames[0]
	if f.SPS == nil || f.PPS == nil || !f.Key {
		t.Fatal("first access unit lacks SPS/PPS/IDR")
	}
	var want [][]byte
	for _, nal := range SplitAnnexB(frames[0].Data) {
		want = append(want, nal)
	}
	b := c.data[0]
	for i := 0; len(b) > 0; i++ {
		n := int(binary.BigEndian.Uint32(b))
		if i >= len(want) || !bytes.Equal(b[4:4+n], want[i]) {
			t.Fatalf("AVCC NAL %d does not match the clip", i)
		}
		b = b[4+n:]
	}
	cfg, err := AVCDecoderConfig(f.SPS, f.PPS)
	if err != nil || cfg[0] != 1 || cfg[1] != f.SPS[1] {
		t.Fatalf("AVCDecoderConfig = %x, %v", cfg, err)
	}
}

func TestRTPFrameReorderAndDuplicates(t *testing.T) {
	frames := clip(t, "video/VP8")
	pkts := packetizeAll("video/VP8", frames, 100, 0)
	shuffled := []*rtp.Packet{pkts[0]}
	i := 1
	for ; i+1 < len(pkts); i += 2 {
		shuffled = append(shuffled, pkts[i+1], pkts[i], pkts[i]) // swapped and duplicated
	}
	shuffled = append(shuffled, pkts[i:]...)
	c, d, req := run(t, VP8, shuffled)
	if len(c.frames) != len(frames) || req != 0 || d.Stats().Gaps != 0 {
		t.Fatalf("%d frames of %d, %d requests, stats %+v", len(c.frames), len(frames), req, d.Stats())
	}
}

func TestRTPFrameLoss(t *testing.T) {
	tests := []struct {
		name  string
		codec Codec
		mime  string
	}{{"vp8", VP8, "video/VP8"}, {"h264", H264, "video/H264"}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames := clip(t, tc.mime)
			pkts := packetizeAll(tc.mime, frames, 0, 0)
			// Drop the first packet of frame 10: frames 10..29 are undecodable until the
			// keyframe at 30.
			var stamps []uint32
			for _, p := range pkts {
				if len(stamps) == 0 || stamps[len(stamps)-1] != p.Timestamp {
					stamps = append(stamps, p.Timestamp)
				}
			}
			ts10 := stamps[10]
			var kept []*rtp.Packet
			dropped := false
			for _, p := range pkts {
				if p.Timestamp == ts10 && !dropped {
					dropped = true
					continue
				}
				kept = append(kept, p)
			}
			c, _, req := run(t, tc.codec, kept)
			if req != 1 {
				t.Fatalf("%d keyframe requests, want 1", req)
			}
			if len(c.frames) != len(frames)-20 {
				t.Fatalf("%d frames, want %d", len(c.frames), len(frames)-20)
			}
			if !c.frames[10].Key || c.frames[10].Timestamp != int64(stamps[30]) {
				t.Fatalf("frame after the gap is not the next keyframe")
			}
		})
	}
}

func TestRTPFrameLateGapReleased(t *testing.T) {
	frames := clip(t, "audio/opus")[:10]
	pkts := packetizeAll("audio/opus", frames, 0, 0)
	var c collected
	d := New(Opus, Options{MaxDelay: 50 * time.Millisecond})
	at := time.Unix(0, 0)
	for i, p := range pkts {
		if i == 3 {
			continue // lost for good
		}
		d.Push(p, at, c.emit)
		at = at.Add(20 * time.Millisecond)
	}
	if len(c.frames) != 9 || d.Stats().Gaps != 1 {
		t.Fatalf("%d frames released, stats %+v", len(c.frames), d.Stats())
	}
}

func TestRTPFrameSequenceRestart(t *testing.T) {
	frames := clip(t, "audio/opus")[:20]
	a := packetizeAll("audio/opus", frames[:10], 30000, 0)
	b := packetizeAll("audio/opus", frames[10:], 5, 9600)
	c, _, _ := run(t, Opus, append(a, b...))
	if len(c.frames) != 20 {
		t.Fatalf("%d frames after a sequence restart, want 20", len(c.frames))
	}
}

func TestRTPFrameCodecOf(t *testing.T) {
	tests := map[string]Codec{"video/VP8": VP8, "VP9": VP9, "video/h264": H264, "audio/opus": Opus}
	for in, want := range tests {
		if got, err := CodecOf(in); err != nil || got != want {
			t.Fatalf("CodecOf(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := CodecOf("audio/PCMU"); err == nil {
		t.Fatal("CodecOf accepted PCMU")
	}
}
