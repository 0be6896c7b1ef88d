package agent

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/transport"
)

// publishTimeout bounds one event publication.
const publishTimeout = 2 * time.Second

// listener is the agent's transport.Listener.
type listener struct{ a *Agent }

var _ transport.Listener = listener{}

// Event implements transport.Listener.
func (l listener) Event(controller string, ev protocol.RTCEvent) { l.a.emit(controller, ev) }

// TrackPublished implements transport.Listener.
func (l listener) TrackPublished(t *sfu.Track) {
	l.a.mu.Lock()
	defer l.a.mu.Unlock()
	l.a.tracks[t.ID()] = t
	if p, ok := layerPrefix(t.ID()); ok {
		l.a.layers[p] = append(slices.Clip(l.a.layers[p]), t)
	}
}

// TrackUnpublished implements transport.Listener.
func (l listener) TrackUnpublished(t *sfu.Track) {
	l.a.mu.Lock()
	defer l.a.mu.Unlock()
	if l.a.tracks[t.ID()] == t {
		delete(l.a.tracks, t.ID())
		l.a.retireTrackLocked(t)
	}
	if p, ok := layerPrefix(t.ID()); ok {
		rest := slices.DeleteFunc(slices.Clone(l.a.layers[p]), func(x *sfu.Track) bool { return x == t })
		if len(rest) == 0 {
			delete(l.a.layers, p)
		} else {
			l.a.layers[p] = rest
		}
	}
}

// layerPrefix returns the part of a simulcast track id (<transportId>-<mid>:<rid>) its
// sibling layers share, and false for a track without a rid.
func layerPrefix(id string) (string, bool) {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return "", false
	}
	return id[:i+1], true
}

// layersOf returns the simulcast layers published with t (t included; nil without
// simulcast). Imported tracks have no siblings here: congestion control keeps to the layer
// the conference agent chose for them.
func (a *Agent) layersOf(t *sfu.Track) []*sfu.Track {
	p, ok := layerPrefix(t.ID())
	if !ok {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tracks[t.ID()] != t || a.imports[t.ID()] != nil {
		return nil
	}
	return a.layers[p] // never modified in place
}

// Failed implements transport.Listener: the transport is destroyed in the background (the
// call comes from a pion callback, which must not wait for the PeerConnection to close).
func (l listener) Failed(tr *transport.Transport, reason string) {
	a := l.a
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping || a.transports[tr.ID()] != tr {
		return
	}
	delete(a.transports, tr.ID())
	a.closingTransportLocked(tr)
	a.log.Info("transport failed", "transport", tr.ID(), "reason", reason)
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		tr.Close()
		a.retireTransport(tr)
	}()
}

// emitTransport publishes a transport-level event to the transport's controller.
func (a *Agent) emitTransport(tr *transport.Transport, ev protocol.RTCEvent) {
	ev.TransportID = tr.ID()
	a.emit(tr.Controller(), ev)
}

// emit publishes ev on the controller's RTC topic.
func (a *Agent) emit(controller string, ev protocol.RTCEvent) {
	ev.Agent = a.id
	if controller == "" {
		a.log.Warn("rtc event without controller dropped", "type", ev.Type, "transport", ev.TransportID)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	if err := a.bus.Publish(ctx, protocol.RTCTopic(controller), ev); err != nil {
		a.log.Warn("rtc event publication failed", "type", ev.Type, "transport", ev.TransportID, "error", err)
	}
}
