package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/mixing-agent/codec"
	"github.com/conclave-rtc/conclave/mixing-agent/internal/pipeline"
	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// xcodeFramerate is the output framerate of a video transcode that does not ask for one
// (the source's rate is not known to the agent).
const xcodeFramerate = 30

// xcodeSession turns one source track into another format, size or rate. Like a mix it
// imports and encodes only while its output has consumers.
type xcodeSession struct {
	a          *Agent
	id         string
	controller string
	source     protocol.TrackRef
	log        *slog.Logger
	epoch      time.Time
	audio      *audioFormat
	video      *videoFormat
	out        *pipeline.Output
	desc       protocol.RTCTrack
	demand     *pipeline.Demand

	mu   sync.Mutex
	comp *pipeline.Compositor // while running (video)
}

var _ session = (*xcodeSession)(nil)

// newXcodeSession validates an xcode.start and builds the idle session.
func (a *Agent) newXcodeSession(r protocol.XcodeStart) (*xcodeSession, error) {
	if r.ID == "" {
		return nil, errs.BadRequest("transcode id is required")
	}
	if r.Source.Source.Agent == "" || r.Source.Source.TrackID == "" {
		return nil, errs.BadRequest("transcode source needs agent and trackId")
	}
	x := &xcodeSession{a: a, id: r.ID, controller: r.Controller, source: r.Source.Source, epoch: time.Now(),
		log: a.log.With("xcode", r.ID, "room", r.RoomID)}
	kind, err := xcodeKind(r)
	if err != nil {
		return nil, err
	}
	var info medialink.TrackInfo
	if kind == "audio" {
		if r.Source.Format.Codec != "" && r.Source.Format.Codec != "opus" {
			return nil, errUnsupported("audio transcode from %q (only opus sources)", r.Source.Format.Codec)
		}
		af, err := newAudioFormat(r.Format.Codec, r.Format.SampleRate, r.Format.ChannelNum)
		if err != nil {
			return nil, err
		}
		info, x.audio = af.info, &af
		info.TrackID = r.ID + "-audio"
		x.desc = af.track(info.TrackID)
	} else {
		if err := checkInputCodec("video", r.Source.Format.Codec); err != nil {
			return nil, err
		}
		vf, err := xcodeVideoFormat(r)
		if err != nil {
			return nil, err
		}
		info, x.video = vf.info, &vf
		info.TrackID = r.ID + "-video"
		x.desc = vf.track(info.TrackID)
	}
	x.demand = pipeline.NewDemand(releasingMemory(x.runPipeline))
	hooks := pipeline.Hooks{Attach: x.attach, Detach: x.demand.Detach, Keyframe: x.keyframe}
	if x.out, err = pipeline.NewOutput(info, hooks); err != nil {
		return nil, errs.Unexpected(err.Error())
	}
	return x, nil
}

// xcodeKind tells an audio from a video transcode by the requested codec.
func xcodeKind(r protocol.XcodeStart) (string, error) {
	switch r.Format.Codec {
	case "opus", "pcmu", "pcma", "aac", "g722", "isac", "ilbc", "ac3", "nellymoser":
		return "audio", nil
	case "vp8", "vp9", "h264", "h265", "av1":
		return "video", nil
	}
	return "", errUnsupported("transcode format %q", r.Format.Codec)
}

// xcodeVideoFormat derives the output from the request: open fields are taken from the
// source's parameters when the controller knows them (size, framerate, bitrate for "x0.8"
// multiples), else the size from the first decoded picture, xcodeFramerate and a bitrate
// derived from the size.
func xcodeVideoFormat(r protocol.XcodeStart) (videoFormat, error) {
	var w, h, fps, kfi, kbps, srcKbps int
	if p := r.Source.Parameters; p != nil {
		if p.Resolution != nil && p.Resolution.Width > 0 && p.Resolution.Height > 0 {
			w, h = p.Resolution.Width, p.Resolution.Height
		}
		fps = p.Framerate
		if p.Bitrate != nil && p.Bitrate.Multiple == "" {
			srcKbps = int(p.Bitrate.Kbps)
		}
	}
	if fps <= 0 || fps > maxFramerate {
		fps = xcodeFramerate
	}
	var multiple float64
	if p := r.Parameters; p != nil {
		if p.Resolution != nil {
			w, h = p.Resolution.Width, p.Resolution.Height
			if w <= 0 || h <= 0 {
				return videoFormat{}, errUnsupported("resolution %dx%d", w, h)
			}
		}
		if p.Framerate != 0 {
			fps = p.Framerate
		}
		kfi = p.KeyFrameInterval
		if b := p.Bitrate; b != nil {
			switch {
			case b.Multiple != "":
				if _, err := fmt.Sscanf(b.Multiple, "x%g", &multiple); err != nil || multiple <= 0 || multiple > 10 {
					return videoFormat{}, errUnsupported("bitrate %q", b.Multiple)
				}
			case b.Kbps > 0:
				kbps = int(b.Kbps)
			}
		}
	}
	if multiple > 0 {
		base := srcKbps
		if base <= 0 {
			base = defaultBitrate(w, h, fps, 0)
		}
		kbps = max(50, int(float64(base)*multiple))
	}
	return newVideoFormat(r.Format.Codec, r.Format.Profile, w, h, fps, kfi, kbps, 0)
}

func (x *xcodeSession) weight() float64 {
	if x.audio != nil {
		return WeightAudioXcode
	}
	return WeightVideoXcode
}
func (x *xcodeSession) consuming() bool             { return x.demand.Active() }
func (x *xcodeSession) controllerID() string        { return x.controller }
func (x *xcodeSession) outputs() []*pipeline.Output { return []*pipeline.Output{x.out} }

func (x *xcodeSession) attach() bool {
	if !x.a.activate(x, x.demand) {
		return false
	}
	x.keyframe()
	return true
}

func (x *xcodeSession) keyframe() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.comp != nil {
		x.comp.RequestKeyframe()
	}
}

func (x *xcodeSession) stop() {
	x.out.Close("transcode stopped")
	x.demand.Close()
}

// runPipeline imports the source and transcodes it until ctx ends; a lost source fails the
// session (the controller starts another one for the new source).
func (x *xcodeSession) runPipeline(ctx context.Context) {
	var err error
	if x.video != nil {
		err = x.runVideo(ctx)
	} else {
		err = x.runAudio(ctx)
	}
	if ctx.Err() == nil && err != nil {
		x.a.fail(x.id, x, "transcode ended: "+err.Error())
	}
}

// runVideo decodes the source and re-encodes it scaled to the output size at the output
// framerate.
func (x *xcodeSession) runVideo(ctx context.Context) error {
	in := pipeline.NewVideoInput(x.a.log.With("transcode", x.id))
	comp, err := pipeline.NewCompositor(pipeline.CompositorConfig{Encoder: x.video.enc, Size: in.Size, Output: x.out, Epoch: x.epoch,
		Compose: func(dst *yuv.Image) {
			dst.Fill(room.Color{})
			in.Draw(dst, yuv.Rect{W: dst.Width, H: dst.Height}, yuv.FitLetterbox)
		}})
	if err != nil {
		return err
	}
	x.mu.Lock()
	x.comp = comp
	x.mu.Unlock()
	defer func() { x.mu.Lock(); x.comp = nil; x.mu.Unlock() }()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	compErr := make(chan error, 1)
	go func() { compErr <- comp.Run(ctx) }()
	err = in.Run(ctx, x.a.importTrack, x.source)
	cancel()
	if cerr := <-compErr; cerr != nil {
		return cerr
	}
	return err
}

// runAudio decodes the source and re-encodes each 20 ms frame; timestamps count samples.
func (x *xcodeSession) runAudio(ctx context.Context) error {
	enc, err := codec.NewOpusEncoder(x.audio.channels, x.audio.bitrateBps)
	if err != nil {
		return fmt.Errorf("opus encoder: %w", err)
	}
	defer enc.Close()
	pkt := make([]byte, 1275)
	ticks := uint32(time.Since(x.epoch).Milliseconds() * pipeline.SampleRate / 1000)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var encErr error
	in := pipeline.NewAudioInput(x.audio.channels, func(pcm []int16) {
		n, err := enc.Encode(pcm, pkt)
		if err != nil {
			encErr = err
			cancel()
			return
		}
		x.out.Send(pkt[:n], ticks)
		ticks += pipeline.FrameSamples
	})
	err = in.Run(ctx, x.a.importTrack, x.source)
	if encErr != nil {
		return fmt.Errorf("opus encode: %w", encErr)
	}
	return err
}
