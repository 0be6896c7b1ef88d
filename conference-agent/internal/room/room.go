// Package room is the state and policy of one live room: its participants (and the portal
// holding each), publications, subscriptions and the WebRTC transports they use. It decides
// what OWT's agent/conference/conference.js decides (owt-protocol.md §4.3–4.8, §6) and talks
// to the outside only through the small interfaces of Deps, so it is tested without a bus.
//
// Concurrency: one mutex per room guards its state. RPCs to webrtc agents and scheduling are
// made without holding it: an operation is first recorded as pending under the lock, the RPC
// runs, and the result is applied under the lock again. Notices are queued under the lock,
// so their order is the order of the state changes.
package room

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/common/store"
)

// PurposeWebRTC is the cluster purpose of the agents holding transports.
const PurposeWebRTC = cluster.PurposeWebRTC

// MaxTextLength caps a text or chat message (protocol.MaxTextLength).
const MaxTextLength = protocol.MaxTextLength

// MaxTransportsPerParticipant caps the PeerConnections one participant may hold (a 1.1
// client uses one per publication and subscription).
const MaxTransportsPerParticipant = 64

// streamAddDelay is OWT's delay between a publication becoming ready and its `stream add`.
const streamAddDelay = 10 * time.Millisecond

// RTC is the conference's view of the webrtc agents (package rtc).
type RTC interface {
	Publish(ctx context.Context, agent string, req protocol.RTCPublish) error
	Subscribe(ctx context.Context, agent string, req protocol.RTCSubscribe) error
	Signaling(ctx context.Context, agent string, req protocol.RTCSignaling) error
	Control(ctx context.Context, agent string, req protocol.RTCControl) error
	// Stats returns the congestion-control state of transports on agent.
	Stats(ctx context.Context, agent string, req protocol.RTCStatsRequest) (protocol.RTCStats, error)
	// Terminate ends an operation (or the transport when OperationID is empty) without
	// blocking.
	Terminate(agent string, op protocol.RTCOperation)
}

// SessionAgents is the conference's view of the recording and streaming agents (package
// sessions). Start calls block until the session runs; Stop never blocks.
type SessionAgents interface {
	RecStart(ctx context.Context, agent string, req protocol.RecStart) (protocol.SessionStarted, error)
	OutStart(ctx context.Context, agent string, req protocol.OutStart) (protocol.SessionStarted, error)
	InStart(ctx context.Context, agent string, req protocol.InStart) (protocol.InStarted, error)
	// Update sends rec.update or out.update.
	Update(ctx context.Context, agent, method string, req protocol.SessionUpdate) error
	// Stop queues rec.stop, out.stop or in.stop.
	Stop(agent, method, id string)
	// StopWait sends rec.stop, out.stop or in.stop and waits for the agent's answer.
	StopWait(ctx context.Context, agent, method, id string) error
}

// MixAgents is the conference's view of the mixing agents (package mixing). Calls block until
// the agent answered; Stop never blocks.
type MixAgents interface {
	MixStart(ctx context.Context, agent string, req protocol.MixStart) (protocol.MixState, error)
	MixInputs(ctx context.Context, agent string, req protocol.MixInputs) (protocol.MixState, error)
	MixLayout(ctx context.Context, agent string, req protocol.MixLayout) (protocol.MixState, error)
	MixRegion(ctx context.Context, agent string, req protocol.MixRegion) (protocol.MixState, error)
	XcodeStart(ctx context.Context, agent string, req protocol.XcodeStart) (protocol.XcodeStarted, error)
	// Stop queues mix.stop or xcode.stop.
	Stop(agent, method, id string)
}

// Notifier delivers a client event to participants held by one portal, in call order,
// without blocking (package notify).
type Notifier interface {
	Notify(portal string, participants []string, event string, data any)
}

// Scheduler places transports on webrtc agents (*cluster.Registry).
type Scheduler interface {
	Schedule(ctx context.Context, purpose, task string, pref store.Preference) (cluster.Worker, error)
	// Forget drops a worker found unreachable, so that it is not scheduled again.
	Forget(worker string)
}

// TransportIndex lets the agent route RTCEvents (which carry a transport id) to the room.
type TransportIndex interface {
	// Bind records the transport as this room's; false if another room already holds the id.
	Bind(transportID string) bool
	Unbind(transportID string)
}

// Deps are a room's collaborators. Now, AfterFunc, Index and Sessions may be nil (without
// Sessions every server-side session add fails).
type Deps struct {
	Controller string // this conference agent's worker id
	RTC        RTC
	Sessions   SessionAgents
	Notify     Notifier
	Scheduler  Scheduler
	Index      TransportIndex
	Log        *slog.Logger
	Now        func() time.Time
	// AfterFunc runs f after d (time.AfterFunc by default); the 10 ms `stream add` delay.
	AfterFunc func(d time.Duration, f func())
	// Mixing reaches the mixing agents; nil means no mixed streams and no transcoding.
	Mixing MixAgents
	// Chat persists the chat history; nil keeps it in memory only. ChatLimits bounds it.
	Chat       ChatStore
	ChatLimits ChatLimits
	// HasWorker reports whether an agent of a purpose is registered now, so a join does not
	// wait for a mixing agent that does not exist; nil means "ask the Scheduler".
	HasWorker func(purpose string) bool
}

// participant is a joined client.
type participant struct {
	seq      uint64
	info     protocol.ParticipantInfo
	portal   string
	origin   store.Preference
	protocol string
	perm     protocol.Permission
	moderate bool // the role may delete anyone's chat message
}

// transport is one WebRTC PeerConnection of a participant, on one webrtc agent.
type transport struct {
	id     string
	owner  string
	agent  string // "" until scheduled
	ready  bool   // ICE+DTLS up
	legacy bool   // protocol 1.1: one operation per transport
	ops    map[string]bool
}

// publication is a forward stream: published over WebRTC (on a transport) or pulled by a
// streaming agent (streaming-in: no transport, agent set).
type publication struct {
	seq        uint64
	id         string
	owner      string
	transport  string
	agent      string           // streaming-in: the streaming agent holding the tracks
	infoType   string           // info.type: "webrtc" or "streaming"
	origin     store.Preference // where the media enters (scheduling preference of its sessions)
	requested  []protocol.PubTrack
	attributes []byte
	data       bool
	tracks     []protocol.TrackInfo
	inViews    []string
	complete   bool // every track set up on the agent
	ready      bool // complete and transport ready: the stream exists
	announced  bool // `stream add` sent
	muted      map[string]bool
}

// subTrack is one track of a subscription and the source it currently forwards.
type subTrack struct {
	kind   string
	mid    string
	stream string // source stream id
	source protocol.TrackRef
	format protocol.Format
	params *protocol.VideoParameters
	layers []protocol.TrackRef
	chosen bool // the subscriber named the layer (a track id): a ceiling, not a default
	// xcode is the pending transcode of a track asking for something in the source's
	// optional capabilities; once started, source is the transcoded track on xcodeAgent.
	xcode      *protocol.XcodeStart
	xcodeAgent string
	xcodeID    string
}

// subscription is a participant's WebRTC subscription.
type subscription struct {
	id        string
	owner     string
	transport string
	tracks    []subTrack
	complete  bool
	ready     bool
}

// Room is one live room.
type Room struct {
	id   string
	cfg  model.Room
	deps Deps
	log  *slog.Logger

	mu           sync.Mutex
	closed       bool
	seq          uint64
	participants map[string]*participant
	transports   map[string]*transport
	pubs         map[string]*publication
	subs         map[string]*subscription
	sessions     map[string]*session // recordings and streaming-outs
	idleSince    time.Time
	mixes        []*mix // one per view, in the configuration's order
	mixNoAgent   bool   // "no mixing agent" was logged (once per room)

	// chatMu serialises chat changes across their store writes (taken before mu). chat is
	// the history in id order and chatBytes the size of its contents: changed with both
	// locks held, read with either.
	chatMu     sync.Mutex
	chat       []store.ChatMessage
	chatBytes  int
	chatStore  ChatStore
	chatLimits ChatLimits

	// bg bounds the room's background calls to mixing agents (input updates, restarts); it
	// ends when the room closes. bgWG counts those goroutines.
	bg     context.Context
	stopBg context.CancelFunc
	bgWG   sync.WaitGroup
}

// New returns the live state of the room id configured by cfg.
func New(id string, cfg model.Room, deps Deps) *Room {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.AfterFunc == nil {
		deps.AfterFunc = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	if deps.Index == nil {
		deps.Index = noIndex{}
	}
	if deps.Sessions == nil {
		deps.Sessions = noSessions{}
	}
	if deps.Chat == nil {
		deps.Chat = memoryChat{}
	}
	r := &Room{
		id: id, cfg: cfg, deps: deps, log: deps.Log.With("room", id),
		participants: map[string]*participant{},
		transports:   map[string]*transport{},
		pubs:         map[string]*publication{},
		subs:         map[string]*subscription{},
		sessions:     map[string]*session{},
		idleSince:    deps.Now(),
		chatStore:    deps.Chat,
		chatLimits:   deps.ChatLimits.withDefaults(),
	}
	r.bg, r.stopBg = context.WithCancel(context.Background())
	for _, v := range cfg.Views {
		r.mixes = append(r.mixes, &mix{view: v, id: MixedStreamID(id, v.Label)})
	}
	return r
}

// noIndex is the TransportIndex of rooms nobody routes events to.
type noIndex struct{}

func (noIndex) Bind(string) bool { return true }
func (noIndex) Unbind(string)    {}

// ID returns the room id.
func (r *Room) ID() string { return r.id }

// nextSeq returns the next creation sequence number; r.mu is held.
func (r *Room) nextSeq() uint64 {
	r.seq++
	return r.seq
}

// lockOpen locks the room, failing with the not-owner error once the room is closed.
func (r *Room) lockOpen() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return notOwner()
	}
	return nil
}

// sortedParticipants returns the participants in join order; r.mu is held.
func (r *Room) sortedParticipants() []*participant {
	out := make([]*participant, 0, len(r.participants))
	for _, p := range r.participants {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *participant) int { return cmpSeq(a.seq, b.seq) })
	return out
}

// sortedPubs returns the publications in creation order; r.mu is held.
func (r *Room) sortedPubs() []*publication {
	out := make([]*publication, 0, len(r.pubs))
	for _, p := range r.pubs {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *publication) int { return cmpSeq(a.seq, b.seq) })
	return out
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// broadcast sends event to every participant except those in skip, one notice per portal;
// r.mu is held.
func (r *Room) broadcast(event string, data any, skip ...string) {
	byPortal := map[string][]string{}
	var portals []string
	for _, p := range r.sortedParticipants() {
		if slices.Contains(skip, p.info.ID) {
			continue
		}
		if _, ok := byPortal[p.portal]; !ok {
			portals = append(portals, p.portal)
		}
		byPortal[p.portal] = append(byPortal[p.portal], p.info.ID)
	}
	for _, portal := range portals {
		r.deps.Notify.Notify(portal, byPortal[portal], event, data)
	}
}

// send delivers event to one participant; r.mu is held.
func (r *Room) send(participantID, event string, data any) {
	if p := r.participants[participantID]; p != nil {
		r.deps.Notify.Notify(p.portal, []string{p.info.ID}, event, data)
	}
}

// touch records the moment the room became idle; r.mu is held.
func (r *Room) touch() {
	if !r.idleLocked() {
		r.idleSince = time.Time{}
	} else if r.idleSince.IsZero() {
		r.idleSince = r.deps.Now()
	}
}

// idleLocked reports whether nothing keeps the room alive; r.mu is held.
func (r *Room) idleLocked() bool {
	return len(r.participants) == 0 && len(r.pubs) == 0 && len(r.subs) == 0 && !r.hasLiveSessions()
}

// CleanDue reports whether the room has been idle for at least grace (OWT selfClean: 30 s).
func (r *Room) CleanDue(grace time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.closed && r.idleLocked() && !r.idleSince.IsZero() && r.deps.Now().Sub(r.idleSince) >= grace
}

// CloseIfIdle closes the room if it is still idle, and reports whether it did. A closed room
// answers every request with the not-owner error.
func (r *Room) CloseIfIdle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || !r.idleLocked() {
		return false
	}
	r.closed = true
	r.stopMixesLocked()
	return true
}

// Closed reports whether the room was closed.
func (r *Room) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}
