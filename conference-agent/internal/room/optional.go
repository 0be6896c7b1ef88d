package room

import (
	"slices"
	"strings"

	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

// OWT's defaults when a source's frame rate is unknown (stream.js _addTrackOptional).
const defaultFramerate = 30

// canTranscode reports whether transcodes can be delivered now: the room has a mixing client
// and a mixing agent is registered (owt-protocol.md §8 item 7: advertise only what the
// server can really deliver); r.mu is held.
func (r *Room) canTranscode() bool {
	return r.deps.Mixing != nil && (r.deps.HasWorker == nil || r.deps.HasWorker(PurposeMixing))
}

// optionalOf computes a track's `optional` capabilities from the room's mediaOut and
// transcoding settings (OWT _addTrackOptional): other formats when the kind's format may be
// transcoded; for video with known parameters, the smaller resolutions, lower frame rates,
// bitrate multiples and key-frame intervals each allowed by its transcoding flag. Simulcast
// tracks advertise nothing (OWT: "not available for simulcast streams"); r.mu is held.
func (r *Room) optionalOf(t protocol.TrackInfo) *protocol.Optional {
	if !r.canTranscode() {
		return &protocol.Optional{}
	}
	return r.roomOptional(t)
}

// roomOptional is what the room's settings allow for a track, whether or not a mixing agent
// can deliver it now; r.mu is held.
func (r *Room) roomOptional(t protocol.TrackInfo) *protocol.Optional {
	out := &protocol.Optional{}
	if t.Rid != "" {
		return out
	}
	tc := r.cfg.Transcoding
	if t.Type == kindAudio {
		if tc.Audio {
			out.Format = otherAudioFormats(r.cfg.MediaOut.Audio, t.Format)
		}
		return out
	}
	if tc.Video.Format {
		out.Format = otherVideoFormats(r.cfg.MediaOut.Video.Format, t.Format)
	}
	out.Parameters = optionalParameters(r.cfg.MediaOut.Video.Parameters, tc.Video.Parameters, t.Parameters)
	return out
}

// otherAudioFormats lists mediaOut's audio formats except the track's own.
func otherAudioFormats(list []model.AudioFormat, own protocol.Format) []protocol.Format {
	var out []protocol.Format
	for _, f := range list {
		pf := protocol.Format{Codec: f.Codec, SampleRate: f.SampleRate, ChannelNum: f.ChannelNum}
		if !sameFormat(own, pf) && !slices.Contains(out, pf) {
			out = append(out, pf)
		}
	}
	return out
}

// otherVideoFormats lists mediaOut's video formats except the track's own.
func otherVideoFormats(list []model.VideoFormat, own protocol.Format) []protocol.Format {
	var out []protocol.Format
	for _, f := range list {
		pf := protocol.Format{Codec: f.Codec, Profile: f.Profile}
		if (pf.Codec == own.Codec && pf.Profile == own.Profile) || slices.Contains(out, pf) {
			continue
		}
		out = append(out, pf)
	}
	return out
}

// optionalParameters computes optional.parameters; nil when the source parameters (its
// resolution) are unknown or no parameter may be transcoded. When present all four arrays
// are (the JS SDK calls Array.from on each).
func optionalParameters(spec model.MediaOutParameters, allow model.TranscodingParameters, src *protocol.VideoParameters) *protocol.OptionalParameters {
	if src == nil || src.Resolution == nil || src.Resolution.Width <= 0 || src.Resolution.Height <= 0 {
		return nil
	}
	if !allow.Resolution && !allow.Framerate && !allow.Bitrate && !allow.KeyFrameInterval {
		return nil
	}
	out := &protocol.OptionalParameters{
		Resolution: []protocol.Resolution{}, Framerate: []int{}, Bitrate: []protocol.Bitrate{}, KeyFrameInterval: []int{},
	}
	if allow.Resolution {
		out.Resolution = smallerResolutions(spec.Resolution, *src.Resolution)
	}
	if allow.Framerate {
		base := src.Framerate
		if base <= 0 {
			base = defaultFramerate
		}
		for _, fps := range spec.Framerate {
			if fps < base && !slices.Contains(out.Framerate, fps) {
				out.Framerate = append(out.Framerate, fps)
			}
		}
	}
	if allow.Bitrate {
		for _, b := range spec.Bitrate {
			// Only multiples: an absolute mediaOut bitrate says nothing about this source.
			if s := string(b); strings.HasPrefix(s, "x") && !slices.Contains(out.Bitrate, protocol.Bitrate{Multiple: s}) {
				out.Bitrate = append(out.Bitrate, protocol.Bitrate{Multiple: s})
			}
		}
	}
	if allow.KeyFrameInterval {
		for _, k := range spec.KeyFrameInterval {
			if !slices.Contains(out.KeyFrameInterval, k) {
				out.KeyFrameInterval = append(out.KeyFrameInterval, k)
			}
		}
	}
	return out
}

// smallerResolutions resolves each mediaOut resolution spec against base ("x3/4" scales it,
// names are fixed sizes) and keeps those strictly smaller in both dimensions, once each.
func smallerResolutions(specs []string, base protocol.Resolution) []protocol.Resolution {
	out := []protocol.Resolution{}
	for _, spec := range specs {
		res, ok := model.ResolveResolution(spec, model.Resolution{Width: base.Width, Height: base.Height})
		pr := protocol.Resolution{Width: res.Width, Height: res.Height}
		if ok && pr.Width < base.Width && pr.Height < base.Height && !slices.Contains(out, pr) {
			out = append(out, pr)
		}
	}
	return out
}

// pickFormat returns the optional format matching a requested one (the codec and every field
// the request sets).
func pickFormat(opt *protocol.Optional, want protocol.Format) (protocol.Format, bool) {
	if opt == nil {
		return protocol.Format{}, false
	}
	for _, f := range opt.Format {
		if sameFormat(want, f) {
			return f, true
		}
	}
	return protocol.Format{}, false
}

// transcodeParameters checks requested video parameters against the source and its optional
// capabilities. It returns the parameters that differ from the source (nil when none do) or
// OWT's reason for refusing them.
func transcodeParameters(want protocol.VideoParameters, src *protocol.VideoParameters, opt *protocol.Optional) (*protocol.VideoParameters, string) {
	have := src
	if have == nil {
		have = &protocol.VideoParameters{}
	}
	var p *protocol.OptionalParameters
	if opt != nil {
		p = opt.Parameters
	}
	if p == nil {
		p = &protocol.OptionalParameters{}
	}
	var diff protocol.VideoParameters
	changed := false
	if w := want.Resolution; w != nil && (have.Resolution == nil || *w != *have.Resolution) {
		if !slices.Contains(p.Resolution, *w) {
			return nil, msgResolutionNotOK
		}
		diff.Resolution, changed = w, true
	}
	if w := want.Framerate; w != 0 && w != have.Framerate {
		if !slices.Contains(p.Framerate, w) {
			return nil, msgFramerateNotOK
		}
		diff.Framerate, changed = w, true
	}
	if w := want.Bitrate; w != nil && !unchangedBitrate(*w, have.Bitrate) {
		if w.Multiple == "" || !slices.Contains(p.Bitrate, protocol.Bitrate{Multiple: w.Multiple}) {
			return nil, msgBitrateNotOK
		}
		diff.Bitrate, changed = w, true
	}
	if w := want.KeyFrameInterval; w != 0 && w != have.KeyFrameInterval {
		if !slices.Contains(p.KeyFrameInterval, w) {
			return nil, msgKFINotOK
		}
		diff.KeyFrameInterval, changed = w, true
	}
	if !changed {
		return nil, ""
	}
	return &diff, ""
}
