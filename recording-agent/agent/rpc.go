package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/conclave-rtc/conclave/recording-agent/internal/recorder"
)

// answerMargin is kept from the caller's deadline for the reply to travel back.
const answerMargin = 300 * time.Millisecond

// handle serves the agent's endpoint.
func (a *Agent) handle(ctx context.Context, req bus.Request) (any, error) {
	switch req.Method {
	case protocol.MethodRecStart:
		return bus.HandleAs(req, func(r protocol.RecStart) (any, error) { return a.start(ctx, r) }, nil)
	case protocol.MethodRecUpdate:
		return bus.HandleAs(req, func(r protocol.SessionUpdate) (any, error) { return nil, a.update(ctx, r) }, nil)
	case protocol.MethodRecStop:
		return bus.HandleAs(req, func(r protocol.SessionStop) (any, error) { return nil, a.stop(r) }, nil)
	}
	return nil, errBadRequest("unknown method %q", req.Method)
}

// start validates and admits a recording, opens its file and media links, and answers once
// media is written or StartWait (bounded by the caller's deadline) has passed; a recording
// still without media then reports status events when media starts.
func (a *Agent) start(ctx context.Context, req protocol.RecStart) (protocol.SessionStarted, error) {
	srcs, err := validateStart(req)
	if err != nil {
		return protocol.SessionStarted{}, err
	}
	if err := a.admit(req.ID); err != nil {
		return protocol.SessionStarted{}, err
	}
	defer a.admitted()
	r, err := a.open(ctx, req, srcs)
	if err != nil {
		return protocol.SessionStarted{}, err
	}
	if !a.register(r) {
		_ = r.finish()
		_ = os.Remove(r.file)
		return protocol.SessionStarted{}, errUnavailable("recording agent is stopping")
	}
	a.log.Info("recording started", "recording", r.id, "room", req.RoomID, "file", r.file)
	if !a.waitStarted(ctx, r) {
		a.event(r, protocol.SessionEventStatus, "no media received yet")
	}
	return protocol.SessionStarted{Host: a.cfg.Host, File: r.file}, nil
}

func validateStart(req protocol.RecStart) ([]recorder.Source, error) {
	if req.ID == "" || strings.ContainsAny(req.ID, `/\`) || req.ID == "." || req.ID == ".." {
		return nil, errBadRequest("invalid recording id %q", req.ID)
	}
	if req.Audio == nil && req.Video == nil {
		return nil, errBadRequest("recording %s has neither audio nor video", req.ID)
	}
	var srcs []recorder.Source
	for _, t := range []struct {
		kind  string
		track *protocol.SessionTrack
	}{{recorder.Video, req.Video}, {recorder.Audio, req.Audio}} {
		if t.track == nil {
			continue
		}
		src, err := sourceOf(t.kind, *t.track)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, src)
	}
	var err error
	switch req.Container {
	case "mkv":
		err = recorder.CheckMKV(srcs)
	case "mp4":
		err = recorder.CheckMP4(srcs)
	default:
		return nil, errBadRequest("unsupported container %q (mkv or mp4)", req.Container)
	}
	if err != nil {
		return nil, errBadRequest("%v", err)
	}
	return srcs, nil
}

// sourceOf checks a session track and returns the source it describes.
func sourceOf(kind string, t protocol.SessionTrack) (recorder.Source, error) {
	if t.Source.Agent == "" || t.Source.TrackID == "" {
		return recorder.Source{}, errBadRequest("%s source is missing its agent or track", kind)
	}
	codec, err := rtpframe.CodecOf(t.Format.Codec)
	if err != nil || codec.Video() != (kind == recorder.Video) {
		return recorder.Source{}, errBadRequest("unsupported %s codec %q", kind, t.Format.Codec)
	}
	return recorder.Source{Kind: kind, Codec: codec}, nil
}

// admit reserves a slot for a new recording, checking capacity, duplicates and disk space.
func (a *Agent) admit(id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.closing:
		return errUnavailable("recording agent is stopping")
	case a.recs[id] != nil:
		return errBadRequest("recording %s already exists", id)
	case len(a.recs)+a.starting >= a.cfg.Capacity:
		return errUnavailable("recording agent is full (%d recordings)", a.cfg.Capacity)
	}
	free, err := freeBytes(a.cfg.Dir)
	if err != nil {
		return errs.Unexpected(fmt.Sprintf("recording directory: %v", err))
	}
	if free < a.cfg.MinFreeBytes {
		return errUnavailable("not enough disk space for recording: %d bytes free in %s, %d required", free, a.cfg.Dir, a.cfg.MinFreeBytes)
	}
	a.starting++
	return nil
}

func (a *Agent) admitted() {
	a.mu.Lock()
	a.starting--
	a.mu.Unlock()
}

func (a *Agent) register(r *recording) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing || a.recs[r.id] != nil {
		return false
	}
	a.recs[r.id] = r
	return true
}

func (a *Agent) lookup(id string) *recording {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.recs[id]
}

// waitStarted waits for the first media within StartWait and the caller's deadline.
func (a *Agent) waitStarted(ctx context.Context, r *recording) bool {
	wait := a.cfg.StartWait
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d)-answerMargin)
	}
	t := time.NewTimer(max(wait, 0))
	defer t.Stop()
	select {
	case <-r.sink.Started():
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	r.noMedia.Store(true)
	return false
}

// filePath names a recording's file like OWT: <dir>/<id>.<container>.
func (a *Agent) filePath(req protocol.RecStart) (string, error) {
	dir, err := filepath.Abs(a.cfg.Dir)
	if err != nil {
		return "", errs.Unexpected(fmt.Sprintf("recording directory: %v", err))
	}
	return filepath.Join(dir, req.ID+"."+req.Container), nil
}

// update re-points a recording's sources (PATCH). The codec of a kind cannot change: the
// file's tracks are fixed.
func (a *Agent) update(ctx context.Context, req protocol.SessionUpdate) error {
	r := a.lookup(req.ID)
	if r == nil {
		return errNotFound(req.ID)
	}
	if req.Audio == nil && req.Video == nil {
		return errBadRequest("recording update %s changes nothing", req.ID)
	}
	return r.update(ctx, req)
}

// stop finalises a recording and answers once the file is complete.
func (a *Agent) stop(req protocol.SessionStop) error {
	r := a.lookup(req.ID)
	if r == nil || !a.remove(r) {
		return errNotFound(req.ID)
	}
	err := r.finish()
	a.event(r, protocol.SessionEventStopped, "")
	if err != nil {
		a.log.Error("recording not finalised", "recording", r.id, "error", err)
		return errs.Unexpected(fmt.Sprintf("recording %s could not be finalised: %v", r.id, err))
	}
	a.log.Info("recording stopped", "recording", r.id, "file", r.file)
	return nil
}
