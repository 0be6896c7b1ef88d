package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/recording-agent/internal/recorder"
)

const (
	// importTimeout bounds one rtc.export call plus the media-link handshake.
	importTimeout = 3 * time.Second
	// reimportTries and reimportBackoff bound the recovery of a lost media link.
	reimportTries   = 3
	reimportBackoff = 500 * time.Millisecond
)

// recording is one running recording: its sink and one input (media link) per kind.
type recording struct {
	a          *Agent
	id         string
	controller string
	file       string
	sink       recorder.Sink
	noMedia    atomic.Bool // rec.start answered before media arrived

	ctx    context.Context // ends when the recording finishes; parent of the inputs
	cancel context.CancelFunc
	wg     sync.WaitGroup // inputs and the watcher

	mu     sync.Mutex // serialises update with finish
	inputs map[string]*input
	once   sync.Once
	err    error
}

// input is the media link feeding one kind.
type input struct {
	kind   string
	track  protocol.SessionTrack
	src    recorder.Source
	link   *medialink.Link
	info   medialink.TrackInfo
	cancel context.CancelFunc
	done   chan struct{}
}

// open creates the sink and the media links of a new recording and starts them. On error
// nothing is left running and the file is removed.
func (a *Agent) open(ctx context.Context, req protocol.RecStart, srcs []recorder.Source) (*recording, error) {
	file, err := a.filePath(req)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(file); err == nil {
		return nil, errBadRequest("recording file %s already exists", file)
	}
	tracks := map[string]*protocol.SessionTrack{recorder.Audio: req.Audio, recorder.Video: req.Video}
	inputs := map[string]*input{}
	closeAll := func() {
		for _, in := range inputs {
			in.link.Close("recording not started")
		}
	}
	for _, s := range srcs {
		in, err := a.importInput(ctx, s, *tracks[s.Kind])
		if err != nil {
			closeAll()
			return nil, err
		}
		inputs[s.Kind] = in
	}
	sink, err := a.newSink(ctx, req.ID, req.Container, file, srcs)
	if err != nil {
		closeAll()
		return nil, errs.Unexpected(fmt.Sprintf("recording %s: %v", req.ID, err))
	}
	r := &recording{a: a, id: req.ID, controller: req.Controller, file: file, sink: sink, inputs: inputs}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	for _, in := range inputs {
		r.startInput(in)
	}
	r.wg.Add(1)
	go r.watch()
	return r, nil
}

func (a *Agent) newSink(ctx context.Context, id, container, file string, srcs []recorder.Source) (recorder.Sink, error) {
	cfg := recorder.Config{Path: file, Sources: srcs, FlushInterval: a.cfg.FlushInterval, FFmpeg: a.cfg.FFmpeg,
		Log: a.log.With("recording", id)}
	if container == "mp4" {
		return recorder.NewMP4(ctx, cfg)
	}
	return recorder.NewMKV(cfg)
}

// importInput asks the source's agent to export the track (rtc.export) and dials the link.
func (a *Agent) importInput(ctx context.Context, src recorder.Source, t protocol.SessionTrack) (*input, error) {
	ctx, cancel := context.WithTimeout(ctx, importTimeout)
	defer cancel()
	var res protocol.RTCExportResult
	if err := a.bus.Call(ctx, t.Source.Agent, protocol.MethodRTCExport, protocol.RTCExport{TrackID: t.Source.TrackID}, &res); err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return nil, errs.New(e.Status, e.Code, fmt.Sprintf("%s source %s on %s: %s", src.Kind, t.Source.TrackID, t.Source.Agent, e.Message))
		}
		return nil, errs.Cluster(fmt.Sprintf("%s source %s on %s: %v", src.Kind, t.Source.TrackID, t.Source.Agent, err))
	}
	link, info, err := medialink.Dial(ctx, res.Address, res.Ticket, 0)
	if err != nil {
		return nil, errs.Cluster(fmt.Sprintf("%s source %s: media link: %v", src.Kind, t.Source.TrackID, err))
	}
	if info.Kind != src.Kind || info.ClockRate == 0 {
		link.Close("unexpected track")
		return nil, errBadRequest("%s source %s is a %s track", src.Kind, t.Source.TrackID, info.Kind)
	}
	if codec, err := sourceOf(src.Kind, protocol.SessionTrack{Source: t.Source, Format: protocol.Format{Codec: info.MimeType}}); err != nil || codec.Codec != src.Codec {
		link.Close("codec mismatch")
		return nil, errBadRequest("%s source %s is %s, not %s", src.Kind, t.Source.TrackID, info.MimeType, src.Codec)
	}
	src.ClockRate, src.Channels = info.ClockRate, info.Channels
	return &input{kind: src.Kind, track: t, src: src, link: link, info: info}, nil
}

// startInput begins the sink's pipeline for in and runs its link.
func (r *recording) startInput(in *input) {
	ctx, cancel := context.WithCancel(r.ctx)
	in.cancel, in.done = cancel, make(chan struct{})
	r.sink.Begin(in.src, in.link.RequestKeyframe)
	in.link.RequestKeyframe()
	r.wg.Add(1)
	go r.runInput(ctx, in)
}

// runInput feeds the sink from in's link; a lost link is imported again, and the recording
// fails when that does not succeed.
func (r *recording) runInput(ctx context.Context, in *input) {
	defer r.wg.Done()
	defer close(in.done)
	handler := func(typ medialink.FrameType, payload []byte) {
		switch typ {
		case medialink.FrameRTP:
			r.sink.RTP(in.kind, payload, time.Now())
		case medialink.FrameRTCP:
			r.sink.RTCP(in.kind, payload, time.Now())
		}
	}
	link := in.link
	for {
		err := link.Run(ctx, handler)
		if ctx.Err() != nil {
			return
		}
		r.a.log.Warn("media link lost", "recording", r.id, "kind", in.kind, "error", err)
		if link, err = r.reimport(ctx, in); err != nil {
			r.a.fail(r, fmt.Sprintf("%s source lost: %v", in.kind, err))
			return
		}
		r.sink.Begin(in.src, link.RequestKeyframe)
		link.RequestKeyframe()
	}
}

// reimport tries to import in's source again.
func (r *recording) reimport(ctx context.Context, in *input) (*medialink.Link, error) {
	var err error
	for try := range reimportTries {
		if try > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(reimportBackoff):
			}
		}
		var fresh *input
		if fresh, err = r.a.importInput(ctx, in.src, in.track); err == nil {
			if ctx.Err() != nil {
				fresh.link.Close("recording finished")
				return nil, ctx.Err()
			}
			return fresh.link, nil
		}
	}
	return nil, err
}

// watch fails the recording when its sink stops on its own and reports media arriving
// after rec.start answered without it.
func (r *recording) watch() {
	defer r.wg.Done()
	select {
	case <-r.sink.Started():
		if r.noMedia.Load() {
			r.a.event(r, protocol.SessionEventStatus, "")
		}
	case <-r.sink.Failed():
		r.a.fail(r, "recording failed: "+errText(r.sink.Finish()))
		return
	case <-r.ctx.Done():
		return
	}
	select {
	case <-r.sink.Failed():
		r.a.fail(r, "recording failed: "+errText(r.sink.Finish()))
	case <-r.ctx.Done():
	}
}

func errText(err error) string {
	if err == nil {
		return "writer stopped"
	}
	return err.Error()
}

// update switches sources: the new link is opened first, so a failed switch keeps the
// recording on its old source; then the old link is closed and the sink continues the same
// file with the new source.
func (r *recording) update(ctx context.Context, req protocol.SessionUpdate) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return errNotFound(r.id)
	}
	fresh := map[string]*input{}
	for kind, t := range map[string]*protocol.SessionTrack{recorder.Audio: req.Audio, recorder.Video: req.Video} {
		if t == nil {
			continue
		}
		old := r.inputs[kind]
		if old == nil {
			closeInputs(fresh)
			return errBadRequest("recording %s has no %s track", r.id, kind)
		}
		in, err := r.a.importInput(ctx, old.src, *t)
		if err != nil {
			closeInputs(fresh)
			return err
		}
		fresh[kind] = in
	}
	for kind, in := range fresh {
		old := r.inputs[kind]
		old.cancel()
		<-old.done
		r.inputs[kind] = in
		r.startInput(in)
		r.a.log.Info("recording source switched", "recording", r.id, "kind", kind, "track", in.track.Source.TrackID)
	}
	return nil
}

func closeInputs(ins map[string]*input) {
	for _, in := range ins {
		in.link.Close("update failed")
	}
}

// finish stops the inputs and completes the file; it is idempotent.
func (r *recording) finish() error {
	r.once.Do(func() {
		r.sink.Stop()
		r.mu.Lock()
		r.cancel()
		r.mu.Unlock()
		r.wg.Wait()
		r.err = r.sink.Finish()
	})
	return r.err
}
