package agent

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/mixing-agent/internal/layout"
	"github.com/conclave-rtc/conclave/mixing-agent/internal/pipeline"
)

// activeUnknown is OWT's activeInput before any voice activity.
const activeUnknown = "unknown"

// inputKey names one imported track of a mix: a stream's audio or video.
type inputKey struct{ stream, kind string }

// mixSession is one view being mixed. Its layout and input set live here; the media
// pipeline (mixRun) exists only while a consumer reads one of its outputs.
type mixSession struct {
	a          *Agent
	id         string
	controller string
	view       room.View
	log        *slog.Logger
	epoch      time.Time
	audio      *audioFormat // nil: no audio output
	video      *videoFormat // nil: audio-only view
	audioOut   *pipeline.Output
	videoOut   *pipeline.Output
	demand     *pipeline.Demand

	emitMu    sync.Mutex // orders event publication; taken before mu, never inside it
	pubLayout []protocol.LayoutRegion
	pubActive string

	mu     sync.Mutex
	eng    *layout.Engine // nil for an audio-only view
	inputs []protocol.MixInput
	lost   map[inputKey]bool // tracks whose link died: left out until supplied again
	active string
	run    *mixRun // non-nil while the pipeline runs
}

var _ session = (*mixSession)(nil)

// newMixSession validates a mix.start and builds the idle session: layout engine and
// output tracks, no goroutine.
func (a *Agent) newMixSession(r protocol.MixStart) (*mixSession, error) {
	if r.ID == "" {
		return nil, errs.BadRequest("mix id is required")
	}
	if err := validateInputs(r.Inputs); err != nil {
		return nil, err
	}
	s := &mixSession{a: a, id: r.ID, controller: r.Controller, view: r.View, epoch: time.Now(),
		log: a.log.With("mix", r.ID, "room", r.RoomID), lost: map[inputKey]bool{}, active: activeUnknown}
	af, err := newAudioFormat(r.View.Audio.Format.Codec, r.View.Audio.Format.SampleRate, r.View.Audio.Format.ChannelNum)
	if err != nil {
		return nil, err
	}
	s.audio = &af
	if v := r.View.Video; v != nil {
		p := v.Parameters
		if p.Resolution.Width <= 0 || p.Resolution.Height <= 0 {
			return nil, errs.BadRequestf("invalid view %q: resolution %dx%d", r.View.Label, p.Resolution.Width, p.Resolution.Height)
		}
		vf, err := newVideoFormat(v.Format.Codec, v.Format.Profile, p.Resolution.Width, p.Resolution.Height,
			p.Framerate, p.KeyFrameInterval, p.Bitrate, v.MotionFactor)
		if err != nil {
			return nil, err
		}
		s.video = &vf
		if s.eng, err = layout.New(*v); err != nil {
			return nil, errs.BadRequestf("invalid view %q: %v", r.View.Label, err)
		}
	}
	if err := s.newOutputs(); err != nil {
		return nil, err
	}
	s.inputs = slices.Clone(r.Inputs)
	s.applyInputsLocked()
	s.pubLayout, s.pubActive = s.layoutLocked(), s.active
	return s, nil
}

// newOutputs creates the output tracks, whose consumers drive the pipeline. A new video
// consumer and a video consumer's request get a keyframe; audio needs none.
func (s *mixSession) newOutputs() error {
	s.demand = pipeline.NewDemand(releasingMemory(s.runPipeline))
	var err error
	s.audio.info.TrackID = s.id + "-audio"
	audioHooks := pipeline.Hooks{Attach: s.attachAudio, Detach: s.demand.Detach}
	if s.audioOut, err = pipeline.NewOutput(s.audio.info, audioHooks); err != nil {
		return errs.Unexpected(err.Error())
	}
	if s.video != nil {
		s.video.info.TrackID = s.id + "-video"
		videoHooks := pipeline.Hooks{Attach: s.attachVideo, Detach: s.demand.Detach, Keyframe: s.keyframe}
		if s.videoOut, err = pipeline.NewOutput(s.video.info, videoHooks); err != nil {
			return errs.Unexpected(err.Error())
		}
	}
	return nil
}

// validateInputs checks a mix input list: unique non-empty stream ids, complete track
// references and decodable codecs.
func validateInputs(inputs []protocol.MixInput) error {
	seen := map[string]bool{}
	for _, in := range inputs {
		if in.StreamID == "" {
			return errs.BadRequest("mix input without streamId")
		}
		if seen[in.StreamID] {
			return errs.BadRequestf("mix input %s listed twice", in.StreamID)
		}
		seen[in.StreamID] = true
		if in.Audio == nil && in.Video == nil {
			return errs.BadRequestf("mix input %s has neither audio nor video", in.StreamID)
		}
		for kind, t := range map[string]*protocol.SessionTrack{"audio": in.Audio, "video": in.Video} {
			if t == nil {
				continue
			}
			if t.Source.Agent == "" || t.Source.TrackID == "" {
				return errs.BadRequestf("mix input %s: %s source needs agent and trackId", in.StreamID, kind)
			}
			if err := checkInputCodec(kind, t.Format.Codec); err != nil {
				return fmt.Errorf("mix input %s: %w", in.StreamID, err)
			}
		}
	}
	return nil
}

// checkInputCodec accepts the codecs the agent decodes (an empty codec is checked when the
// track is imported).
func checkInputCodec(kind, c string) error {
	switch {
	case c == "":
		return nil
	case kind == "audio" && c == "opus":
		return nil
	case kind == "video" && (c == "vp8" || c == "h264"):
		return nil
	}
	return errUnsupported("%s input codec %q", kind, c)
}

func (s *mixSession) weight() float64      { return WeightMix }
func (s *mixSession) consuming() bool      { return s.demand.Active() }
func (s *mixSession) controllerID() string { return s.controller }

func (s *mixSession) outputs() []*pipeline.Output {
	if s.videoOut == nil {
		return []*pipeline.Output{s.audioOut}
	}
	return []*pipeline.Output{s.audioOut, s.videoOut}
}

// tracks describes the outputs for the mix.start answer.
func (s *mixSession) tracks() []protocol.RTCTrack {
	ts := []protocol.RTCTrack{s.audio.track(s.audioOut.Info().TrackID)}
	if s.video != nil {
		ts = append(ts, s.video.track(s.videoOut.Info().TrackID))
	}
	return ts
}

// state is the mix's layout and active input.
func (s *mixSession) state() protocol.MixState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return protocol.MixState{Layout: s.layoutLocked(), ActiveInput: s.active}
}

func (s *mixSession) layoutLocked() []protocol.LayoutRegion {
	if s.eng == nil {
		return []protocol.LayoutRegion{}
	}
	return slices.Clone(s.eng.Layout())
}

// setInputs replaces the input set (mix.inputs). Inputs listed again are supplied anew:
// one whose link had died is imported again.
func (s *mixSession) setInputs(inputs []protocol.MixInput) (protocol.MixState, error) {
	if err := validateInputs(inputs); err != nil {
		return protocol.MixState{}, err
	}
	s.mu.Lock()
	s.inputs = slices.Clone(inputs)
	clear(s.lost)
	s.applyInputsLocked()
	s.mu.Unlock()
	s.publish()
	return s.state(), nil
}

// applyInputsLocked gives the layout the live video inputs in arrival order and, while
// running, imports what is new and drops what is gone.
func (s *mixSession) applyInputsLocked() {
	if s.eng != nil {
		var streams []string
		for _, in := range s.inputs {
			if in.Video != nil && !s.lost[inputKey{in.StreamID, "video"}] {
				streams = append(streams, in.StreamID)
			}
		}
		s.eng.SetInputs(streams)
	}
	if s.run != nil {
		s.run.reconcileLocked()
	}
}

// setLayout applies an explicit layout (mix.layout).
func (s *mixSession) setLayout(regions []protocol.LayoutRegion) (protocol.MixState, error) {
	s.mu.Lock()
	err := s.noLayoutLocked()
	if err == nil {
		err = s.eng.SetLayout(regions)
	}
	s.mu.Unlock()
	if err != nil {
		return protocol.MixState{}, err
	}
	s.publish()
	return s.state(), nil
}

// setRegion moves a stream into a region (mix.region).
func (s *mixSession) setRegion(stream, region string) (protocol.MixState, error) {
	s.mu.Lock()
	err := s.noLayoutLocked()
	if err == nil {
		err = s.eng.SetRegion(stream, region)
	}
	s.mu.Unlock()
	if err != nil {
		return protocol.MixState{}, err
	}
	s.publish()
	return s.state(), nil
}

func (s *mixSession) noLayoutLocked() error {
	if s.eng == nil {
		return errs.BadRequestf("mix %s is audio-only: it has no layout", s.id)
	}
	return nil
}

// setActive records the loudest input (from the audio clock) and, with
// keepActiveInputPrimary, moves it to the primary region. It reports whether the state
// changed.
func (s *mixSession) setActive(stream string) bool {
	if stream == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if stream == s.active {
		return false
	}
	s.active = stream
	if s.eng != nil && s.view.Video.KeepActiveInputPrimary {
		s.eng.SetActive(stream)
	}
	return true
}

// inputLost drops a track whose link died (or could not be imported) until the controller
// supplies it again.
func (s *mixSession) inputLost(r *mixRun, k inputKey, ri *runningInput, err error) {
	s.mu.Lock()
	if s.run != r || r.inputs[k] != ri {
		s.mu.Unlock()
		return
	}
	s.log.Warn("mix input lost", "stream", k.stream, "kind", k.kind, "error", err)
	s.lost[k] = true
	s.applyInputsLocked()
	s.mu.Unlock()
	s.publish()
}

// publish sends layout and activeInput events for what changed since the last ones.
func (s *mixSession) publish() {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.mu.Lock()
	lay, active := s.layoutLocked(), s.active
	s.mu.Unlock()
	if !slices.Equal(lay, s.pubLayout) {
		s.pubLayout = lay
		s.a.emit(protocol.MixEvent{ID: s.id, Type: protocol.MixEventLayout, Layout: lay}, s.controller)
	}
	if active != s.pubActive {
		s.pubActive = active
		s.a.emit(protocol.MixEvent{ID: s.id, Type: protocol.MixEventActiveInput, ActiveInput: active}, s.controller)
	}
}

// attachAudio counts a new audio consumer.
func (s *mixSession) attachAudio() bool { return s.a.activate(s, s.demand) }

// attachVideo counts a new video consumer and makes sure it starts with a keyframe.
func (s *mixSession) attachVideo() bool {
	if !s.a.activate(s, s.demand) {
		return false
	}
	s.keyframe()
	return true
}

// keyframe forwards a consumer's keyframe request to the running compositor.
func (s *mixSession) keyframe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run != nil && s.run.comp != nil {
		s.run.comp.RequestKeyframe()
	}
}

// stop closes the outputs and ends the pipeline.
func (s *mixSession) stop() {
	for _, o := range s.outputs() {
		o.Close("mix stopped")
	}
	s.demand.Close()
}
