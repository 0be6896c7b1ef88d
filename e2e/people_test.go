package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
)

// TestE2EPeople: update-name and update-mediaState through the real all-in-one: the other
// participant gets participant updates, a late joiner sees the name and media state in the
// room info, and the camera turned off mutes the publisher's stream for everyone (OWT's
// video.status), turned on again unmutes it.
func TestE2EPeople(t *testing.T) {
	srv := newChatServer(t)
	srv.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	roomID := srv.api.CreateRoom(t, "people")
	a, infoA, _ := chatJoin(ctx, t, srv, roomID, "alice")
	defer a.Close()
	b, _, evB := chatJoin(ctx, t, srv, roomID, "bob")
	defer b.Close()

	pub, err := a.Publish(ctx, participant.ClipTracks(t, webrtc.MimeTypeVP8), rtc.PublishOptions{})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	evB.Wait(ctx, t, "stream add", participant.StreamEvent("add", pub.ID()))

	if err := a.UpdateName(ctx, "  Alice L.  "); err != nil {
		t.Fatalf("update-name: %v", err)
	}
	update := func(match func(protocol.ParticipantInfo) bool) func(any) bool {
		return func(v any) bool {
			ev, ok := v.(protocol.ParticipantEvent)
			p, _ := ev.Data.(protocol.ParticipantInfo)
			return ok && ev.Action == "update" && p.ID == infoA.ID && match(p)
		}
	}
	evB.Wait(ctx, t, "name update", update(func(p protocol.ParticipantInfo) bool { return p.Name == "Alice L." }))

	off, on := false, true
	if err := a.UpdateMediaState(ctx, &off, nil); err != nil {
		t.Fatalf("update-mediaState: %v", err)
	}
	evB.Wait(ctx, t, "camera off", update(func(p protocol.ParticipantInfo) bool {
		return p.MediaState != nil && !p.MediaState.Camera && p.MediaState.Microphone && p.Name == "Alice L."
	}))
	evB.Wait(ctx, t, "video.status inactive", participant.StatusUpdate(pub.ID(), "video.status", "inactive"))

	c, _, _ := chatJoin(ctx, t, srv, roomID, "carol")
	defer c.Close()
	var seen protocol.ParticipantInfo
	for _, p := range c.Participants() {
		if p.ID == infoA.ID {
			seen = p
		}
	}
	if seen.Name != "Alice L." || seen.MediaState == nil || seen.MediaState.Camera {
		t.Fatalf("a late joiner sees %+v", seen)
	}

	if err := a.UpdateMediaState(ctx, &on, nil); err != nil {
		t.Fatalf("update-mediaState: %v", err)
	}
	evB.Wait(ctx, t, "video.status active", participant.StatusUpdate(pub.ID(), "video.status", "active"))

	for _, bad := range []string{"", "   ", "a\u0007b"} {
		if err := a.UpdateName(ctx, bad); err == nil {
			t.Errorf("update-name %q accepted", bad)
		}
	}
	if err := a.UpdateMediaState(ctx, nil, nil); err == nil {
		t.Error("an empty update-mediaState accepted")
	}
}
