package room

// Values with a fixed meaning in the room model.
const (
	// DefaultLabel is the label of the view Default creates.
	DefaultLabel = "common"
	// ShapeRectangle is the only region shape.
	ShapeRectangle = "rectangle"
	// Unlimited is the value of InputLimit and ParticipantLimit meaning "no limit".
	Unlimited = -1
)

// Default returns the room OWT creates for a name without options (defaults.js ROOM_CONFIG):
// no limits, the five default roles, one "common" view, the default media lists, every
// transcoding allowed and every notification on.
func Default(name string) Room {
	return Room{
		Name:             name,
		InputLimit:       Unlimited,
		ParticipantLimit: Unlimited,
		Roles:            defaultRoles(),
		Views:            []View{DefaultView()},
		MediaIn: MediaIn{
			Audio: defaultAudio(AudioFormat{Codec: "aac"}),
			Video: []VideoFormat{{Codec: "h264"}, {Codec: "vp8"}, {Codec: "vp9"}},
		},
		MediaOut: MediaOut{
			Audio: defaultAudio(AudioFormat{Codec: "aac", SampleRate: 48000, ChannelNum: 2}),
			Video: MediaOutVideo{
				Format: []VideoFormat{{Codec: "vp8"}, {Codec: "h264", Profile: "CB"},
					{Codec: "h264", Profile: "B"}, {Codec: "vp9"}},
				Parameters: MediaOutParameters{
					Resolution: []string{"x3/4", "x2/3", "x1/2", "x1/3", "x1/4",
						"hd1080p", "hd720p", "svga", "vga", "qvga", "cif"},
					Framerate:        []int{6, 12, 15, 24, 30, 48, 60},
					Bitrate:          []Bitrate{"x0.8", "x0.6", "x0.4", "x0.2"},
					KeyFrameInterval: []int{100, 30, 5, 2, 1},
				},
			},
		},
		Transcoding: allTranscoding(),
		Notifying:   Notifying{ParticipantActivities: true, StreamChange: true},
	}
}

// defaultRoles returns OWT's default roles. There is no "guest" or "admin" among them.
func defaultRoles() []Role {
	both := AV{Audio: true, Video: true}
	return []Role{
		{Role: "presenter", Publish: both, Subscribe: both},
		{Role: "viewer", Subscribe: both},
		{Role: "audio_only_presenter", Publish: AV{Audio: true}, Subscribe: AV{Audio: true}},
		{Role: "video_only_viewer", Subscribe: AV{Video: true}},
		{Role: "sip", Publish: both, Subscribe: both},
	}
}

// defaultAudio returns OWT's audio format list with the given AAC entry: mediaIn has plain
// "aac" where mediaOut has "aac/48000/2".
func defaultAudio(aacFormat AudioFormat) []AudioFormat {
	return []AudioFormat{
		{Codec: "opus", SampleRate: 48000, ChannelNum: 2},
		{Codec: "isac", SampleRate: 16000},
		{Codec: "isac", SampleRate: 32000},
		{Codec: "g722", SampleRate: 16000, ChannelNum: 1},
		{Codec: "pcma"},
		{Codec: "pcmu"},
		aacFormat,
		{Codec: "ac3"},
		{Codec: "nellymoser"},
		{Codec: "ilbc"},
	}
}

// allTranscoding is the Transcoding default: everything allowed. Mongoose applies these
// defaults to every missing sub-key, so a partial transcoding object starts from it.
func allTranscoding() Transcoding {
	return Transcoding{Audio: true, Video: TranscodingVideo{Format: true,
		Parameters: TranscodingParameters{Resolution: true, Framerate: true, Bitrate: true, KeyFrameInterval: true}}}
}

// DefaultView returns the view schema defaults (roomModel.js ViewSchema): label "common", Opus
// stereo with VAD, VP8 640x480 at 24 fps, key frame every 100 s, up to 16 inputs in a fluid
// letterboxed layout on black.
func DefaultView() View {
	return View{
		Label: DefaultLabel,
		Audio: ViewAudio{Format: AudioFormat{Codec: "opus", SampleRate: 48000, ChannelNum: 2}, VAD: true},
		Video: DefaultViewVideo(),
	}
}

// DefaultViewVideo returns the default video part of a view.
func DefaultViewVideo() *ViewVideo {
	return &ViewVideo{
		Format: VideoFormat{Codec: "vp8"},
		Parameters: ViewVideoParameters{
			Resolution:       Resolution{Width: 640, Height: 480},
			Framerate:        24,
			KeyFrameInterval: 100,
		},
		MaxInput:     16,
		MotionFactor: 0.8,
		Layout: Layout{
			FitPolicy: "letterbox",
			Templates: Templates{Base: "fluid", Custom: []CustomTemplate{}},
		},
	}
}
