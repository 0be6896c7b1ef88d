package agent

import (
	"context"
	"encoding/json"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/transport"
	"github.com/pion/webrtc/v4"
)

// handle is the agent's RPC endpoint.
func (a *Agent) handle(ctx context.Context, req bus.Request) (any, error) {
	var err error
	var res any = "ok"
	switch req.Method {
	case protocol.MethodRTCPublish:
		err = decodeAnd(req, a.publish)
	case protocol.MethodRTCSubscribe:
		err = decodeAnd(req, func(r protocol.RTCSubscribe) error { return a.subscribe(ctx, r) })
	case protocol.MethodRTCSignaling:
		err = decodeAnd(req, func(r protocol.RTCSignaling) error { return a.signaling(ctx, r) })
	case protocol.MethodRTCTerminate:
		err = decodeAnd(req, a.terminate)
	case protocol.MethodRTCDestroyTransport:
		err = decodeAnd(req, a.destroyTransport)
	case protocol.MethodRTCControl:
		err = decodeAnd(req, func(r protocol.RTCControl) error { return a.control(ctx, r) })
	case protocol.MethodRTCExport:
		return bus.HandleAs(req, func(r protocol.RTCExport) (any, error) { return a.export(r) }, nil)
	case protocol.MethodRTCStats:
		return bus.HandleAs(req, func(r protocol.RTCStatsRequest) (any, error) {
			if len(r.TransportIDs) > maxStatsTransports {
				return nil, errs.BadRequestf("at most %d transports per rtc.stats", maxStatsTransports)
			}
			return a.stats(r), nil
		}, nil)
	default:
		return nil, errs.BadRequestf("unknown method %q", req.Method)
	}
	if err != nil {
		return nil, toRPCError(err)
	}
	return res, nil
}

// decodeAnd decodes the request body into T and calls f.
func decodeAnd[T any](req bus.Request, f func(T) error) error {
	var v T
	if err := req.Decode(&v); err != nil {
		return errs.BadRequestf("invalid %s request: %v", req.Method, err)
	}
	return f(v)
}

// kindOf maps an OWT track type to a pion kind.
func kindOf(typ string) (webrtc.RTPCodecType, error) {
	switch typ {
	case "audio":
		return webrtc.RTPCodecTypeAudio, nil
	case "video":
		return webrtc.RTPCodecTypeVideo, nil
	}
	return 0, errs.BadRequestf("invalid track type %q", typ)
}

// publish registers a publication (rtc.publish), creating the transport if new.
func (a *Agent) publish(r protocol.RTCPublish) error {
	if r.TransportID == "" || r.OperationID == "" || len(r.Tracks) == 0 {
		return errs.BadRequest("transportId, operationId and tracks are required")
	}
	tracks := make([]transport.PubTrack, 0, len(r.Tracks))
	for _, t := range r.Tracks {
		kind, err := kindOf(t.Type)
		if err != nil {
			return err
		}
		if len(t.Formats) == 0 {
			return errs.BadRequestf("%s track %s has no acceptable formats", t.Type, t.Mid)
		}
		tracks = append(tracks, transport.PubTrack{Mid: t.Mid, Kind: kind, Formats: t.Formats})
	}
	return a.withTransport(r.TransportID, ownerKey(r.RoomID, r.Owner), func(tr *transport.Transport) error {
		return tr.AddPublication(r.OperationID, r.Controller, tracks)
	})
}

// subscribe registers a subscription (rtc.subscribe); sources held by other agents are
// imported over media links first.
func (a *Agent) subscribe(ctx context.Context, r protocol.RTCSubscribe) error {
	if r.TransportID == "" || r.OperationID == "" || len(r.Tracks) == 0 {
		return errs.BadRequest("transportId, operationId and tracks are required")
	}
	a.relayMu.Lock()
	defer a.relayMu.Unlock()
	tracks := make([]transport.SubTrack, 0, len(r.Tracks))
	for _, t := range r.Tracks {
		kind, err := kindOf(t.Type)
		if err != nil {
			return err
		}
		src, err := a.source(ctx, t.Source)
		if err != nil {
			return err
		}
		if t.Format.Codec != "" && !sfu.FormatMatches(t.Format, src.Codec()) {
			return errs.BadRequestf("Format is not acceptable: track %s is %s", src.ID(), sfu.FormatOf(src.Codec()).Codec)
		}
		tracks = append(tracks, transport.SubTrack{Mid: t.Mid, Kind: kind, Source: src, Chosen: t.Chosen})
	}
	return a.withTransport(r.TransportID, ownerKey(r.RoomID, r.Owner), func(tr *transport.Transport) error {
		return tr.AddSubscription(r.OperationID, r.Controller, tracks)
	})
}

// ownerKey names who a transport belongs to: a participant of a room.
func ownerKey(roomID, owner string) string { return roomID + "/" + owner }

// withTransport runs f on the transport, creating it when new; a new transport whose
// first operation fails is removed again. A transport belongs to the room and participant
// that created it: another one naming the same id is told it does not exist, so a client
// cannot attach operations to someone else's PeerConnection by guessing its id.
func (a *Agent) withTransport(id, owner string, f func(*transport.Transport) error) error {
	a.mu.Lock()
	tr, existed := a.transports[id]
	if existed && a.owners[id] != owner {
		a.mu.Unlock()
		return errTransportNotFound(id)
	}
	if !existed {
		if a.stopping || a.eng == nil {
			a.mu.Unlock()
			return errs.Cluster("webrtc agent is not running")
		}
		var err error
		tr, err = transport.New(transport.Config{ID: id, Engine: a.eng, Listener: listener{a}, Logger: a.log.With("owner", owner),
			Layers: a.layersOf})
		if err != nil {
			a.mu.Unlock()
			return err
		}
		a.transports[id] = tr
		a.owners[id] = owner
	}
	a.mu.Unlock()
	err := f(tr)
	if err != nil && !existed && tr.Operations() == 0 {
		a.removeTransport(tr)
	}
	return err
}

// transport returns a live transport or the OWT not-found error.
func (a *Agent) transport(id string) (*transport.Transport, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	tr := a.transports[id]
	if tr == nil {
		return nil, errTransportNotFound(id)
	}
	return tr, nil
}

// removeTransport unregisters and closes tr.
func (a *Agent) removeTransport(tr *transport.Transport) {
	a.mu.Lock()
	if a.transports[tr.ID()] == tr {
		delete(a.transports, tr.ID())
		delete(a.owners, tr.ID())
		a.closingTransportLocked(tr)
	}
	a.mu.Unlock()
	tr.Close()
	a.retireTransport(tr)
}

// signaling handles a client's soac message (rtc.signaling): an offer is answered (the
// answer goes out as an event), candidates are added, removed-candidates ignored.
func (a *Agent) signaling(ctx context.Context, r protocol.RTCSignaling) error {
	tr, err := a.transport(r.TransportID)
	if err != nil {
		return err
	}
	switch r.Signaling.Type {
	case "offer":
		answer, err := tr.Offer(ctx, r.Signaling.SDP)
		if err != nil {
			return err
		}
		a.emitTransport(tr, protocol.RTCEvent{Type: protocol.RTCEventAnswer, SDP: answer})
		return nil
	case "candidate":
		var c transport.ClientCandidate
		if err := json.Unmarshal(r.Signaling.Candidate, &c); err != nil {
			return errs.BadRequestf("invalid candidate: %v", err)
		}
		return tr.AddCandidate(c)
	case "removed-candidates":
		return nil
	}
	return errs.BadRequest("Invalid signaling type")
}

// terminate ends one operation (rtc.terminate).
func (a *Agent) terminate(r protocol.RTCOperation) error {
	tr, err := a.transport(r.TransportID)
	if err != nil {
		return err
	}
	if err := tr.RemoveOperation(r.OperationID); err != nil {
		return err
	}
	a.relayMu.Lock()
	defer a.relayMu.Unlock()
	a.reapRelays()
	return nil
}

// destroyTransport closes a transport and all its operations (rtc.destroyTransport).
func (a *Agent) destroyTransport(r protocol.RTCOperation) error {
	tr, err := a.transport(r.TransportID)
	if err != nil {
		return err
	}
	a.removeTransport(tr)
	a.relayMu.Lock()
	defer a.relayMu.Unlock()
	a.reapRelays()
	return nil
}

// control mutes/unmutes or re-points an operation (rtc.control).
func (a *Agent) control(ctx context.Context, r protocol.RTCControl) error {
	tr, err := a.transport(r.TransportID)
	if err != nil {
		return err
	}
	switch r.Kind {
	case "audio", "video", "av":
	case "":
		if r.Active != nil {
			return errs.BadRequest("kind is required to mute or unmute")
		}
	default:
		return errs.BadRequestf("invalid kind %q", r.Kind)
	}
	var layer *sfu.Track
	a.relayMu.Lock()
	defer a.relayMu.Unlock()
	if r.Layer != nil {
		if layer, err = a.source(ctx, *r.Layer); err != nil {
			return err
		}
	}
	return tr.Control(r.OperationID, r.Kind, r.Active, layer)
}

// export issues a media-link ticket for a local track (rtc.export).
func (a *Agent) export(r protocol.RTCExport) (protocol.RTCExportResult, error) {
	a.mu.Lock()
	_, ok := a.tracks[r.TrackID]
	a.mu.Unlock()
	if !ok {
		return protocol.RTCExportResult{}, errTrackNotFound(r.TrackID)
	}
	return a.link.Offer(r.TrackID)
}

// maxStatsTransports bounds one rtc.stats request.
const maxStatsTransports = 256

// stats answers rtc.stats: the congestion-control state of the transports asked for that
// this agent holds.
func (a *Agent) stats(r protocol.RTCStatsRequest) protocol.RTCStats {
	out := protocol.RTCStats{Transports: []protocol.TransportStats{}}
	for _, id := range r.TransportIDs {
		a.mu.Lock()
		tr := a.transports[id]
		a.mu.Unlock()
		if tr != nil {
			out.Transports = append(out.Transports, tr.Stats())
		}
	}
	return out
}
