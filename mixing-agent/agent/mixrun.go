package agent

import (
	"context"
	"sync"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/mixing-agent/internal/audiomix"
	"github.com/conclave-rtc/conclave/mixing-agent/internal/pipeline"
	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// mixRun is the media pipeline of a mix while it has consumers: one import per input
// track, the audio mixing clock and the video compositor.
type mixRun struct {
	s      *mixSession
	ctx    context.Context
	wg     sync.WaitGroup // inputs
	notify chan struct{}  // state changed on the media path: publish events
	comp   *pipeline.Compositor
	clock  *pipeline.AudioClock

	inputs map[inputKey]*runningInput // guarded by s.mu

	mixMu sync.Mutex // the mixer; never held while taking s.mu
	mixer *audiomix.Mixer

	draws []draw // compose scratch, compositor goroutine only
}

// runningInput is one imported track.
type runningInput struct {
	ref    protocol.TrackRef
	cancel context.CancelFunc
	video  *pipeline.VideoInput // nil for audio
}

// draw is one placement resolved to its input for a frame.
type draw struct {
	in   *pipeline.VideoInput
	rect yuv.Rect
}

// runPipeline is the session's pipeline while it has consumers (pipeline.Demand): it
// imports the inputs and runs the clocks until ctx ends.
func (s *mixSession) runPipeline(ctx context.Context) {
	r, err := s.newRun(ctx)
	if err != nil {
		s.a.fail(s.id, s, err.Error())
		return
	}
	s.log.Info("mix pipeline started")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.run = r
	r.reconcileLocked()
	s.mu.Unlock()

	var clocks sync.WaitGroup
	errc := make(chan error, 2)
	runners := []func(context.Context) error{r.clock.Run}
	if r.comp != nil {
		runners = append(runners, r.comp.Run)
	}
	for _, run := range runners {
		clocks.Add(1)
		go func() { defer clocks.Done(); errc <- run(ctx) }()
	}
	clocks.Add(1)
	go func() { defer clocks.Done(); r.publishLoop(ctx) }()
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	cancel()
	s.mu.Lock()
	s.run = nil
	for k, ri := range r.inputs {
		ri.cancel()
		delete(r.inputs, k)
	}
	s.mu.Unlock()
	clocks.Wait()
	r.wg.Wait()
	s.log.Info("mix pipeline stopped")
	if runErr != nil {
		s.a.fail(s.id, s, runErr.Error())
	}
}

// newRun prepares the pipeline: mixer, audio clock and compositor.
func (s *mixSession) newRun(ctx context.Context) (*mixRun, error) {
	r := &mixRun{s: s, ctx: ctx, notify: make(chan struct{}, 1), inputs: map[inputKey]*runningInput{},
		mixer: audiomix.New(s.audio.channels, s.view.Audio.VAD)}
	var err error
	r.clock, err = pipeline.NewAudioClock(pipeline.AudioClockConfig{Channels: s.audio.channels, BitrateBps: s.audio.bitrateBps,
		Mix: r.mix, Active: r.activeChanged, Output: s.audioOut, Epoch: s.epoch})
	if err != nil {
		return nil, err
	}
	if s.video != nil {
		r.comp, err = pipeline.NewCompositor(pipeline.CompositorConfig{Encoder: s.video.enc, Compose: r.compose,
			Output: s.videoOut, Epoch: s.epoch})
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// reconcileLocked makes the imports match the session's live inputs: new tracks are
// imported, removed or re-pointed ones stopped. s.mu is held.
func (r *mixRun) reconcileLocked() {
	want := map[inputKey]protocol.TrackRef{}
	for _, in := range r.s.inputs {
		for kind, t := range map[string]*protocol.SessionTrack{"audio": in.Audio, "video": in.Video} {
			k := inputKey{in.StreamID, kind}
			if t != nil && !r.s.lost[k] && (kind == "audio" || r.comp != nil) {
				want[k] = t.Source
			}
		}
	}
	for k, ri := range r.inputs {
		if ref, ok := want[k]; !ok || ref != ri.ref {
			r.stopInput(k, ri)
		}
	}
	for k, ref := range want {
		if r.inputs[k] == nil {
			r.startInput(k, ref)
		}
	}
}

// startInput imports one track in its own goroutine.
func (r *mixRun) startInput(k inputKey, ref protocol.TrackRef) {
	ctx, cancel := context.WithCancel(r.ctx)
	ri := &runningInput{ref: ref, cancel: cancel}
	var run func(context.Context, pipeline.Importer, protocol.TrackRef) error
	if k.kind == "video" {
		ri.video = pipeline.NewVideoInput(r.s.log)
		run = ri.video.Run
	} else {
		run = pipeline.NewAudioInput(r.s.audio.channels, func(pcm []int16) {
			r.mixMu.Lock()
			defer r.mixMu.Unlock()
			if ctx.Err() == nil {
				r.mixer.Push(k.stream, pcm)
			}
		}).Run
	}
	r.inputs[k] = ri
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := run(ctx, r.s.a.importTrack, ref)
		if ctx.Err() == nil {
			r.s.inputLost(r, k, ri, err)
		}
	}()
}

// stopInput ends one import; an audio input leaves the mix at once.
func (r *mixRun) stopInput(k inputKey, ri *runningInput) {
	ri.cancel()
	delete(r.inputs, k)
	if k.kind == "audio" {
		r.mixMu.Lock()
		r.mixer.Remove(k.stream)
		r.mixMu.Unlock()
	}
}

// mix is the audio clock's mixer step.
func (r *mixRun) mix(out []int16) (string, bool) {
	r.mixMu.Lock()
	defer r.mixMu.Unlock()
	return r.mixer.Mix(out)
}

// activeChanged records a new loudest input and wakes the publisher.
func (r *mixRun) activeChanged(stream string) {
	if r.s.setActive(stream) {
		select {
		case r.notify <- struct{}{}:
		default:
		}
	}
}

// publishLoop publishes the events of media-path changes off the clocks' goroutines.
func (r *mixRun) publishLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.notify:
			r.s.publish()
		}
	}
}

// compose draws one mixed picture: the background, then each placed input's latest picture.
func (r *mixRun) compose(dst *yuv.Image) {
	s := r.s
	dst.Fill(s.view.Video.BgColor)
	r.draws = r.draws[:0]
	s.mu.Lock()
	for _, p := range s.eng.Placements(dst.Width, dst.Height) {
		if ri := r.inputs[inputKey{p.Stream, "video"}]; ri != nil {
			r.draws = append(r.draws, draw{in: ri.video, rect: p.Rect})
		}
	}
	s.mu.Unlock()
	fit := s.view.Video.Layout.FitPolicy
	for _, d := range r.draws {
		d.in.Draw(dst, d.rect, fit)
	}
}
