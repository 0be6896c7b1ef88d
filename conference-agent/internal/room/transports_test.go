package room

import (
	"context"
	"fmt"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// TestRoomTransportCapPerParticipant checks that one participant cannot make the room create
// PeerConnections without bound (each publish on a new transport id is one).
func TestRoomTransportCapPerParticipant(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice", "presenter", "portal-1")
	h.join("bob", "presenter", "portal-1")
	publish := func(owner string, i int) error {
		id := fmt.Sprintf("%s-s%d", owner, i)
		_, err := h.r.Publish(context.Background(), protocol.PublishRequest{RoomID: h.r.id, ParticipantID: owner,
			StreamID: id, TransportID: id, Tracks: []protocol.PubTrack{{Type: "audio", Mid: "0", Source: "mic"}}})
		return err
	}
	for i := range MaxTransportsPerParticipant {
		if err := publish("alice", i); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	wantErr(t, publish("alice", MaxTransportsPerParticipant), msgTooManyTransports)
	if err := publish("bob", 0); err != nil {
		t.Fatalf("another participant is capped too: %v", err)
	}
}
