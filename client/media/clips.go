package media

import (
	_ "embed" // the clips below
)

// The embedded clips were encoded once with ffmpeg from its lavfi test sources (3 s each):
//
//	vp8.ivf:   testsrc 320x240 30 fps, libvpx 300 kb/s, keyframe every 30 frames (90 frames, 3 keyframes)
//	h264.h264: same picture, libx264 baseline, Annex-B, SPS/PPS before every IDR (90 frames, 3 IDRs)
//	opus.ogg:  440 Hz sine, libopus 32 kb/s, 20 ms frames, one packet per Ogg page
var (
	//go:embed testdata/vp8.ivf
	vp8Clip []byte
	//go:embed testdata/h264.h264
	h264Clip []byte
	//go:embed testdata/opus.ogg
	opusClip []byte
)

// Clip frame counts, for tests that assert how much media flowed.
const (
	VP8ClipFrames     = 90
	VP8ClipKeyframes  = 3
	H264ClipFrames    = 90
	H264ClipKeyframes = 3
	ClipFrameRate     = 30
)

// VP8Clip returns the embedded VP8 IVF clip.
func VP8Clip() []byte { return vp8Clip }

// H264Clip returns the embedded H.264 Annex-B clip.
func H264Clip() []byte { return h264Clip }

// OpusClip returns the embedded Ogg/Opus clip.
func OpusClip() []byte { return opusClip }
