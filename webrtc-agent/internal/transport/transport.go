// Package transport is one WebRTC transport (PeerConnection) of the webrtc agent: the
// operations registered on it keyed by mid, offer/answer with the client (which always
// offers, owt-protocol.md §4.5), re-offers of protocol 1.2 clients, and the binding of
// publication tracks and subscription down-tracks (package sfu) to pion.
package transport

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/webrtc/v4"
)

// DefaultGatherTimeout bounds the wait for ICE gathering before answering.
const DefaultGatherTimeout = 5 * time.Second

// Listener receives a transport's events and publication tracks. Calls come from pion and
// RPC goroutines and must not block for long; they are never made while the transport's
// lock is held.
type Listener interface {
	// Event reports an RTC event for controller (the conference agent).
	Event(controller string, ev protocol.RTCEvent)
	// TrackPublished registers a publication track so subscribers can find it.
	TrackPublished(t *sfu.Track)
	// TrackUnpublished removes it.
	TrackUnpublished(t *sfu.Track)
	// Failed reports that the PeerConnection failed; the owner should destroy the transport.
	Failed(tr *Transport, reason string)
}

// Config configures a Transport.
type Config struct {
	ID            string
	Engine        *Engine
	Listener      Listener
	Logger        *slog.Logger
	GatherTimeout time.Duration
	// Layers returns the simulcast layers of a publication track's publication (the track
	// included), for congestion control to choose from; nil: only the subscribed track.
	Layers func(*sfu.Track) []*sfu.Track
}

// PubTrack is a track a client will publish.
type PubTrack struct {
	Mid     string
	Kind    webrtc.RTPCodecType
	Formats []protocol.Format // acceptable formats in preference order
}

// SubTrack is a track a client will receive from Source.
type SubTrack struct {
	Mid    string
	Kind   webrtc.RTPCodecType
	Source *sfu.Track
	// Chosen: the client asked for Source itself (a simulcast layer): congestion control may
	// go below it, never above. Otherwise it chooses among all of Source's layers.
	Chosen bool
}

// operation is a publication or subscription on the transport.
type operation struct {
	id, controller string
	publish        bool
	tracks         []*trackOp
	completed      bool
}

// trackOp is one mid of an operation.
type trackOp struct {
	op         *operation
	mid        string
	kind       webrtc.RTPCodecType
	formats    []protocol.Format     // publication
	down       *sfu.DownTrack        // subscription
	published  map[string]*sfu.Track // publication tracks by rid ("" without simulcast)
	alloc      *videoAlloc           // video subscription: congestion-control state
	demand     *layerDemand          // simulcast video publication: layers paused (dynacast)
	negotiated bool
}

// Transport is one PeerConnection and its operations. Negotiations are serialised; the
// PeerConnection is created by the first offer.
type Transport struct {
	cfg Config
	log *slog.Logger

	negMu sync.Mutex // serialises Offer

	mu         sync.Mutex
	pc         *webrtc.PeerConnection
	ops        map[string]*operation
	mids       map[string]*trackOp // live operations' mids
	controller string              // of the latest operation: receives transport-level events
	connected  bool
	failed     bool
	closed     bool
	allocating bool                  // the allocator runs
	demanding  bool                  // the dynacast loop runs
	bwe        cc.BandwidthEstimator // of pc (nil: congestion control off)
	twccSeen   atomic.Bool           // the client sent transport-wide-cc feedback
	remb       atomic.Uint64         // the client's latest REMB (bit/s)
	estPrev    int                   // allocator goroutine: the previous round's estimate
	estFellAt  time.Time             // allocator goroutine: when the estimate last fell
	trusted    int                   // allocator goroutine: the rate probes proved (bit/s)
	probe      *probe                // allocator goroutine: the running probe
	loggedAt   time.Time             // allocator goroutine: the last state logged
	done       chan struct{}         // closed by Close
	wg         sync.WaitGroup        // read loops, allocator
	retired    Totals                // counters of the subscriptions that ended (t.mu)
}

// New returns a transport without a PeerConnection.
func New(cfg Config) (*Transport, error) {
	if cfg.ID == "" || cfg.Engine == nil || cfg.Listener == nil {
		return nil, fmt.Errorf("%w: transport needs an id, an engine and a listener", ErrBadRequest)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.GatherTimeout <= 0 {
		cfg.GatherTimeout = DefaultGatherTimeout
	}
	return &Transport{cfg: cfg, log: cfg.Logger.With("transport", cfg.ID),
		ops: map[string]*operation{}, mids: map[string]*trackOp{}, done: make(chan struct{})}, nil
}

// ID returns the transport id.
func (t *Transport) ID() string { return t.cfg.ID }

// Controller returns the conference agent that receives transport-level events.
func (t *Transport) Controller() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.controller
}

// Operations returns the number of live operations.
func (t *Transport) Operations() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.ops)
}

// AddPublication registers a publication's tracks, keyed by mid, before the client offers.
func (t *Transport) AddPublication(opID, controller string, tracks []PubTrack) error {
	op := &operation{id: opID, controller: controller, publish: true}
	for _, pt := range tracks {
		op.tracks = append(op.tracks, &trackOp{op: op, mid: pt.Mid, kind: pt.Kind, formats: pt.Formats,
			published: map[string]*sfu.Track{}})
	}
	return t.addOperation(op)
}

// AddSubscription registers a subscription's tracks and attaches their down-tracks to the
// sources (packets flow once the client has negotiated).
func (t *Transport) AddSubscription(opID, controller string, tracks []SubTrack) error {
	op := &operation{id: opID, controller: controller}
	for _, st := range tracks {
		if st.Source == nil || st.Source.Kind() != st.Kind {
			return fmt.Errorf("%w: mid %s has no %s source", ErrBadRequest, st.Mid, st.Kind)
		}
		down := sfu.NewDownTrack(st.Kind.String()+"-"+st.Mid, opID, st.Source)
		to := &trackOp{op: op, mid: st.Mid, kind: st.Kind, down: down}
		if st.Kind == webrtc.RTPCodecTypeVideo {
			to.alloc = &videoAlloc{}
			if st.Chosen {
				to.alloc.ceiling = st.Source
			}
		}
		op.tracks = append(op.tracks, to)
	}
	if err := t.addOperation(op); err != nil {
		return err
	}
	t.mu.Lock()
	if !t.connected { // released by onState when ICE+DTLS are up
		for _, to := range op.tracks {
			to.down.Hold()
		}
	}
	t.mu.Unlock()
	for _, to := range op.tracks {
		to.down.Attach()
	}
	return nil
}

// addOperation checks ids and mids and registers op.
func (t *Transport) addOperation(op *operation) error {
	if op.id == "" || len(op.tracks) == 0 {
		return fmt.Errorf("%w: an operation needs an id and tracks", ErrBadRequest)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return ErrClosed
	case t.ops[op.id] != nil:
		return fmt.Errorf("%w: %s", ErrOperationExists, op.id)
	}
	seen := map[string]bool{}
	for _, to := range op.tracks {
		if to.mid == "" || seen[to.mid] || t.mids[to.mid] != nil {
			return fmt.Errorf("%w: %q", ErrMidInUse, to.mid)
		}
		if to.kind != webrtc.RTPCodecTypeAudio && to.kind != webrtc.RTPCodecTypeVideo {
			return fmt.Errorf("%w: mid %q has no media type", ErrBadRequest, to.mid)
		}
		seen[to.mid] = true
	}
	t.ops[op.id] = op
	t.controller = op.controller
	for _, to := range op.tracks {
		t.mids[to.mid] = to
	}
	return nil
}

// RemoveOperation ends an operation: a publication's tracks are unpublished, a
// subscription's down-tracks detached. Its m-sections stay in the PeerConnection until the
// client re-offers them closed; they are answered inactive meanwhile.
func (t *Transport) RemoveOperation(opID string) error {
	t.mu.Lock()
	op := t.ops[opID]
	if op == nil {
		t.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrOperationNotFound, opID)
	}
	delete(t.ops, opID)
	t.retireLocked(op)
	for _, to := range op.tracks {
		delete(t.mids, to.mid)
	}
	t.mu.Unlock()
	t.release(op)
	return nil
}

// release unpublishes or detaches an operation's tracks.
func (t *Transport) release(op *operation) {
	for _, to := range op.tracks {
		if to.down != nil {
			to.down.Detach()
		}
		for _, st := range t.publishedTracks(to) {
			st.Close()
			t.cfg.Listener.TrackUnpublished(st)
		}
	}
}

// publishedTracks copies a track op's publication tracks under the lock.
func (t *Transport) publishedTracks(to *trackOp) []*sfu.Track {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*sfu.Track, 0, len(to.published))
	for _, st := range to.published {
		out = append(out, st)
	}
	return out
}

// Control mutes/unmutes an operation's tracks of kind ("audio", "video" or "av") and/or
// re-points its video subscription to layer.
func (t *Transport) Control(opID, kind string, active *bool, layer *sfu.Track) error {
	t.mu.Lock()
	op := t.ops[opID]
	t.mu.Unlock()
	if op == nil {
		return fmt.Errorf("%w: %s", ErrOperationNotFound, opID)
	}
	if layer != nil {
		if err := t.switchLayer(op, layer); err != nil {
			return err
		}
	}
	if active == nil {
		return nil
	}
	for _, to := range op.tracks {
		if kind != "av" && kind != to.kind.String() {
			continue
		}
		if to.down != nil {
			to.down.SetActive(*active)
		}
		for _, st := range t.publishedTracks(to) {
			st.SetActive(*active)
		}
	}
	return nil
}

// switchLayer re-points the subscription's track of the layer's kind.
func (t *Transport) switchLayer(op *operation, layer *sfu.Track) error {
	for _, to := range op.tracks {
		if to.down != nil && to.kind == layer.Kind() {
			if err := to.down.Switch(layer); err != nil {
				return err
			}
			if to.alloc != nil {
				ceiling := t.ceilingFor(layer)
				t.mu.Lock()
				to.alloc.ceiling = ceiling
				t.mu.Unlock()
			}
			return nil
		}
	}
	return fmt.Errorf("%w: operation %s has no %s subscription to switch", ErrBadRequest, op.id, layer.Kind())
}

// Close closes the PeerConnection and releases every operation; it waits for the read
// loops to end. It is idempotent.
func (t *Transport) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	close(t.done)
	pc, ops := t.pc, t.ops
	for _, op := range ops {
		t.retireLocked(op)
	}
	t.ops, t.mids = map[string]*operation{}, map[string]*trackOp{}
	t.mu.Unlock()
	if pc != nil {
		if err := pc.GracefulClose(); err != nil {
			t.log.Debug("peer connection close", "error", err)
		}
	}
	for _, op := range ops {
		t.release(op)
	}
	t.wg.Wait()
}

// emit sends events to the listener (outside the lock).
func (t *Transport) emit(evs []pendingEvent) {
	for _, e := range evs {
		e.ev.TransportID = t.cfg.ID
		t.cfg.Listener.Event(e.controller, e.ev)
	}
}

// pendingEvent is an event collected under the lock and emitted after it.
type pendingEvent struct {
	controller string
	ev         protocol.RTCEvent
}

// controllerLocked returns the controller transport-level events go to: the conference
// agent that registered the latest operation.
func (t *Transport) controllerLocked() string { return t.controller }
