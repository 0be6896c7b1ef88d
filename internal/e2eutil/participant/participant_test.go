package participant

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// TestRecorderWait checks that a wait finds an event that arrived before it and one that
// arrives while it waits, with their arrival times.
func TestRecorderWait(t *testing.T) {
	r := NewRecorder()
	ev := r.Events()
	before := time.Now()
	ev.Stream(protocol.StreamEvent{Status: "add", ID: "s1"})
	ev.Participant(protocol.ParticipantEvent{Action: "join"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got := r.Wait(ctx, t, "add s1", StreamEvent("add", "s1")).(protocol.StreamEvent); got.ID != "s1" {
		t.Fatalf("got %+v", got)
	}
	changed := r.Changed()
	go func() {
		time.Sleep(20 * time.Millisecond)
		ev.Stream(protocol.StreamEvent{Status: "update", ID: "s1", Data: protocol.StreamUpdate{Field: "video.status", Value: "inactive"}})
		ev.Drop()
	}()
	at := r.WaitAt(ctx, t, "drop", IsDrop)
	if at.Before(before) {
		t.Fatalf("drop at %s, before the test began", at)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Changed not closed by a new event")
	}
	r.Wait(ctx, t, "video inactive", StatusUpdate("s1", "video.status", "inactive"))
	if StatusUpdate("s1", "audio.status", "inactive")(protocol.StreamEvent{Status: "update", ID: "s1", Data: protocol.StreamUpdate{Field: "video.status", Value: "inactive"}}) {
		t.Fatal("StatusUpdate matched another field")
	}
}

// TestOptions checks that participants gather loopback candidates only.
func TestOptions(t *testing.T) {
	r := NewRecorder()
	o := Options(r.Events())
	if !o.LoopbackOnly || o.ConfigureSettings == nil || o.Events.Stream == nil {
		t.Fatalf("options %+v", o)
	}
	var se webrtc.SettingEngine
	o.ConfigureSettings(&se)
}

// TestClipTracks checks the clip tracks of both video codecs.
func TestClipTracks(t *testing.T) {
	for _, mime := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264} {
		t.Run(mime, func(t *testing.T) {
			tracks := ClipTracks(t, mime)
			if len(tracks) != 2 || tracks[0].Kind() != webrtc.RTPCodecTypeAudio || tracks[1].Kind() != webrtc.RTPCodecTypeVideo {
				t.Fatalf("tracks %+v", tracks)
			}
			if _, ok := tracks[1].(interface{ RequestKeyframe() }); !ok {
				t.Fatal("the video does not answer keyframe requests")
			}
		})
	}
}
