package load

import (
	"testing"

	"github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/pion/webrtc/v4"
)

func TestLoadClipSetVideoAnswersKeyframeRequests(t *testing.T) {
	tests := []struct {
		video, audio string
		browser      bool
		tracks       int
		keyed        int // index of the video track, -1 for none
	}{
		{"vp8", "opus", false, 2, 1},
		{"h264", "none", false, 1, 0},
		{"none", "opus", false, 1, -1},
		{"vp8", "opus", true, 2, 1},
		{"h264", "opus", true, 2, 1},
	}
	for _, tt := range tests {
		var browser *media.BrowserOptions
		if tt.browser {
			browser = &media.BrowserOptions{Padding: true, Loss: 0.01}
		}
		cs, err := newClipSet(tt.video, tt.audio, browser)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs.tracks) != tt.tracks || len(cs.sources) != tt.tracks {
			t.Fatalf("%s/%s: %d tracks %d sources", tt.video, tt.audio, len(cs.tracks), len(cs.sources))
		}
		for i, tr := range cs.tracks {
			_, keyed := tr.(client.KeyframeRequester)
			if keyed != (i == tt.keyed) || keyed != (tr.Kind() == webrtc.RTPCodecTypeVideo) {
				t.Fatalf("%s/%s: track %d (%s) keyframe requester %v", tt.video, tt.audio, i, tr.Kind(), keyed)
			}
		}
	}
}
