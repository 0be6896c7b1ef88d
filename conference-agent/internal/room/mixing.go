package room

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/common/store"
)

// PurposeMixing is the cluster purpose of the agents running mixes and transcodes.
const PurposeMixing = cluster.PurposeMixing

// Mixed stream constants (owt-protocol.md §4.4, §6.1).
const (
	streamMixed   = "mixed"
	infoMixed     = "mixed"   // publication.infoType of a mixed stream
	sourceMixed   = "mixed"   // track source of a mixed stream
	activeUnknown = "unknown" // activeInput before any voice activity
	restartSuffix = "-restart"
)

// MixedStreamID is the id of a view's mixed stream: <roomId>-<label> (OWT).
func MixedStreamID(roomID, label string) string { return roomID + "-" + label }

// mix is the mixed stream of one view. Its publication exists once the mixing agent started
// it; the inputs are the forward streams whose info.inViews holds the label, in the order
// they were added to the view (which fills the layout's regions).
type mix struct {
	view     model.View
	id       string
	agent    string
	pub      *publication // nil until started, and after it failed for good
	order    []string     // stream ids in arrival order (ready or not)
	layout   []protocol.LayoutRegion
	active   string
	sent     []string // stream ids of the last inputs the agent accepted
	dirty    bool     // inputs may differ from sent
	syncing  bool     // a goroutine is sending mix.inputs
	starting bool     // mix.start (or a restart) in flight
}

// mixedInfo is the `info` of a mixed stream.
type mixedInfo struct {
	Label       string                  `json:"label"`
	ActiveInput string                  `json:"activeInput"`
	Layout      []protocol.LayoutRegion `json:"layout"`
}

// mixOf returns the mix whose stream id is id; r.mu is held.
func (r *Room) mixOf(id string) *mix {
	for _, m := range r.mixes {
		if m.id == id {
			return m
		}
	}
	return nil
}

// mixByLabel returns the mix of a view; r.mu is held.
func (r *Room) mixByLabel(label string) *mix {
	for _, m := range r.mixes {
		if m.view.Label == label {
			return m
		}
	}
	return nil
}

// streamByID returns a ready-or-pending forward stream or a live mixed stream; r.mu is held.
func (r *Room) streamByID(id string) *publication {
	if pub := r.pubs[id]; pub != nil {
		return pub
	}
	if m := r.mixOf(id); m != nil {
		return m.pub
	}
	return nil
}

// liveMixes returns the mixed streams that exist, in view order; r.mu is held.
func (r *Room) liveMixes() []*publication {
	var out []*publication
	for _, m := range r.mixes {
		if m.pub != nil {
			out = append(out, m.pub)
		}
	}
	return out
}

// startMixes starts the mix of every view that has none (OWT initialises the mixers when the
// room is loaded). It runs before a join is applied and does not wait for a mixing agent that
// is not registered: then it logs once and a later join tries again.
func (r *Room) startMixes(ctx context.Context) {
	todo, reqs := r.mixesToStart()
	if len(todo) == 0 {
		return
	}
	if r.deps.HasWorker != nil && !r.deps.HasWorker(PurposeMixing) {
		r.mu.Lock()
		if !r.mixNoAgent {
			r.mixNoAgent = true
			r.log.Warn("no mixing agent registered: mixed streams are not available yet", "views", len(todo))
		}
		for _, m := range todo {
			m.starting = false
		}
		r.mu.Unlock()
		return
	}
	for i, m := range todo {
		agent, state, err := r.launchMix(ctx, m.id, reqs[i])
		r.mixStarted(m, agent, state, err)
	}
}

// RetryMixes starts the mixes of views that waited for a mixing agent once one is
// registered, so that a room that went live before any mixing agent announced itself (the
// all-in-one's mixing agent may register a moment after the others) gets its mixed streams
// without waiting for another join. The agent calls it periodically; it waits for the starts.
func (r *Room) RetryMixes(ctx context.Context) {
	r.mu.Lock()
	waiting := r.mixNoAgent && !r.closed
	r.mu.Unlock()
	if !waiting || r.deps.HasWorker == nil || !r.deps.HasWorker(PurposeMixing) {
		return
	}
	r.mu.Lock()
	r.mixNoAgent = false
	r.mu.Unlock()
	r.startMixes(ctx)
}

// mixesToStart marks the views without a mix as starting and returns their start requests.
func (r *Room) mixesToStart() ([]*mix, []protocol.MixStart) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.deps.Mixing == nil {
		return nil, nil
	}
	var todo []*mix
	var reqs []protocol.MixStart
	for _, m := range r.mixes {
		if m.pub != nil || m.starting {
			continue
		}
		m.starting = true
		todo = append(todo, m)
		reqs = append(reqs, r.mixStartReq(m))
	}
	return todo, reqs
}

// mixStartReq builds mix.start for m with its current inputs; r.mu is held.
func (r *Room) mixStartReq(m *mix) protocol.MixStart {
	inputs, ids := r.mixInputs(m)
	m.sent, m.dirty = ids, false
	return protocol.MixStart{ID: m.id, RoomID: r.id, Controller: r.deps.Controller, View: m.view, Inputs: inputs}
}

// launchMix schedules a mixing agent for task and starts the mix there; a failed start is
// followed by a stop, in case the agent set something up.
func (r *Room) launchMix(ctx context.Context, task string, req protocol.MixStart) (string, protocol.MixState, error) {
	w, err := r.deps.Scheduler.Schedule(ctx, PurposeMixing, task, store.Preference{})
	if err != nil {
		return "", protocol.MixState{}, err
	}
	state, err := r.deps.Mixing.MixStart(ctx, w.ID, req)
	if err == nil && len(state.Tracks) == 0 {
		err = errNoMixTracks
	}
	if err != nil {
		r.deps.Mixing.Stop(w.ID, protocol.MethodMixStop, req.ID)
		return "", protocol.MixState{}, err
	}
	return w.ID, state, nil
}

// mixStarted records a started mix as the view's mixed stream and announces it (`stream
// add`), or logs why it did not start.
func (r *Room) mixStarted(m *mix, agent string, state protocol.MixState, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m.starting = false
	if err != nil {
		r.log.Warn("mix did not start", "stream", m.id, "err", err)
		return
	}
	if r.closed {
		r.deps.Mixing.Stop(agent, protocol.MethodMixStop, m.id)
		return
	}
	m.agent = agent
	m.pub = &publication{
		id: m.id, agent: agent, infoType: infoMixed, tracks: mixTracks(state.Tracks),
		inViews: []string{}, muted: map[string]bool{}, complete: true, ready: true, announced: true,
	}
	m.layout, m.active = nonNilLayout(state.Layout), or(state.ActiveInput, activeUnknown)
	r.log.Info("mix started", "stream", m.id, "agent", agent, "tracks", len(m.pub.tracks))
	if r.cfg.Notifying.StreamChange {
		r.broadcast(protocol.EventStream, protocol.StreamEvent{ID: m.id, Status: "add", Data: r.streamInfo(m.pub)})
	}
	r.kickMix(m)
}

// mixTracks converts the mixing agent's tracks; the agent's ids stay internal.
func mixTracks(tracks []protocol.RTCTrack) []protocol.TrackInfo {
	out := make([]protocol.TrackInfo, 0, len(tracks))
	for _, t := range tracks {
		out = append(out, protocol.TrackInfo{
			ID: t.ID, Type: t.Type, Source: sourceMixed, Format: t.Format, Parameters: t.Parameters, Status: statusActive,
		})
	}
	return out
}

func nonNilLayout(l []protocol.LayoutRegion) []protocol.LayoutRegion {
	if l == nil {
		return []protocol.LayoutRegion{}
	}
	return l
}

// mixInputs lists m's inputs: the ready streams in the view, in arrival order; r.mu is held.
func (r *Room) mixInputs(m *mix) ([]protocol.MixInput, []string) {
	inputs := []protocol.MixInput{}
	ids := []string{}
	for _, id := range m.order {
		pub := r.pubs[id]
		if pub == nil || !pub.ready || !slices.Contains(pub.inViews, m.view.Label) {
			continue
		}
		in := protocol.MixInput{StreamID: id}
		if _, src, ok := r.sourceTrack(kindAudio, id); ok {
			in.Audio = &protocol.SessionTrack{Source: r.trackRef(pub, src.ID), Format: src.Format}
		}
		if _, src, ok := r.sourceTrack(kindVideo, id); ok && m.view.Video != nil {
			in.Video = &protocol.SessionTrack{Source: r.trackRef(pub, src.ID), Format: src.Format, Parameters: src.Parameters}
		}
		if in.Audio == nil && in.Video == nil {
			continue
		}
		inputs = append(inputs, in)
		ids = append(ids, id)
	}
	return inputs, ids
}

// kickMix makes sure a goroutine sends m's inputs if they changed; r.mu is held.
func (r *Room) kickMix(m *mix) {
	m.dirty = true
	if m.pub == nil || m.syncing || r.closed {
		return
	}
	m.syncing = true
	r.bgWG.Add(1)
	go r.syncMix(m)
}

// syncMix sends mix.inputs until the agent has m's current inputs (at most one goroutine per
// mix, so the agent sees the changes in order), outside the room's lock.
func (r *Room) syncMix(m *mix) {
	defer r.bgWG.Done()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if r.closed || m.pub == nil || !m.dirty {
			m.syncing = false
			return
		}
		m.dirty = false
		inputs, ids := r.mixInputs(m)
		if slices.Equal(ids, m.sent) {
			continue
		}
		agent := m.agent
		r.mu.Unlock()
		state, err := r.deps.Mixing.MixInputs(r.bg, agent, protocol.MixInputs{ID: m.id, Inputs: inputs})
		r.mu.Lock()
		if err != nil {
			r.log.Warn("mix inputs not updated", "stream", m.id, "agent", agent, "err", err)
			continue // the next change retries with the then current inputs
		}
		if m.agent == agent {
			m.sent = ids
			r.applyMixState(m, state)
		}
	}
}

// applyMixState caches the layout and active input an agent answered, telling everyone about
// changes; r.mu is held.
func (r *Room) applyMixState(m *mix, state protocol.MixState) {
	r.setLayout(m, state.Layout)
	if state.ActiveInput != "" {
		r.setActiveInput(m, state.ActiveInput)
	}
}

// setLayout records a new layout of m and sends `stream update` {field: 'video.layout'}
// (owt-protocol.md §4.4) if it changed; r.mu is held.
func (r *Room) setLayout(m *mix, layout []protocol.LayoutRegion) {
	layout = nonNilLayout(layout)
	if m.pub == nil || slices.Equal(layout, m.layout) {
		return
	}
	m.layout = layout
	r.streamUpdate(m.id, "video.layout", layout)
}

// setActiveInput records the loudest input of m and sends `stream update` {field:
// 'activeInput'} if it changed; r.mu is held.
func (r *Room) setActiveInput(m *mix, id string) {
	if m.pub == nil || id == m.active {
		return
	}
	m.active = id
	r.streamUpdate(m.id, "activeInput", id)
}

// streamUpdate broadcasts a `stream update`; r.mu is held.
func (r *Room) streamUpdate(id, field string, value any) {
	if r.cfg.Notifying.StreamChange {
		r.broadcast(protocol.EventStream, protocol.StreamEvent{ID: id, Status: "update",
			Data: protocol.StreamUpdate{Field: field, Value: value}})
	}
}

// mixMembership records a stream joining or leaving a view's inputs; r.mu is held.
func (r *Room) mixMembership(streamID, label string, add bool) {
	m := r.mixByLabel(label)
	if m == nil {
		return
	}
	i := slices.Index(m.order, streamID)
	switch {
	case add && i < 0:
		m.order = append(m.order, streamID)
	case !add && i >= 0:
		m.order = slices.Delete(m.order, i, i+1)
	default:
		return
	}
	r.kickMix(m)
}

// streamAvailable runs when a forward stream becomes ready: with autoMix it joins the first
// view, and the views it is in get it as an input; r.mu is held.
func (r *Room) streamAvailable(pub *publication) {
	if r.cfg.AutoMix && len(r.cfg.Views) > 0 {
		label := r.cfg.Views[0].Label
		if !slices.Contains(pub.inViews, label) {
			pub.inViews = append(pub.inViews, label)
			r.mixMembership(pub.id, label, true)
		}
	}
	for _, label := range pub.inViews {
		if m := r.mixByLabel(label); m != nil {
			r.kickMix(m)
		}
	}
}

// dropFromMixes removes an ended stream from every view's inputs; r.mu is held.
func (r *Room) dropFromMixes(pub *publication) {
	for _, m := range r.mixes {
		if slices.Contains(m.order, pub.id) {
			r.mixMembership(pub.id, m.view.Label, false)
		}
	}
}

// stopMixesLocked stops every mix (the room closes) and ends the background calls; r.mu is
// held.
func (r *Room) stopMixesLocked() {
	for _, m := range r.mixes {
		if m.pub != nil {
			r.deps.Mixing.Stop(m.agent, protocol.MethodMixStop, m.id)
			m.pub = nil
		}
	}
	r.stopBg()
}

// HandleMix applies an event of one of the room's mixes or transcodes (protocol.MixEvent). It
// reports whether the room knows the session.
func (r *Room) HandleMix(ev protocol.MixEvent) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	if m := r.mixOf(ev.ID); m != nil && m.pub != nil && (ev.Agent == "" || ev.Agent == m.agent) {
		r.mixEvent(m, ev)
		return true
	}
	return r.xcodeEvent(ev)
}

// mixEvent applies an event to a running mix; r.mu is held.
func (r *Room) mixEvent(m *mix, ev protocol.MixEvent) {
	switch ev.Type {
	case protocol.MixEventLayout:
		r.setLayout(m, ev.Layout)
	case protocol.MixEventActiveInput:
		if ev.ActiveInput != "" {
			r.setActiveInput(m, ev.ActiveInput)
		}
	case protocol.MixEventFailed:
		r.mixFailed(m, or(ev.Reason, msgMixFailed))
	default:
		r.log.Debug("unknown mix event", "type", ev.Type, "stream", m.id)
	}
}

// mixFailed handles a mix that ended on its own: what it fed (subscriptions, recordings,
// streaming-outs) ends with `Source stream loss`, and the mix is restarted once on a mixing
// agent picked afresh (each failure of a running mix gets one attempt); r.mu is held.
func (r *Room) mixFailed(m *mix, reason string) {
	r.log.Warn("mix failed", "stream", m.id, "agent", m.agent, "reason", reason)
	r.endDependents(m.id)
	if m.starting { // a restart is already in flight
		return
	}
	m.starting = true
	req := r.mixStartReq(m)
	r.bgWG.Add(1)
	go r.restartMix(m, req)
}

// endDependents ends the subscriptions and sessions taking media from stream; r.mu is held.
func (r *Room) endDependents(stream string) {
	for _, s := range r.sortedSubs() {
		if s.dependsOn(stream) {
			r.endSubscription(s, msgSourceLoss, true)
		}
	}
	r.endSessionsOf(stream)
}

// restartMix starts a failed mix again (scheduled as a new task, so the reservation of the
// failed agent does not apply); if that fails the mixed stream is removed.
func (r *Room) restartMix(m *mix, req protocol.MixStart) {
	defer r.bgWG.Done()
	agent, state, err := r.launchMix(r.bg, m.id+restartSuffix, req)
	r.mu.Lock()
	defer r.mu.Unlock()
	m.starting = false
	if r.closed {
		if err == nil {
			r.deps.Mixing.Stop(agent, protocol.MethodMixStop, m.id)
		}
		return
	}
	if err != nil {
		r.log.Warn("mix restart failed", "stream", m.id, "err", err)
		r.removeMix(m)
		return
	}
	r.log.Info("mix restarted", "stream", m.id, "agent", agent)
	m.agent, m.pub.agent, m.pub.tracks = agent, agent, mixTracks(state.Tracks)
	r.applyMixState(m, state)
	r.kickMix(m)
}

// removeMix removes a mixed stream that cannot run (`stream remove`); a later join starts it
// again; r.mu is held.
func (r *Room) removeMix(m *mix) {
	if m.pub == nil {
		return
	}
	r.deps.Mixing.Stop(m.agent, protocol.MethodMixStop, m.id)
	m.pub, m.agent, m.sent, m.layout = nil, "", nil, nil
	r.endDependents(m.id)
	if r.cfg.Notifying.StreamChange {
		r.broadcast(protocol.EventStream, protocol.StreamEvent{ID: m.id, Status: "remove"})
	}
}

// failMixAgents fails the mixes and transcodes of mixing agents alive reports gone; r.mu is
// held.
func (r *Room) failMixAgents(alive func(string) bool) {
	for _, m := range r.mixes {
		if m.pub != nil && !m.starting && !alive(m.agent) {
			r.mixFailed(m, msgMixAgentLost)
		}
	}
	for _, s := range r.sortedSubs() {
		for _, t := range s.tracks {
			if t.xcodeID != "" && !alive(t.xcodeAgent) {
				r.endSubscription(s, msgMixAgentLost, true)
				break
			}
		}
	}
	r.failSessionXcodes(alive)
}

// mixedStreamInfo is the `info` of a mixed stream; r.mu is held.
func (r *Room) mixedStreamInfo(pub *publication) json.RawMessage {
	m := r.mixOf(pub.id)
	info := mixedInfo{Label: "", ActiveInput: activeUnknown, Layout: []protocol.LayoutRegion{}}
	if m != nil {
		info = mixedInfo{Label: m.view.Label, ActiveInput: or(m.active, activeUnknown), Layout: nonNilLayout(m.layout)}
	}
	b, _ := json.Marshal(info)
	return b
}
