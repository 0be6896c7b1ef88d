package agent

import (
	"context"
	"fmt"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/in"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/out"
)

// handle is the agent's RPC endpoint.
func (a *Agent) handle(ctx context.Context, req bus.Request) (any, error) {
	switch req.Method {
	case protocol.MethodOutStart:
		return call(req, func(r protocol.OutStart) (any, error) { return a.outStart(ctx, r) })
	case protocol.MethodOutUpdate:
		return call(req, func(r protocol.SessionUpdate) (any, error) { return "ok", a.outUpdate(ctx, r) })
	case protocol.MethodOutStop:
		return call(req, func(r protocol.SessionStop) (any, error) { return "ok", a.outStop(r) })
	case protocol.MethodInStart:
		return call(req, func(r protocol.InStart) (any, error) { return a.inStart(ctx, r) })
	case protocol.MethodInStop:
		return call(req, func(r protocol.SessionStop) (any, error) { return "ok", a.inStop(r) })
	case protocol.MethodRTCExport:
		return call(req, a.export)
	}
	return nil, errs.BadRequestf("unknown method %q", req.Method)
}

// call decodes the request body into T and calls f, typing its error for the bus.
func call[T any](req bus.Request, f func(T) (any, error)) (any, error) {
	return bus.HandleAs(req, f, toRPCError)
}

// outStart starts a streaming-out (out.start) and answers once it pushes media.
func (a *Agent) outStart(ctx context.Context, r protocol.OutStart) (protocol.SessionStarted, error) {
	var job *out.Job
	rep := a.health(r.Controller, r.ID, func() { a.dropOut(job) })
	job, err := out.New(a.outConfig(), r, a.importTrack, out.Reporter(rep))
	if err != nil {
		return protocol.SessionStarted{}, err
	}
	if err := a.register(r.ID, func() { a.outs[r.ID] = job }); err != nil {
		return protocol.SessionStarted{}, err
	}
	if err := job.Start(ctx); err != nil {
		a.dropOut(job)
		return protocol.SessionStarted{}, err
	}
	a.log.Info("streaming-out started", "streaming", r.ID, "protocol", r.Protocol)
	return protocol.SessionStarted{}, nil
}

// outUpdate re-points a streaming-out's sources (out.update).
func (a *Agent) outUpdate(ctx context.Context, r protocol.SessionUpdate) error {
	a.mu.Lock()
	job := a.outs[r.ID]
	a.mu.Unlock()
	if job == nil {
		return errSessionNotFound("Streaming-out", r.ID)
	}
	return job.Update(ctx, r.Audio, r.Video)
}

// outStop ends a streaming-out (out.stop).
func (a *Agent) outStop(r protocol.SessionStop) error {
	a.mu.Lock()
	job := a.outs[r.ID]
	delete(a.outs, r.ID)
	a.mu.Unlock()
	if job == nil {
		return errSessionNotFound("Streaming-out", r.ID)
	}
	job.Stop()
	a.log.Info("streaming-out stopped", "streaming", r.ID)
	a.emit(job.Controller(), r.ID, protocol.SessionEventStopped, "")
	return nil
}

// inStart starts a streaming-in (in.start) and answers its tracks once RTP flows.
func (a *Agent) inStart(ctx context.Context, r protocol.InStart) (protocol.InStarted, error) {
	var job *in.Job
	rep := a.health(r.Controller, r.ID, func() { a.dropIn(job) })
	job, err := in.New(a.inConfig(), r, in.Reporter(rep))
	if err != nil {
		return protocol.InStarted{}, err
	}
	if err := a.register(r.ID, func() { a.ins[r.ID] = job }); err != nil {
		return protocol.InStarted{}, err
	}
	tracks, err := job.Start(ctx)
	if err != nil {
		a.dropIn(job)
		return protocol.InStarted{}, err
	}
	a.log.Info("streaming-in started", "streaming", r.ID, "tracks", len(tracks))
	return protocol.InStarted{Tracks: tracks}, nil
}

// inStop ends a streaming-in (in.stop).
func (a *Agent) inStop(r protocol.SessionStop) error {
	a.mu.Lock()
	job := a.ins[r.ID]
	delete(a.ins, r.ID)
	a.mu.Unlock()
	if job == nil {
		return errSessionNotFound("Streaming-in", r.ID)
	}
	job.Stop()
	a.log.Info("streaming-in stopped", "streaming", r.ID)
	a.emit(job.Controller(), r.ID, protocol.SessionEventStopped, "")
	return nil
}

// register reserves a session id, refusing duplicates, new work while stopping and sessions
// beyond Capacity (each one is an ffmpeg process: admitting more would starve the running
// ones). Refusals of this agent are cluster errors, so the caller may try another agent.
func (a *Agent) register(id string, add func()) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping {
		return errs.Cluster("streaming agent is stopping")
	}
	if a.outs[id] != nil || a.ins[id] != nil {
		return errs.BadRequestf("Session %s already exists", id)
	}
	if n := len(a.outs) + len(a.ins); n >= a.cfg.Capacity {
		return errs.Cluster(fmt.Sprintf("streaming agent is full (%d sessions)", a.cfg.Capacity))
	}
	add()
	return nil
}

// dropOut unregisters a streaming-out that ended.
func (a *Agent) dropOut(j *out.Job) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.outs[j.ID()] == j {
		delete(a.outs, j.ID())
	}
}

// dropIn unregisters a streaming-in that ended.
func (a *Agent) dropIn(j *in.Job) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ins[j.ID()] == j {
		delete(a.ins, j.ID())
	}
}

// importTrack opens a media link to a source track: rtc.export on the agent holding it,
// then a dial with the ticket (out.Importer).
func (a *Agent) importTrack(ctx context.Context, ref protocol.TrackRef) (*medialink.Link, medialink.TrackInfo, error) {
	return medialink.Import(ctx, a.bus, ref)
}

// outConfig is the streaming-out configuration derived from the agent's.
func (a *Agent) outConfig() out.Config {
	c := a.cfg
	return out.Config{FFmpeg: c.FFmpeg, WorkDir: c.WorkDir, StartTimeout: c.StartTimeout, NoMediaTimeout: c.NoMediaTimeout,
		StopTimeout: c.StopTimeout, RetryMin: c.RetryMin, RetryMax: c.RetryMax, MaxRetries: c.MaxRetries,
		Egress: a.egress, Logger: a.log}
}

// inConfig is the streaming-in configuration derived from the agent's.
func (a *Agent) inConfig() in.Config {
	c := a.cfg
	return in.Config{FFmpeg: c.FFmpeg, FFprobe: c.FFprobe, ProbeTimeout: c.ProbeTimeout, StartTimeout: c.StartTimeout,
		StopTimeout: c.StopTimeout, RetryMin: c.RetryMin, RetryMax: c.RetryMax, MaxRetries: c.MaxRetries,
		Egress: a.egress, Logger: a.log}
}
