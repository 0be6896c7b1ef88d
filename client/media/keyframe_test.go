package media

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

// errStop ends a Source run from its writer.
var errStop = errors.New("stop")

// hookWriter records samples with their write time and calls hook on Run's goroutine after
// each one, so that whatever hook does happens before the next frame is chosen.
type hookWriter struct {
	samples []pionmedia.Sample
	at      []time.Time
	hook    func(i int) error
}

func (w *hookWriter) WriteSample(s pionmedia.Sample) error {
	w.samples = append(w.samples, s)
	w.at = append(w.at, time.Now())
	return w.hook(len(w.samples) - 1)
}

func TestMediaSourceRequestKeyframe(t *testing.T) {
	tests := []struct {
		name  string
		newFn func(SampleWriter) *Source
		open  func() (frameReader, error)
	}{
		{"vp8", NewVP8Source, func() (frameReader, error) { return newIVFFrames(vp8Clip) }},
		{"h264", NewH264Source, func() (frameReader, error) { return newH264Frames(h264Clip, ClipFrameRate) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.open()
			clip := readAll(t, r, err) // keyframes at 0, 30, 60
			var src *Source
			w := &hookWriter{}
			w.hook = func(i int) error {
				switch {
				case i == 3 || i == 5: // mid-GOP: request a keyframe
					src.RequestKeyframe()
				case i > 5 && bytes.Equal(w.samples[i].Data, clip[60].data):
					return errStop
				case i >= 40:
					return errStop
				}
				return nil
			}
			src = tt.newFn(w)
			if err := src.Run(context.Background()); !errors.Is(err, errStop) {
				t.Fatalf("Run = %v", err)
			}
			// The frame after the first request is the clip's next keyframe (frame 30).
			if !bytes.Equal(w.samples[4].Data, clip[30].data) {
				t.Fatal("frame after RequestKeyframe is not the clip's next keyframe")
			}
			for i := 1; i < 4; i++ {
				if !bytes.Equal(w.samples[i].Data, clip[i].data) {
					t.Fatalf("frame %d is not the clip's frame %d", i, i)
				}
			}
			// The second request waits out the throttle, then jumps to frame 60, well
			// before the clip would reach it (at sample 34).
			last := len(w.samples) - 1
			if !bytes.Equal(w.samples[last].Data, clip[60].data) || last >= 34 {
				t.Fatalf("second keyframe at sample %d", last)
			}
			if gap := w.at[last].Sub(w.at[4]); gap < MinKeyframeInterval {
				t.Fatalf("forced keyframes %v apart, want >= %v", gap, MinKeyframeInterval)
			}
			if !bytes.Equal(w.samples[last-1].Data, clip[last-1-4+30].data) {
				t.Fatal("frames between the forced keyframes do not follow the clip")
			}
			// The writer refused the last sample, so it is not counted.
			if src.ForcedKeyframes() != 2 || src.Keyframes() != 2 {
				t.Fatalf("forced %d keyframes %d, want 2 2", src.ForcedKeyframes(), src.Keyframes())
			}
		})
	}
}

func TestMediaSourceRequestKeyframeAudio(t *testing.T) {
	w := &hookWriter{}
	src := NewOpusSource(w)
	w.hook = func(i int) error {
		src.RequestKeyframe()
		if i == 5 {
			return errStop
		}
		return nil
	}
	if err := src.Run(context.Background()); !errors.Is(err, errStop) {
		t.Fatalf("Run = %v", err)
	}
	if src.ForcedKeyframes() != 0 || src.wantKey.Load() {
		t.Fatal("an audio source took a keyframe request")
	}
}

func TestMediaSourceKeyframeRequestSpansLoop(t *testing.T) {
	r, err := newIVFFrames(vp8Clip)
	clip := readAll(t, r, err)
	var src *Source
	w := &hookWriter{}
	w.hook = func(i int) error {
		switch i {
		case 65: // after the clip's last keyframe: the next one is the loop's first frame
			src.RequestKeyframe()
		case 66:
			return errStop
		}
		return nil
	}
	src = NewVP8Source(w)
	_ = src.Run(context.Background())
	if !bytes.Equal(w.samples[66].Data, clip[0].data) || src.Loops() != 1 {
		t.Fatalf("after the clip's last keyframe: loops %d, sample is clip[0]: %v", src.Loops(), bytes.Equal(w.samples[66].Data, clip[0].data))
	}
}
