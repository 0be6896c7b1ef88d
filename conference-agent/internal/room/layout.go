package room

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

// Mixed-stream PATCH paths (owt-protocol.md §5.2).
const (
	pathLayout       = "/info/layout"
	pathLayoutPrefix = "/info/layout/"
	pathStreamSuffix = "/stream"
)

// runningMix returns the running mix of a view, or the error fail builds; r.mu is held.
func (r *Room) runningMix(view string, fail func(string) *errs.Error) (*mix, error) {
	m := r.mixByLabel(view)
	switch {
	case m == nil:
		return nil, fail(msgInvalidView + view)
	case r.deps.Mixing == nil:
		return nil, fail(msgMixingUnsupported)
	case m.pub == nil:
		return nil, fail(msgMixNotReady + view)
	}
	return m, nil
}

// isInput reports whether a forward stream is one of m's inputs; r.mu is held.
func (r *Room) isInput(m *mix, streamID string) bool {
	pub := r.pubs[streamID]
	return pub != nil && pub.ready && slices.Contains(m.order, streamID) && slices.Contains(pub.inViews, m.view.Label)
}

// getRegion answers stream-control get-region: the id of the region the stream occupies in
// the view's current layout.
func (r *Room) getRegion(streamID, view string) (string, error) {
	if err := r.lockOpen(); err != nil {
		return "", err
	}
	defer r.mu.Unlock()
	m, err := r.runningMix(view, failure)
	if err != nil {
		return "", err
	}
	for _, l := range m.layout {
		if l.Stream == streamID {
			return l.Region.ID, nil
		}
	}
	return "", failure(msgNotInView + view)
}

// setRegion moves a stream of the view into a region of its current layout (stream-control
// set-region, PATCH /info/layout/<n>/stream) with mix.region.
func (r *Room) setRegion(ctx context.Context, streamID, view, region string, fail func(string) *errs.Error) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	m, err := r.runningMix(view, fail)
	if err == nil && !r.isInput(m, streamID) {
		err = fail(msgNotInView + view)
	}
	if err == nil && !slices.ContainsFunc(m.layout, func(l protocol.LayoutRegion) bool { return l.Region.ID == region }) {
		err = fail(msgInvalidRegion + region)
	}
	if err != nil {
		r.mu.Unlock()
		return err
	}
	agent := m.agent
	r.mu.Unlock()
	state, err := r.deps.Mixing.MixRegion(ctx, agent, protocol.MixRegion{ID: m.id, Stream: streamID, Region: region})
	if err != nil {
		return fail(errs.As(err).Message)
	}
	r.applyAnswer(m, agent, state)
	return nil
}

// applyAnswer applies the state a mixing agent answered, if it still runs the mix.
func (r *Room) applyAnswer(m *mix, agent string, state protocol.MixState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed && m.agent == agent {
		r.applyMixState(m, state)
	}
}

// applyMixedOp applies one PATCH operation to a mixed stream: replace /info/layout (a whole
// layout, mix.layout) or /info/layout/<n>/stream (mix.region with the n-th region).
// Forward-stream paths answer `Stream is Mixed`.
func (r *Room) applyMixedOp(ctx context.Context, id string, op protocol.PatchOp) error {
	if op.Path == pathLayout {
		if op.Op != "replace" {
			return errs.BadRequest("Invalid layout update op: " + op.Op)
		}
		layout, err := parseLayout(op.Value)
		if err != nil {
			return err
		}
		return r.setMixLayout(ctx, id, layout)
	}
	if rest, ok := strings.CutPrefix(op.Path, pathLayoutPrefix); ok {
		n, ok := strings.CutSuffix(rest, pathStreamSuffix)
		index, err := strconv.Atoi(n)
		var stream string
		if !ok || err != nil || index < 0 || op.Op != "replace" || json.Unmarshal(op.Value, &stream) != nil || !validLabel(stream) {
			return errs.BadRequest("Invalid region update: " + op.Path)
		}
		return r.setRegionAt(ctx, id, index, stream)
	}
	if strings.HasPrefix(op.Path, "/info/") || strings.HasPrefix(op.Path, "/media/") {
		return badRequest(msgStreamIsMixed)
	}
	return errs.BadRequest("Invalid stream update path: " + op.Path)
}

// setRegionAt puts stream into the index-th region of the mixed stream id's current layout.
func (r *Room) setRegionAt(ctx context.Context, id string, index int, stream string) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	m := r.mixOf(id)
	if m == nil || m.pub == nil {
		r.mu.Unlock()
		return streamNotFound()
	}
	if index >= len(m.layout) {
		r.mu.Unlock()
		return badRequest(msgRegionIndex)
	}
	region, view := m.layout[index].Region.ID, m.view.Label
	r.mu.Unlock()
	return r.setRegion(ctx, stream, view, region, badRequest)
}

// setMixLayout replaces the layout of the mixed stream id (mix.layout): every named stream
// must be an input of the view.
func (r *Room) setMixLayout(ctx context.Context, id string, layout []protocol.LayoutRegion) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	m := r.mixOf(id)
	if m == nil || m.pub == nil {
		r.mu.Unlock()
		return streamNotFound()
	}
	for _, l := range layout {
		if l.Stream != "" && !r.isInput(m, l.Stream) {
			r.mu.Unlock()
			return badRequest(msgLayoutNotInput + l.Stream)
		}
	}
	agent := m.agent
	r.mu.Unlock()
	state, err := r.deps.Mixing.MixLayout(ctx, agent, protocol.MixLayout{ID: id, Layout: layout})
	if err != nil {
		return mixRefusal(err)
	}
	r.applyAnswer(m, agent, state)
	return nil
}

// parseLayout decodes and checks a PATCH /info/layout value: a list of {stream?, region: {id,
// shape, area}} with distinct region ids and streams, rectangle regions whose area values
// are fractions in [0, 1], and empty regions only at the end (OWT's LayoutUpdate rule).
func parseLayout(value json.RawMessage) ([]protocol.LayoutRegion, error) {
	var layout []protocol.LayoutRegion
	if err := strictJSON(value, &layout); err != nil || len(layout) == 0 || len(layout) > model.MaxRegions {
		return nil, errs.BadRequest(msgInvalidLayout)
	}
	ids := map[string]bool{}
	streams := map[string]bool{}
	empty := false
	for _, l := range layout {
		reg := l.Region
		if !validLabel(reg.ID) || ids[reg.ID] || reg.Shape != model.ShapeRectangle || !validArea(reg.Area) {
			return nil, errs.BadRequest(msgInvalidLayout)
		}
		ids[reg.ID] = true
		switch {
		case l.Stream == "":
			empty = true
		case empty || streams[l.Stream] || len(l.Stream) > maxLabelLength:
			return nil, errs.BadRequest(msgInvalidLayout)
		default:
			streams[l.Stream] = true
		}
	}
	return layout, nil
}

// validArea reports whether every side of an area is a fraction in [0, 1].
func validArea(a model.Area) bool {
	for _, f := range []model.Fraction{a.Left, a.Top, a.Width, a.Height} {
		if _, ok := f.Float(); !ok {
			return false
		}
	}
	return true
}
