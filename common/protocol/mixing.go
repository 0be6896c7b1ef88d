package protocol

import "github.com/conclave-rtc/conclave/common/room"

// Mixing and transcoding (docs/mixing.md). A conference agent runs one mix session per view
// of a live room on a mixing agent (cluster purpose "mixing"); the session produces the mixed
// stream <roomId>-<label>, whose tracks stay on the mixing agent, which serves rtc.export for
// them like a streaming-in. Inputs reach the mixer over media links (rtc.export on each input
// TrackRef.Agent). A transcode session turns one source track into another format/size/rate
// for subscribers that ask for something in the stream's `optional` capabilities.
const (
	MethodMixStart  = "mix.start"  // MixStart → MixState (Tracks set)
	MethodMixInputs = "mix.inputs" // MixInputs → MixState: replace the input set
	MethodMixLayout = "mix.layout" // MixLayout → MixState: a full custom layout (PATCH /info/layout)
	MethodMixRegion = "mix.region" // MixRegion → MixState: put a stream into a region (set-region)
	MethodMixStop   = "mix.stop"   // SessionStop

	MethodXcodeStart = "xcode.start" // XcodeStart → XcodeStarted
	MethodXcodeStop  = "xcode.stop"  // SessionStop
)

// MixTopic is the topic a conference agent subscribes to for events of its mix and transcode
// sessions.
func MixTopic(conferenceID string) string { return "conference." + conferenceID + ".mix" }

// MixInput is one stream mixed into a view. Either kind may be absent. The order of a
// MixStart/MixInputs input list is the arrival order that fills the layout's regions.
type MixInput struct {
	StreamID string        `json:"streamId"`
	Audio    *SessionTrack `json:"audio,omitempty"`
	Video    *SessionTrack `json:"video,omitempty"`
}

// MixStart starts mixing one view. ID is the mixed stream id (<roomId>-<label>). View is the
// room's view configuration as stored (the agent applies the base/custom templates).
type MixStart struct {
	ID         string     `json:"id"`
	RoomID     string     `json:"roomId"`
	Controller string     `json:"controller"`
	View       room.View  `json:"view"`
	Inputs     []MixInput `json:"inputs"`
}

// MixInputs replaces the input set of a running mix.
type MixInputs struct {
	ID     string     `json:"id"`
	Inputs []MixInput `json:"inputs"`
}

// MixLayout replaces the current layout by an explicit one (OWT PATCH /info/layout): each
// entry places Stream (empty = leave the region empty) in Region.
type MixLayout struct {
	ID     string         `json:"id"`
	Layout []LayoutRegion `json:"layout"`
}

// MixRegion moves Stream into the region with id Region of the current layout (OWT
// stream-control set-region and PATCH /info/layout/<n>/stream); the stream that was there
// takes Stream's old region.
type MixRegion struct {
	ID     string `json:"id"`
	Stream string `json:"stream"`
	Region string `json:"region"`
}

// LayoutRegion is one element of OWT's mixed-stream layout (info.layout, video.layout).
type LayoutRegion struct {
	Stream string      `json:"stream,omitempty"`
	Region room.Region `json:"region"`
}

// MixState is the state of a mix after a call. Tracks is set by mix.start only: the mixed
// stream's tracks on the mixing agent (ids to export, formats and video parameters).
type MixState struct {
	Tracks      []RTCTrack     `json:"tracks,omitempty"`
	Layout      []LayoutRegion `json:"layout"`
	ActiveInput string         `json:"activeInput"` // "unknown" until voice activity is seen
}

// XcodeStart starts transcoding Source into Format with Parameters (zero fields: as the
// source). Audio transcodes change the codec/sample rate/channels only.
type XcodeStart struct {
	ID         string           `json:"id"`
	RoomID     string           `json:"roomId"`
	Controller string           `json:"controller"`
	Source     SessionTrack     `json:"source"`
	Format     Format           `json:"format"`
	Parameters *VideoParameters `json:"parameters,omitempty"`
}

// XcodeStarted names the transcoded track on the mixing agent (exported via rtc.export).
type XcodeStarted struct {
	Track RTCTrack `json:"track"`
}

// Mix event types (mixing agent → conference agent, on MixTopic).
const (
	MixEventLayout      = "layout"      // the layout of mix ID changed (Layout)
	MixEventActiveInput = "activeInput" // the loudest input of mix ID changed (ActiveInput)
	MixEventFailed      = "failed"      // mix or transcode ID ended on its own (Reason)
)

// MixEvent reports a mix or transcode session's changes to its controller.
type MixEvent struct {
	Agent       string         `json:"agent"`
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	Layout      []LayoutRegion `json:"layout,omitempty"`
	ActiveInput string         `json:"activeInput,omitempty"`
	Reason      string         `json:"reason,omitempty"`
}
