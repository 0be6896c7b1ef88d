package protocol

// Server-side sessions (OWT §6.2): recordings, streaming-outs and streaming-ins. The conference
// agent owns their records and schedules a recording or streaming agent, which it calls at the
// agent's endpoint (its worker id). Media reaches a recording/streaming-out agent over a media
// link from the agent holding the source track (rtc.export on TrackRef.Agent); a streaming-in
// agent holds the tracks it pulls and serves rtc.export for them itself.
const (
	MethodRecStart  = "rec.start"  // RecStart → SessionStarted
	MethodRecUpdate = "rec.update" // SessionUpdate: switch a source (PATCH)
	MethodRecStop   = "rec.stop"   // SessionStop: finalise the file

	MethodOutStart  = "out.start"  // OutStart → SessionStarted
	MethodOutUpdate = "out.update" // SessionUpdate
	MethodOutStop   = "out.stop"   // SessionStop

	MethodInStart = "in.start" // InStart → InStarted (once the tracks are known)
	MethodInStop  = "in.stop"  // SessionStop
)

// SessionTopic is the topic a conference agent subscribes to for events of its recording and
// streaming sessions.
func SessionTopic(conferenceID string) string { return "conference." + conferenceID + ".sessions" }

// SessionTrack is one kind of a server-side subscription: where the media comes from and
// the format it has (what the session must write or transcode from).
type SessionTrack struct {
	Source TrackRef `json:"source"`
	Format Format   `json:"format"`
	// Parameters are the requested output parameters (streaming-out transcoding), if any.
	Parameters *VideoParameters `json:"parameters,omitempty"`
}

// RecStart starts a recording. Container is "mkv" or "mp4" (the conference agent resolves
// "auto" with OWT's rule before calling).
type RecStart struct {
	ID         string        `json:"id"`
	RoomID     string        `json:"roomId"`
	Controller string        `json:"controller"`
	Container  string        `json:"container"`
	Audio      *SessionTrack `json:"audio,omitempty"`
	Video      *SessionTrack `json:"video,omitempty"`
}

// OutStart starts a streaming-out. Protocol is always set; Audio must become AAC and Video
// H.264 at the destination (the agent copies or transcodes).
type OutStart struct {
	ID         string             `json:"id"`
	RoomID     string             `json:"roomId"`
	Controller string             `json:"controller"`
	Protocol   string             `json:"protocol"`
	URL        string             `json:"url"`
	Parameters *StreamingOutParam `json:"parameters,omitempty"`
	Audio      *SessionTrack      `json:"audio,omitempty"`
	Video      *SessionTrack      `json:"video,omitempty"`
}

// SessionStarted answers rec.start/out.start once the session runs.
type SessionStarted struct {
	Host string `json:"host,omitempty"` // recording: the agent's host
	File string `json:"file,omitempty"` // recording: the full file path
}

// SessionUpdate re-points a running session's audio and/or video to other sources.
type SessionUpdate struct {
	ID    string        `json:"id"`
	Audio *SessionTrack `json:"audio,omitempty"`
	Video *SessionTrack `json:"video,omitempty"`
}

// SessionStop ends a session (a recording is finalised).
type SessionStop struct {
	ID string `json:"id"`
}

// InStart starts pulling an external stream into the room as stream ID. Audio and Video
// are TrackAuto, TrackYes or TrackNo.
type InStart struct {
	ID                string `json:"id"`
	RoomID            string `json:"roomId"`
	Controller        string `json:"controller"`
	URL               string `json:"url"`
	TransportProtocol string `json:"transportProtocol"`
	BufferSize        int    `json:"bufferSize"`
	Audio             string `json:"audio"`
	Video             string `json:"video"`
}

// InStarted lists the tracks of a streaming-in; their TrackRef agent is the streaming agent.
type InStarted struct {
	Tracks []RTCTrack `json:"tracks"`
}

// Session event types (recording/streaming agent → conference agent, on SessionTopic).
const (
	SessionEventFailed  = "failed"  // the session ended on its own (Reason); it is gone
	SessionEventStatus  = "status"  // a running session's health changed (Reason: "" = healthy)
	SessionEventStopped = "stopped" // the session ended after rec.stop/out.stop/in.stop
)

// SessionEvent reports a session's fate to its controller.
type SessionEvent struct {
	Agent  string `json:"agent"`
	ID     string `json:"id"`
	Type   string `json:"type"`
	Reason string `json:"reason,omitempty"`
}
