// Package room defines the OWT room configuration (data_access/model/roomModel.js and
// defaults.js): its defaults, the create (POST /v1/rooms) and update (PUT /v1/rooms/{id})
// merge rules, validation with messages that name the offending field, and the JSON shapes of
// the REST API and of the store.
package room

import "encoding/json"

// Room is a room configuration. ID, Path and Pool are not part of the configuration; they are
// carried alongside for the REST shape (MarshalJSON).
type Room struct {
	ID string `json:"-"`
	// Path (a URL path such as "team/standup", unique in the service; "" for none) and Pool (the
	// room belongs to the service's pool of claimable rooms) are a Conclave extension kept by
	// the store next to the configuration (store.Room). The REST shape shows them only when
	// set, so OWT clients that never set them see OWT's shape.
	Path                      string      `json:"-"`
	Pool                      bool        `json:"-"`
	Name                      string      `json:"name"`
	InputLimit                int         `json:"inputLimit"`
	ParticipantLimit          int         `json:"participantLimit"`
	SelectActiveAudio         bool        `json:"selectActiveAudio"`
	EnableBandwidthAdaptation bool        `json:"enableBandwidthAdaptation"`
	Roles                     []Role      `json:"roles"`
	Views                     []View      `json:"views"`
	MediaIn                   MediaIn     `json:"mediaIn"`
	MediaOut                  MediaOut    `json:"mediaOut"`
	Transcoding               Transcoding `json:"transcoding"`
	Notifying                 Notifying   `json:"notifying"`
	// SIP is nil when the room has no SIP account (the key is then absent).
	SIP *SIP `json:"sip,omitempty"`
	// AutoMix is a Conclave extension: when true every new forward stream joins the first
	// view's inputs, as OWT's sample application does with a REST PATCH of /info/inViews.
	// OWT rooms have no such key; the default false keeps OWT's behaviour (streams are not
	// mixed until asked).
	AutoMix bool `json:"autoMix"`
}

// Role names a participant role and what it may publish and subscribe.
type Role struct {
	Role      string `json:"role"`
	Publish   AV     `json:"publish"`
	Subscribe AV     `json:"subscribe"`
	// Moderate is a Conclave extension (OWT clients ignore it): participants of the role may
	// delete anyone's chat message (docs/chat.md). Omitted when false.
	Moderate bool `json:"moderate,omitempty"`
}

// AV is a pair of audio/video permissions.
type AV struct {
	Audio bool `json:"audio"`
	Video bool `json:"video"`
}

// View is a mixed stream. A nil Video is an audio-only view, written `"video": false`.
type View struct {
	Label string     `json:"label"`
	Audio ViewAudio  `json:"audio"`
	Video *ViewVideo `json:"video"`
}

// ViewAudio is the audio part of a view.
type ViewAudio struct {
	Format AudioFormat `json:"format"`
	VAD    bool        `json:"vad"`
}

// ViewVideo is the video part of a view.
type ViewVideo struct {
	Format                 VideoFormat         `json:"format"`
	Parameters             ViewVideoParameters `json:"parameters"`
	MaxInput               int                 `json:"maxInput"`
	MotionFactor           float64             `json:"motionFactor"`
	BgColor                Color               `json:"bgColor"`
	KeepActiveInputPrimary bool                `json:"keepActiveInputPrimary"`
	Layout                 Layout              `json:"layout"`
}

// ViewVideoParameters are the encoding parameters of a view's video.
type ViewVideoParameters struct {
	Resolution Resolution `json:"resolution"`
	Framerate  int        `json:"framerate"`
	// Bitrate in kbps; 0 means none (the key is then absent, as in OWT).
	Bitrate          int `json:"bitrate,omitempty"`
	KeyFrameInterval int `json:"keyFrameInterval"`
}

// Resolution is a frame size in pixels.
type Resolution struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Color is an RGB background colour, each component 0..255.
type Color struct {
	R int `json:"r"`
	G int `json:"g"`
	B int `json:"b"`
}

// Layout controls how inputs are placed in a view.
type Layout struct {
	FitPolicy       string    `json:"fitPolicy"`
	SetRegionEffect string    `json:"setRegionEffect,omitempty"`
	Templates       Templates `json:"templates"`
}

// Templates selects a base layout template and adds custom ones.
type Templates struct {
	Base   string           `json:"base"`
	Custom []CustomTemplate `json:"custom"`
}

// CustomTemplate is a layout for len(Region) inputs.
type CustomTemplate struct {
	Primary string   `json:"primary,omitempty"`
	Region  []Region `json:"region"`
}

// Region is one placement in a layout.
type Region struct {
	ID    string `json:"id"`
	Shape string `json:"shape"`
	Area  Area   `json:"area"`
}

// Area is a rectangle in fractions of the view size.
type Area struct {
	Left   Fraction `json:"left"`
	Top    Fraction `json:"top"`
	Width  Fraction `json:"width"`
	Height Fraction `json:"height"`
}

// Fraction is a number in [0, 1] written as a string such as "1/3", "0.25" or "1". A JSON number
// is accepted on input and kept as its text.
type Fraction string

// AudioFormat is an audio codec with optional sample rate and channel count.
type AudioFormat struct {
	Codec      string `json:"codec"`
	SampleRate int    `json:"sampleRate,omitempty"`
	ChannelNum int    `json:"channelNum,omitempty"`
}

// VideoFormat is a video codec with an optional (H.264) profile.
type VideoFormat struct {
	Codec   string `json:"codec"`
	Profile string `json:"profile,omitempty"`
}

// MediaIn lists the formats a room accepts from publishers.
type MediaIn struct {
	Audio []AudioFormat `json:"audio"`
	Video []VideoFormat `json:"video"`
}

// MediaOut lists the formats and parameters a room can deliver to subscribers.
type MediaOut struct {
	Audio []AudioFormat `json:"audio"`
	Video MediaOutVideo `json:"video"`
}

// MediaOutVideo is the video part of MediaOut.
type MediaOutVideo struct {
	Format     []VideoFormat      `json:"format"`
	Parameters MediaOutParameters `json:"parameters"`
}

// MediaOutParameters lists the video parameters subscribers may ask for.
type MediaOutParameters struct {
	// Resolution holds specs understood by ResolveResolution ("x3/4", "vga", …).
	Resolution       []string  `json:"resolution"`
	Framerate        []int     `json:"framerate"`
	Bitrate          []Bitrate `json:"bitrate"`
	KeyFrameInterval []int     `json:"keyFrameInterval"`
}

// Bitrate is a mediaOut bitrate: a multiplier string "xF" (e.g. "x0.8") or a number of kbps,
// kept as the number's text and written back as a JSON number.
type Bitrate string

// Transcoding says which transcodings the room allows.
type Transcoding struct {
	Audio bool             `json:"audio"`
	Video TranscodingVideo `json:"video"`
}

// TranscodingVideo is the video part of Transcoding.
type TranscodingVideo struct {
	Format     bool                  `json:"format"`
	Parameters TranscodingParameters `json:"parameters"`
}

// TranscodingParameters says which video parameters may be changed.
type TranscodingParameters struct {
	Resolution       bool `json:"resolution"`
	Framerate        bool `json:"framerate"`
	Bitrate          bool `json:"bitrate"`
	KeyFrameInterval bool `json:"keyFrameInterval"`
}

// Notifying says which notifications participants receive.
type Notifying struct {
	ParticipantActivities bool `json:"participantActivities"`
	StreamChange          bool `json:"streamChange"`
}

// SIP is the room's SIP account.
type SIP struct {
	SipServer string `json:"sipServer"`
	Username  string `json:"username"`
	Password  string `json:"password"`
}

// viewFields is View without its methods, for the default encoder.
type viewFields View

// MarshalJSON writes the view, with `"video": false` for an audio-only view.
func (v View) MarshalJSON() ([]byte, error) {
	aux := struct {
		viewFields
		Video any `json:"video"`
	}{viewFields: viewFields(v), Video: false}
	if v.Video != nil {
		aux.Video = v.Video
	}
	return json.Marshal(aux)
}

// UnmarshalJSON starts from DefaultView and merges the given keys into it, as mongoose applies
// the view schema defaults to each element; `"video": false` makes an audio-only view.
func (v *View) UnmarshalJSON(b []byte) error {
	*v = DefaultView()
	aux := struct {
		*viewFields
		Video json.RawMessage `json:"video"`
	}{viewFields: (*viewFields)(v)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	switch string(aux.Video) {
	case "", "null":
		return nil
	case "false":
		v.Video = nil
		return nil
	}
	return json.Unmarshal(aux.Video, v.Video)
}

// regionFields is Region without its methods.
type regionFields Region

// UnmarshalJSON fills a region whose shape is not given with "rectangle", the only shape.
func (r *Region) UnmarshalJSON(b []byte) error {
	*r = Region{Shape: ShapeRectangle}
	return json.Unmarshal(b, (*regionFields)(r))
}

// UnmarshalJSON accepts a string or a number.
func (f *Fraction) UnmarshalJSON(b []byte) error {
	s, err := stringOrNumber(b)
	*f = Fraction(s)
	return err
}

// UnmarshalJSON accepts a string or a number.
func (b *Bitrate) UnmarshalJSON(data []byte) error {
	s, err := stringOrNumber(data)
	*b = Bitrate(s)
	return err
}

// MarshalJSON writes a number's text as a JSON number and anything else (a multiplier) as a
// string.
func (b Bitrate) MarshalJSON() ([]byte, error) {
	if isJSONNumber(string(b)) {
		return []byte(b), nil
	}
	return json.Marshal(string(b))
}

// isJSONNumber reports whether s is a JSON number literal.
func isJSONNumber(s string) bool {
	return s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && json.Valid([]byte(s))
}

// stringOrNumber returns a JSON string's value or a JSON number's text.
func stringOrNumber(b []byte) (string, error) {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return "", err
	}
	return n.String(), nil
}
