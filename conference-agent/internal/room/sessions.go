package room

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
)

// Server-side session kinds; each is also the cluster purpose of the agents running it.
const (
	SessionRecording = cluster.PurposeRecording // REST recordings
	SessionStreaming = cluster.PurposeStreaming // REST streaming-outs
)

// Session statuses shown in the REST lists (an extra field REST clients ignore).
const (
	statusActive   = "active"
	prefixError    = "error: "
	prefixRetrying = "retrying: "
)

// sessionTrack is one kind of a recording or streaming-out.
type sessionTrack struct {
	stream string                    // source stream id
	source protocol.TrackRef         // source track
	format protocol.Format           // the source's format
	out    protocol.Format           // the delivered format (shown in REST)
	params *protocol.VideoParameters // video: requested (streaming-out) or the source's
	// xcode is a pending transcode (a recording asking for what its source is not); once
	// started, source is the transcoded track on xcodeAgent and format its format.
	xcode      *protocol.XcodeStart
	xcodeAgent string
	xcodeID    string
}

// session is a recording or streaming-out. It is pending until its agent answered the
// start; a failed session stays listed with its reason until ExpireSessions forgets it.
type session struct {
	seq       uint64
	id        string
	kind      string // SessionRecording or SessionStreaming
	agent     string // "" until scheduled
	started   bool
	container string // recording
	protocol  string // streaming-out
	url       string
	outParams *protocol.StreamingOutParam
	audio     *sessionTrack
	video     *sessionTrack
	storage   protocol.SessionStarted
	reason    string // status reason of a running session ("" = healthy)
	failed    bool
	failedAt  time.Time
}

// methods returns the update and stop RPC names of the session's kind.
func (s *session) methods() (update, stop string) {
	if s.kind == SessionRecording {
		return protocol.MethodRecUpdate, protocol.MethodRecStop
	}
	return protocol.MethodOutUpdate, protocol.MethodOutStop
}

// dependsOn reports whether the session takes media from stream.
func (s *session) dependsOn(stream string) bool {
	return (s.audio != nil && s.audio.stream == stream) || (s.video != nil && s.video.stream == stream)
}

// newNumericID returns an OWT-like session id: a decimal number below 1e18.
func newNumericID() string { return strconv.FormatUint(rand.Uint64N(1e18), 10) }

// freshID returns a numeric id no stream or session of the room uses; r.mu is held.
func (r *Room) freshID() string {
	for {
		id := newNumericID()
		if r.pubs[id] == nil && r.sessions[id] == nil {
			return id
		}
	}
}

// AddRecording starts a recording (OWT addServerSideSubscription type recording): the
// sources are checked, a recording agent is scheduled near them and rec.start is awaited.
// It returns the REST recording object.
func (r *Room) AddRecording(ctx context.Context, spec protocol.Recording) (json.RawMessage, error) {
	s, origin, err := r.prepareSession(SessionRecording, spec.Media, func(s *session) error {
		return r.recordingRules(s, spec)
	})
	if err != nil {
		return nil, err
	}
	return r.startSession(ctx, s, origin, func(ctx context.Context, agent string) (protocol.SessionStarted, error) {
		return r.deps.Sessions.RecStart(ctx, agent, protocol.RecStart{
			ID: s.id, RoomID: r.id, Controller: r.deps.Controller, Container: s.container,
			Audio: s.audio.wire(), Video: s.video.wire(),
		})
	})
}

// AddStreamingOut starts a streaming-out. The agent delivers AAC audio and H.264 video,
// transcoding if needed, so any source codec is accepted.
func (r *Room) AddStreamingOut(ctx context.Context, spec protocol.StreamingOut) (json.RawMessage, error) {
	s, origin, err := r.prepareSession(SessionStreaming, spec.Media, func(s *session) error {
		return r.streamingOutRules(s, spec)
	})
	if err != nil {
		return nil, err
	}
	return r.startSession(ctx, s, origin, func(ctx context.Context, agent string) (protocol.SessionStarted, error) {
		return r.deps.Sessions.OutStart(ctx, agent, protocol.OutStart{
			ID: s.id, RoomID: r.id, Controller: r.deps.Controller, Protocol: s.protocol, URL: s.url,
			Parameters: s.outParams, Audio: s.audio.wire(), Video: s.video.wire(),
		})
	})
}

// wire is the track as sent to the session agent (nil for an absent kind).
func (t *sessionTrack) wire() *protocol.SessionTrack {
	if t == nil {
		return nil
	}
	return &protocol.SessionTrack{Source: t.source, Format: t.format, Parameters: t.params}
}

// prepareSession checks the room's mediaOut and the sources, applies the kind's rules and
// records the session as pending. It returns the scheduling preference (the video source's
// origin, else the audio's).
func (r *Room) prepareSession(kind string, media protocol.OutMedia, rules func(*session) error) (*session, store.Preference, error) {
	var origin store.Preference
	if err := r.lockOpen(); err != nil {
		return nil, origin, err
	}
	defer r.mu.Unlock()
	if media.Audio == nil && media.Video == nil {
		return nil, origin, badRequest(msgInvalidTracks)
	}
	if media.Audio != nil && len(r.cfg.MediaOut.Audio) == 0 {
		return nil, origin, badRequest(msgAudioForbidden)
	}
	if media.Video != nil && len(r.cfg.MediaOut.Video.Format) == 0 {
		return nil, origin, badRequest(msgVideoForbidden)
	}
	s := &session{seq: r.nextSeq(), id: r.freshID(), kind: kind}
	if media.Audio != nil {
		t, pub, err := r.sessionSource(kindAudio, media.Audio.From)
		if err != nil {
			return nil, origin, err
		}
		s.audio, origin = t, pub.origin
	}
	if media.Video != nil {
		t, pub, err := r.sessionSource(kindVideo, media.Video.From)
		if err != nil {
			return nil, origin, err
		}
		s.video, origin = t, pub.origin
	}
	if err := rules(s); err != nil {
		return nil, origin, err
	}
	r.sessions[s.id] = s
	r.touch()
	return s, origin, nil
}

// sessionSource resolves the source of one kind: a ready stream with a track of kind (the
// highest layer of a simulcast source); 404/1004 otherwise; r.mu is held.
func (r *Room) sessionSource(kind, from string) (*sessionTrack, *publication, error) {
	pub, src, ok := r.sourceTrack(kind, from)
	if !ok {
		return nil, nil, streamNotFound()
	}
	t := &sessionTrack{stream: pub.id, source: r.trackRef(pub, src.ID), format: src.Format, out: src.Format}
	if kind == kindVideo {
		t.params = src.Parameters
	}
	return t, pub, nil
}

// recordingRules applies OWT's recording rules to s (formats, container); r.mu is held.
func (r *Room) recordingRules(s *session, spec protocol.Recording) error {
	var audio, video *protocol.Format
	if s.audio != nil {
		want := audioWant(spec.Media.Audio.Format)
		f, err := recordingAudio(want, s.audio.format)
		if err != nil {
			if f, err = r.transcodeRecording(s, s.audio, protocol.SubTrack{Type: kindAudio, Format: want}, err); err != nil {
				return err
			}
		}
		s.audio.out, audio = f, &f
	}
	if s.video != nil {
		f, err := r.recordingVideoOf(s.video, spec.Media.Video)
		if err != nil {
			req := protocol.SubTrack{Type: kindVideo, Format: videoWant(spec.Media.Video.Format), Parameters: spec.Media.Video.Parameters}
			if f, err = r.transcodeRecording(s, s.video, req, err); err != nil {
				return err
			}
		}
		s.video.out, video = f, &f
	}
	container, err := recordingContainer(spec.Container, audio, video)
	if err == nil && container != containerMP4 && s.audio != nil && s.audio.xcode == nil && s.audio.out.Codec != s.audio.format.Codec {
		err = badRequest(msgConvertedAudioMP4)
	}
	s.container = container
	return err
}

// recordingVideoOf checks a recording's requested video against its source; r.mu is held.
func (r *Room) recordingVideoOf(t *sessionTrack, req *protocol.OutVideo) (protocol.Format, error) {
	return recordingVideo(videoWant(req.Format), req.Parameters,
		protocol.TrackInfo{Type: kindVideo, Format: t.format, Parameters: t.params})
}

// streamingOutRules sets what a streaming-out delivers; r.mu is held.
func (r *Room) streamingOutRules(s *session, spec protocol.StreamingOut) error {
	s.protocol, s.url, s.outParams = spec.Protocol, spec.URL, spec.Parameters
	if s.audio != nil {
		f, err := streamingOutAudio(audioWant(spec.Media.Audio.Format), r.cfg.MediaOut.Audio)
		if err != nil {
			return err
		}
		s.audio.out = f
	}
	if s.video != nil {
		f, err := streamingOutVideo(videoWant(spec.Media.Video.Format))
		if err != nil {
			return err
		}
		s.video.out = f
		if spec.Media.Video.Parameters != nil {
			s.video.params = spec.Media.Video.Parameters // the agent scales while transcoding
		}
	}
	return nil
}

// startSession schedules an agent for s and starts it there; on any failure the pending
// record is forgotten and the agent told to stop.
func (r *Room) startSession(ctx context.Context, s *session, origin store.Preference,
	start func(context.Context, string) (protocol.SessionStarted, error)) (json.RawMessage, error) {
	w, err := r.deps.Scheduler.Schedule(ctx, s.kind, s.id, origin)
	if err != nil {
		r.log.Warn("no agent for session", "purpose", s.kind, "session", s.id, "err", err)
		r.forgetPending(s)
		return nil, errs.Cluster("No " + s.kind + " agent available")
	}
	if err := r.assignAgent(s, w.ID); err != nil {
		return nil, err
	}
	if err := r.startSessionXcodes(ctx, s); err != nil {
		r.forgetPending(s)
		return nil, err
	}
	res, err := start(ctx, w.ID)
	if err != nil {
		r.log.Warn("session start failed", "purpose", s.kind, "session", s.id, "agent", w.ID, "err", err)
		r.abortSession(s)
		return nil, agentFailure(err)
	}
	return r.confirmSession(s, res)
}

// assignAgent records the scheduled agent of a pending session that still exists.
func (r *Room) assignAgent(s *session, agent string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.sessions[s.id] != s || s.failed {
		return r.pendingGone(s)
	}
	s.agent = agent
	return nil
}

// pendingGone forgets a pending session that ended before it started and says why; r.mu is
// held.
func (r *Room) pendingGone(s *session) error {
	r.stopSessionXcodes(s)
	if r.sessions[s.id] == s {
		delete(r.sessions, s.id)
		r.touch()
	}
	if r.closed {
		return notOwner()
	}
	return errs.Cluster(or(s.reason, msgSourceLoss))
}

// forgetPending drops a pending session.
func (r *Room) forgetPending(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopSessionXcodes(s)
	if r.sessions[s.id] == s {
		delete(r.sessions, s.id)
		r.touch()
	}
}

// abortSession drops a pending session whose start failed and stops whatever the agent may
// have set up.
func (r *Room) abortSession(s *session) {
	r.forgetPending(s)
	_, stop := s.methods()
	r.deps.Sessions.Stop(s.agent, stop, s.id)
}

// confirmSession marks s running, unless it ended meanwhile (source loss, room end), in
// which case the agent is told to stop.
func (r *Room) confirmSession(s *session, res protocol.SessionStarted) (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.sessions[s.id] != s || s.failed {
		_, stop := s.methods()
		r.deps.Sessions.Stop(s.agent, stop, s.id)
		return nil, r.pendingGone(s)
	}
	s.started, s.storage = true, res
	r.log.Info("session started", "purpose", s.kind, "session", s.id, "agent", s.agent)
	return s.rest(), nil
}

// restSession is a recording or streaming-out as the REST API shows it.
type restSession struct {
	ID         string                      `json:"id"`
	Media      protocol.OutMedia           `json:"media"`
	Storage    *restStorage                `json:"storage,omitempty"`
	URL        string                      `json:"url,omitempty"`
	Protocol   string                      `json:"protocol,omitempty"`
	Parameters *protocol.StreamingOutParam `json:"parameters,omitempty"`
	Status     string                      `json:"status"`
}

// restStorage is where a recording is written.
type restStorage struct {
	Host string `json:"host"`
	File string `json:"file"`
}

// rest renders the session in its REST form.
func (s *session) rest() json.RawMessage {
	out := restSession{ID: s.id, Status: s.status()}
	if a := s.audio; a != nil {
		out.Media.Audio = &protocol.OutAudio{From: a.stream,
			Format: &protocol.AudioFormat{Codec: a.out.Codec, SampleRate: a.out.SampleRate, ChannelNum: a.out.ChannelNum}}
	}
	if v := s.video; v != nil {
		out.Media.Video = &protocol.OutVideo{From: v.stream,
			Format: &protocol.VideoFormat{Codec: v.out.Codec, Profile: v.out.Profile}, Parameters: v.params}
	}
	if s.kind == SessionRecording {
		out.Storage = &restStorage{Host: s.storage.Host, File: s.storage.File}
	} else {
		out.URL, out.Protocol, out.Parameters = s.url, s.protocol, s.outParams
	}
	b, _ := json.Marshal(out)
	return b
}

// status is "active", "retrying: <reason>" or "error: <reason>".
func (s *session) status() string {
	switch {
	case s.failed:
		return prefixError + s.reason
	case s.reason != "":
		return prefixRetrying + s.reason
	}
	return statusActive
}

// noSessions is the SessionAgents of rooms built without one: every start fails.
type noSessions struct{}

func (noSessions) RecStart(context.Context, string, protocol.RecStart) (protocol.SessionStarted, error) {
	return protocol.SessionStarted{}, errNoSessionAgents
}

func (noSessions) OutStart(context.Context, string, protocol.OutStart) (protocol.SessionStarted, error) {
	return protocol.SessionStarted{}, errNoSessionAgents
}

func (noSessions) InStart(context.Context, string, protocol.InStart) (protocol.InStarted, error) {
	return protocol.InStarted{}, errNoSessionAgents
}

func (noSessions) Update(context.Context, string, string, protocol.SessionUpdate) error {
	return errNoSessionAgents
}

func (noSessions) Stop(string, string, string) {}

func (noSessions) StopWait(context.Context, string, string, string) error { return nil }
