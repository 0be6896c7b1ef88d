package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
)

// FuzzClusterEvent feeds arbitrary bus events (another process's announcements are outside
// input) to a registry: nothing may panic, and a known worker must be well formed.
func FuzzClusterEvent(f *testing.F) {
	f.Add("cluster.beat.portal", []byte(`{"id":"p1","purpose":"portal","load":0.1,"maxLoad":0.85,"isps":["a"]}`))
	f.Add("cluster.leave.portal", []byte(`{"id":"p1","purpose":"portal"}`))
	f.Add("cluster.beat.", []byte(`{"id":"x","purpose":""}`))
	f.Add("cluster.beat.webrtc", []byte(`{"id":"w","purpose":"webrtc","load":"high"}`))
	f.Add("cluster.beat.webrtc", []byte(`null`))
	f.Add("other", []byte(`{}`))
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		r, err := NewRegistry(newFakeBus(), RegistryConfig{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.handle(bus.Event{Topic: topic, Body: body})
		for _, w := range r.Workers("") {
			if w.validate() != nil || BeatTopic(w.Purpose) != topic {
				t.Fatalf("registry accepted %+v from %q", w, topic)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		_, _ = r.Schedule(ctx, "portal", "t", Preference{ISP: "a"})
	})
}
