package agent

import (
	"context"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// handle is the agent's RPC endpoint.
func (a *Agent) handle(_ context.Context, req bus.Request) (any, error) {
	switch req.Method {
	case protocol.MethodMixStart:
		return call(req, a.mixStart)
	case protocol.MethodMixInputs:
		return call(req, func(r protocol.MixInputs) (any, error) {
			return withMix(a, r.ID, func(s *mixSession) (any, error) { return s.setInputs(r.Inputs) })
		})
	case protocol.MethodMixLayout:
		return call(req, func(r protocol.MixLayout) (any, error) {
			return withMix(a, r.ID, func(s *mixSession) (any, error) { return s.setLayout(r.Layout) })
		})
	case protocol.MethodMixRegion:
		return call(req, func(r protocol.MixRegion) (any, error) {
			return withMix(a, r.ID, func(s *mixSession) (any, error) { return s.setRegion(r.Stream, r.Region) })
		})
	case protocol.MethodMixStop:
		return call(req, func(r protocol.SessionStop) (any, error) { return "ok", a.stopSession(r.ID, true) })
	case protocol.MethodXcodeStart:
		return call(req, a.xcodeStart)
	case protocol.MethodXcodeStop:
		return call(req, func(r protocol.SessionStop) (any, error) { return "ok", a.stopSession(r.ID, false) })
	case protocol.MethodRTCExport:
		return call(req, a.export)
	}
	return nil, errs.BadRequestf("unknown method %q", req.Method)
}

// call decodes the request body into T and calls f, typing its error for the bus.
func call[T any](req bus.Request, f func(T) (any, error)) (any, error) {
	return bus.HandleAs(req, f, toRPCError)
}

// withMix runs f on the mix session id.
func withMix(a *Agent, id string, f func(*mixSession) (any, error)) (any, error) {
	s, ok := a.lookup(id).(*mixSession)
	if !ok {
		return nil, errSessionNotFound("Mix", id)
	}
	return f(s)
}

// mixStart creates an idle mix session (mix.start): its layout is computed and its tracks
// exported at once; media starts flowing when the first consumer imports a track.
func (a *Agent) mixStart(r protocol.MixStart) (any, error) {
	if err := a.admit(r.ID); err != nil {
		return nil, err
	}
	s, err := a.newMixSession(r)
	if err != nil {
		return nil, err
	}
	if err := a.register(r.ID, s); err != nil {
		s.stop()
		return nil, err
	}
	st := s.state()
	st.Tracks = s.tracks()
	a.log.Info("mix started", "mix", r.ID, "room", r.RoomID, "inputs", len(r.Inputs))
	return st, nil
}

// xcodeStart creates an idle transcode session (xcode.start).
func (a *Agent) xcodeStart(r protocol.XcodeStart) (any, error) {
	x, err := a.newXcodeSession(r)
	if err != nil {
		return nil, err
	}
	if err := a.register(r.ID, x); err != nil {
		x.stop()
		return nil, err
	}
	a.log.Info("transcode started", "xcode", r.ID, "room", r.RoomID, "source", r.Source.Source.TrackID,
		"format", r.Format.Codec)
	return protocol.XcodeStarted{Track: x.desc}, nil
}

// stopSession ends a mix (mix.stop) or a transcode (xcode.stop).
func (a *Agent) stopSession(id string, mix bool) error {
	s := a.lookup(id)
	_, isMix := s.(*mixSession)
	if s == nil || isMix != mix {
		if mix {
			return errSessionNotFound("Mix", id)
		}
		return errSessionNotFound("Transcode", id)
	}
	if !a.remove(id, s) {
		return errSessionNotFound("Session", id)
	}
	s.stop()
	a.log.Info("session stopped", "mix", id)
	return nil
}
