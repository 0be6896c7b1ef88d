package agent

import (
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
)

func TestXcodeVideoFormatDefaults(t *testing.T) {
	src := &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 1280, Height: 720}, Framerate: 15,
		Bitrate: &protocol.Bitrate{Kbps: 1000}}
	cases := []struct {
		name                  string
		source, req           *protocol.VideoParameters
		w, h, fps, kbps, kfiF int
	}{
		{"as the unknown source", nil, nil, 0, 0, xcodeFramerate, defaultBitrate(0, 0, xcodeFramerate, 0), 100 * xcodeFramerate},
		{"as the known source", src, nil, 1280, 720, 15, defaultBitrate(1280, 720, 15, 0), 1500},
		{"multiple of the source", src, &protocol.VideoParameters{Bitrate: &protocol.Bitrate{Multiple: "x0.5"}, KeyFrameInterval: 2},
			1280, 720, 15, 500, 30},
		{"explicit", src, &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 320, Height: 240}, Framerate: 30,
			Bitrate: &protocol.Bitrate{Kbps: 300}}, 320, 240, 30, 300, 3000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := xcodeVideoFormat(protocol.XcodeStart{Format: protocol.Format{Codec: "vp8"},
				Source: protocol.SessionTrack{Parameters: tc.source}, Parameters: tc.req})
			if err != nil {
				t.Fatal(err)
			}
			e := f.enc
			if e.Width != tc.w || e.Height != tc.h || e.Framerate != tc.fps || e.BitrateKbps != tc.kbps || e.KeyFrameInterval != tc.kfiF {
				t.Fatalf("encoder %+v, want %dx%d@%d %d kbps kfi %d frames", e, tc.w, tc.h, tc.fps, tc.kbps, tc.kfiF)
			}
		})
	}
	for _, bad := range []*protocol.VideoParameters{
		{Resolution: &protocol.Resolution{Width: -1, Height: 2}},
		{Bitrate: &protocol.Bitrate{Multiple: "y2"}},
		{Framerate: 500},
		{KeyFrameInterval: -3},
	} {
		if _, err := xcodeVideoFormat(protocol.XcodeStart{Format: protocol.Format{Codec: "vp8"}, Parameters: bad}); err == nil {
			t.Errorf("parameters %+v accepted", bad)
		}
	}
}
